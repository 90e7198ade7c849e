"""`History`: the per-epoch record of a `fit` run (losses, accuracies, learning rate, speed)."""

from __future__ import annotations

import os
from typing import Any

from ..atomic import write_json


class History:
    """Per-epoch metrics: `history.history["val_loss"][e]` is epoch e's validation loss.

    Keys: loss, accuracy (training), val_loss, val_accuracy (when validating), lr, time
    (seconds per epoch) and images_per_second. `notes` holds what `fit` had to say about
    the run in words (why there is no accuracy, why training stopped early).
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.notes: list[str] = []

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
                "notes": list(self.notes)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = [int(e) for e in state["epoch"]]
        self.history = {key: [float(v) for v in values]
                        for key, values in state["history"].items()}
        self.notes = [str(note) for note in state.get("notes", [])]

    def to_json(self, path: str | os.PathLike) -> None:
        """Write {"epoch": [...], "loss": [...], ...} to a JSON file."""
        write_json(path, {"epoch": self.epoch, **self.history})

    def plot(self, path: str | os.PathLike | None = None, title: str | None = None):
        """The learning curves (`tinygradcnn.viz.plot_learning_curves`); saved to `path`
        if given. Needs matplotlib. Returns the matplotlib Figure."""
        from ..viz.curves import plot_learning_curves

        return plot_learning_curves(self, path, title)
