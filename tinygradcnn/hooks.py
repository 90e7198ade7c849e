"""`RemovableHandle`: what registering a hook returns; `handle.remove()` unregisters it.

Module's forward hooks and `Tensor.register_hook` both hand one out, so it lives below the
two of them (PyTorch keeps it in `torch.utils.hooks`).
"""

from __future__ import annotations

import itertools
from typing import Any


class RemovableHandle:
    """Removes one registered hook: `handle.remove()`, or leaving `with handle:`.

    `hooks` is the ordered dict the hook was stored in under `handle.id`; `extra` dicts keep
    per-hook flags under the same id (whether a forward hook takes keyword arguments)."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, *extra: dict) -> None:
        self._hooks = hooks
        self._extra = extra
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        """Unregister the hook; removing it twice is harmless."""
        for registry in (self._hooks, *self._extra):
            registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()
