"""The one place that imports matplotlib, so a missing install gives one clear message."""

from __future__ import annotations

from typing import Any


def new_figure(who: str, **kwargs: Any):
    """A matplotlib Figure (no pyplot, no global state: safe in threads and scripts)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(f"{who} needs matplotlib: pip install 'tinygradcnn[plot]'") from err
    return Figure(**kwargs)
