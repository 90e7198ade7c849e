"""Learning curves: training against validation loss and accuracy, epoch by epoch."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..atomic import save_figure
from ._figure import new_figure


def plot_learning_curves(history, path: str | os.PathLike | None = None,
                         title: str | None = None):
    """Training vs validation loss and accuracy, side by side; saved to `path` if given.

    `history` is a `tg.History` (what `fit` returns) or a mapping {"loss": [...],
    "val_loss": [...], "accuracy": [...], "val_accuracy": [...]} of per-epoch values.

    The picture that tells under- from overfitting: both curves high means underfitting,
    validation loss turning up while training loss keeps falling means overfitting.
    Returns the matplotlib Figure.
    """
    values: Mapping[str, Sequence[float]]
    if isinstance(history, Mapping):
        values = history
        epochs = list(range(1, 1 + max((len(v) for v in values.values()), default=0)))
    else:
        values = history.history
        epochs = [e + 1 for e in history.epoch]
    figure = new_figure("plot_learning_curves", figsize=(10, 4), layout="constrained")
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for prefix, style in (("", "o-"), ("val_", "s--")):
            if prefix + metric in values:
                series = values[prefix + metric]
                axes.plot(epochs[:len(series)], series, style, markersize=3,
                          label="validation" if prefix else "training")
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
        if axes.has_data():
            axes.legend()
        else:
            axes.text(0.5, 0.5, f"no {metric} in the history", ha="center", va="center",
                      transform=axes.transAxes)
    if title:
        figure.suptitle(title)
    if path is not None:
        save_figure(figure, path, dpi=120)
    return figure
