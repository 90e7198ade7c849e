"""Callbacks: code that `fit` calls at fixed points of training.

    fit(..., callbacks=[EarlyStopping(patience=3), ModelCheckpoint("ckpt.npz")])

`TerminateOnNaN` is added by `fit` itself unless `terminate_on_nan=False`.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..serialization import save

if TYPE_CHECKING:
    from .loop import Trainer


class Callback:
    """Hooks called by `fit`; `trainer.stop_training = True` ends training after the epoch,
    `trainer.terminate(message)` ends it at once, before the optimizer step.
    `state_dict`/`load_state_dict` let a checkpoint carry the callback's memory; a callback
    whose `state_dict()` is empty carries none."""

    def on_train_begin(self, trainer: Trainer) -> None:
        pass

    def on_before_optimizer_step(self, trainer: Trainer, batch: int,
                                 logs: dict[str, float]) -> None:
        """After the backward pass of batch `batch` (0-based), before the weights change;
        `logs["loss"]` is the batch's loss."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, trainer: Trainer) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def _monitor_mode(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _check_monitor(callback, state: dict[str, Any]) -> None:
    """A restored best value means something only for the same metric and direction."""
    saved = (state.get("monitor", callback.monitor), state.get("mode", callback.mode))
    if saved != (callback.monitor, callback.mode):
        raise ValueError(f"{type(callback).__name__}: the checkpoint's state monitors "
                         f"{saved[0]!r} (mode {saved[1]!r}), this callback monitors "
                         f"{callback.monitor!r} (mode {callback.mode!r})")


def _monitored(trainer, logs: dict[str, float], monitor: str, who: str) -> float:
    if monitor not in logs:
        history = getattr(trainer, "history", None)
        notes = "; ".join(getattr(history, "notes", []))
        raise KeyError(f"{who}: monitored metric {monitor!r} is not in the logs "
                       f"(available: {', '.join(sorted(logs))}); pass validation_data to fit "
                       "to get val_* metrics" + (f" ({notes})" if notes else ""))
    return logs[monitor]


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite, before that batch's
    optimizer step: the model keeps the weights of the last finite step, no epoch-end
    callback runs (so a `ModelCheckpoint` file keeps the last good checkpoint), and a
    RuntimeWarning names the batch and the epoch. Keras's `TerminateOnNaN`; `fit` adds one
    unless `terminate_on_nan=False`."""

    def on_before_optimizer_step(self, trainer, batch, logs):
        loss = logs["loss"]
        if not math.isfinite(loss):
            trainer.terminate(f"TerminateOnNaN: the loss of batch {batch + 1} of epoch "
                              f"{trainer.epoch + 1} is {loss}; stopped before its optimizer "
                              f"step, so the weights are those of the step before")


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With `restore_best_weights=True` the model ends with the weights of its best epoch,
    not its last: the cure for overfitting shown by the learning curves.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
        verbose: bool = True,
    ) -> None:
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.mode = _monitor_mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1
        self.wait = 0
        self.stopped_epoch = -1
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_train_begin(self, trainer):
        if not trainer.resumed:
            self._reset()

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        value = _monitored(trainer, logs, self.monitor, "EarlyStopping")
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            if self.verbose:
                trainer.log(f"early stopping: {self.monitor} has not improved for "
                            f"{self.patience} epochs (best {self.best:.4f} at epoch "
                            f"{self.best_epoch + 1})")

    def on_train_end(self, trainer):
        last_epoch = trainer.epoch - 1
        if self.best_weights is not None and self.best_epoch != last_epoch:
            trainer.model.load_state_dict(self.best_weights)
            if self.verbose:
                trainer.log(f"restored the weights of epoch {self.best_epoch + 1} "
                            f"({self.monitor} {self.best:.4f})")

    def state_dict(self):
        return {"monitor": self.monitor, "mode": self.mode, "best": self.best,
                "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        _check_monitor(self, state)
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best_weights = state["best_weights"]


class ModelCheckpoint(Callback):
    """Write a checkpoint at the end of every epoch (or only when `monitor` improves, with
    `save_best_only=True`), atomically: a temporary file is written and renamed.

    `path` may contain `{epoch}` (1-based) to keep one file per epoch. The file holds a full
    checkpoint for `fit(..., resume_from=path)`, or only the model's state dict with
    `save_weights_only=True`. Runs after the other callbacks, so their state is included.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        save_weights_only: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = _monitor_mode(monitor, mode)
        self.save_weights_only = save_weights_only
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_path: str | None = None

    def on_epoch_end(self, trainer, epoch, logs):
        if self.save_best_only:
            value = _monitored(trainer, logs, self.monitor, "ModelCheckpoint")
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        path = self.path.format(epoch=epoch + 1)
        if self.save_weights_only:
            save(trainer.model.state_dict(), path)
        else:
            trainer.save_checkpoint(path)
        self.last_path = path

    def state_dict(self):
        return {"monitor": self.monitor, "mode": self.mode, "best": self.best}

    def load_state_dict(self, state):
        if self.save_best_only:  # otherwise the monitored metric is never read
            _check_monitor(self, state)
        self.best = float(state["best"])
