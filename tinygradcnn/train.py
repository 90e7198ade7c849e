"""The training loop: `fit`, `evaluate`, `History`, and the callbacks `EarlyStopping` and
`ModelCheckpoint`.

    history = tg.fit(model, train_loader, epochs=10, optimizer=optim.Adam(model.parameters()),
                     validation_data=val_loader,
                     callbacks=[EarlyStopping(patience=3), ModelCheckpoint("ckpt.npz")])
    history.plot("curves.png")

Each epoch shows a progress bar (tqdm, when installed) with the running loss, accuracy and
images per second, then validates. A checkpoint holds everything the next epoch depends on:
the weights and buffers, the optimizer and schedule state, the random state, the callbacks'
state, the history and the epoch number; and the loaders' shuffle order is a function of
(seed, epoch). So `fit(..., resume_from="ckpt.npz")` continues bit for bit as if the run had
never stopped.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import random as tg_random
from .autograd import no_grad
from .data.loader import DataLoader
from .nn.loss import CrossEntropyLoss
from .nn.module import Module
from .optim import LRScheduler, Optimizer, l1_penalty
from .serialization import load, save

CHECKPOINT_FORMAT = "tinygradcnn-checkpoint-v1"


class History:
    """Per-epoch metrics: `history.history["val_loss"][e]` is epoch e's validation loss.

    Keys: loss, accuracy (training), val_loss, val_accuracy (when validating), lr, time
    (seconds per epoch) and images_per_second.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = [int(e) for e in state["epoch"]]
        self.history = {key: [float(v) for v in values]
                        for key, values in state["history"].items()}

    def to_json(self, path: str | os.PathLike) -> None:
        """Write {"epoch": [...], "loss": [...], ...} to a JSON file."""
        with open(path, "w") as f:
            json.dump({"epoch": self.epoch, **self.history}, f, indent=2)

    def plot(self, path: str | os.PathLike | None = None, title: str | None = None):
        """Training vs validation loss and accuracy, side by side; saved to `path` if given.

        The picture that tells under- from overfitting: both curves high means underfitting,
        validation loss turning up while training loss keeps falling means overfitting.
        Needs matplotlib (the `plot` extra). Returns the matplotlib Figure.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            raise ImportError("History.plot needs matplotlib: pip install 'tinygradcnn[plot]'"
                              ) from err
        epochs = [e + 1 for e in self.epoch]
        figure = Figure(figsize=(10, 4), layout="constrained")
        for axes, metric, label in zip(figure.subplots(1, 2), ("loss", "accuracy"),
                                       ("loss", "accuracy"), strict=True):
            for prefix, style in (("", "o-"), ("val_", "s--")):
                if prefix + metric in self.history:
                    axes.plot(epochs, self.history[prefix + metric], style, markersize=3,
                              label="validation" if prefix else "training")
            axes.set_xlabel("epoch")
            axes.set_ylabel(label)
            axes.grid(alpha=0.3)
            axes.legend()
        if title:
            figure.suptitle(title)
        if path is not None:
            figure.savefig(path, dpi=120)
        return figure


# --------------------------------------------------------------------------- callbacks


class Callback:
    """Hooks called by `fit`; `trainer.stop_training = True` ends training after the epoch.
    `state_dict`/`load_state_dict` let a checkpoint carry the callback's memory."""

    def on_train_begin(self, trainer: Trainer) -> None:
        pass

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


def _monitored(logs: dict[str, float], monitor: str, who: str) -> float:
    if monitor not in logs:
        raise KeyError(f"{who}: monitored metric {monitor!r} is not in the logs "
                       f"(available: {', '.join(sorted(logs))}); pass validation_data to fit "
                       "to get val_* metrics")
    return logs[monitor]


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
        value = _monitored(logs, self.monitor, "EarlyStopping")
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
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
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
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
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
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = float(state["best"])


# --------------------------------------------------------------------------- the loop


def _batches_from(data, batch_size: int, shuffle: bool) -> Iterable:
    if data is None or isinstance(data, DataLoader) or not hasattr(data, "__getitem__"):
        return data
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=0 if shuffle else None)


def _accuracy_counts(output, labels) -> int:
    """Number of rows of logits `output` (N, C) whose argmax equals the label."""
    if output.ndim != 2 or labels.ndim != 1 or labels.dtype.kind not in "iu":
        return -1
    return int((output.numpy().argmax(axis=1) == labels.numpy()).sum())


class Trainer:
    """The state of one `fit` call; callbacks receive it. Use `fit` rather than this."""

    def __init__(self, model, optimizer, loss_fn, scheduler, callbacks, device, l1,
                 verbose) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        # checkpoints run last, so they capture the other callbacks' updated state
        self.callbacks = sorted(callbacks, key=lambda cb: isinstance(cb, ModelCheckpoint))
        self.device = device
        self.l1 = l1
        self.verbose = verbose
        self.history = History()
        self.epoch = 0  # epochs completed
        self.stop_training = False
        self.resumed = False
        self._bar = None

    def log(self, message: str) -> None:
        if self.verbose:
            writer = self._bar.write if self._bar is not None else print
            writer(message)

    # -- checkpoints ------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "rng_state": tg_random.get_rng_state(),
            "history": self.history.state_dict(),
            "callbacks": [{"type": type(cb).__name__, "state": cb.state_dict()}
                          for cb in self.callbacks],
        }

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        save(self.checkpoint(), path)

    def restore(self, checkpoint: dict[str, Any]) -> None:
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("resume: not a tinygradcnn checkpoint (a weights-only file? "
                             "load it with model.load_state_dict(tg.load(path)))")
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if self.scheduler is not None and checkpoint["scheduler"] is not None:
            self.scheduler.load_state_dict(checkpoint["scheduler"])
        tg_random.set_rng_state(checkpoint["rng_state"])
        self.history.load_state_dict(checkpoint["history"])
        saved = checkpoint["callbacks"]
        for callback, entry in zip(self.callbacks, saved, strict=False):
            if entry["type"] == type(callback).__name__:
                callback.load_state_dict(entry["state"])
        self.epoch = int(checkpoint["epoch"])
        self.resumed = True

    # -- one epoch --------------------------------------------------------------------
    def _to_device(self, tensor):
        return tensor if tensor.device == self.device else tensor.to(self.device)

    def train_epoch(self, loader, epochs: int) -> dict[str, float]:
        self.model.train()
        if isinstance(loader, DataLoader):
            loader.set_epoch(self.epoch)
        total_loss, correct, seen = 0.0, 0, 0
        has_accuracy = True
        self._bar = _progress_bar(len(loader), f"epoch {self.epoch + 1}/{epochs}",
                                  self.verbose)
        start = time.perf_counter()
        for images, labels in loader:
            images, labels = self._to_device(images), self._to_device(labels)
            output = self.model(images)
            loss = self.loss_fn(output, labels)
            objective = loss + l1_penalty(self.model, self.l1) if self.l1 else loss
            self.optimizer.zero_grad()
            objective.backward()
            self.optimizer.step()
            batch = labels.shape[0]
            total_loss += loss.item() * batch
            hits = _accuracy_counts(output, labels)
            has_accuracy = has_accuracy and hits >= 0
            correct += max(hits, 0)
            seen += batch
            if self._bar is not None:
                rate = seen / max(time.perf_counter() - start, 1e-9)
                postfix = {"loss": f"{total_loss / seen:.4f}"}
                if has_accuracy:
                    postfix["acc"] = f"{correct / seen:.4f}"
                postfix["img/s"] = f"{rate:.0f}"
                self._bar.set_postfix(postfix, refresh=False)
                self._bar.update(1)
        elapsed = time.perf_counter() - start
        logs = {"loss": total_loss / max(seen, 1)}
        if has_accuracy:
            logs["accuracy"] = correct / max(seen, 1)
        logs["images_per_second"] = seen / max(elapsed, 1e-9)
        return logs

    def run(self, train_loader, epochs: int, validation_data) -> History:
        for callback in self.callbacks:
            callback.on_train_begin(self)
        try:
            while self.epoch < epochs and not self.stop_training:
                epoch_start = time.perf_counter()
                logs = self.train_epoch(train_loader, epochs)
                logs["lr"] = self.optimizer.param_groups[0]["lr"]
                if validation_data is not None:
                    result = evaluate(self.model, validation_data, self.loss_fn, self.device)
                    logs.update({f"val_{key}": value for key, value in result.items()})
                logs["time"] = time.perf_counter() - epoch_start
                self._finish_bar(logs, epochs)
                epoch = self.epoch
                self.history.append(epoch, logs)
                if self.scheduler is not None:
                    self.scheduler.step()
                self.epoch += 1
                for callback in self.callbacks:
                    callback.on_epoch_end(self, epoch, logs)
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
        for callback in self.callbacks:
            callback.on_train_end(self)
        return self.history

    def _finish_bar(self, logs: dict[str, float], epochs: int) -> None:
        parts = [f"loss {logs['loss']:.4f}"]
        if "accuracy" in logs:
            parts.append(f"acc {logs['accuracy']:.4f}")
        if "val_loss" in logs:
            parts.append(f"val_loss {logs['val_loss']:.4f}")
        if "val_accuracy" in logs:
            parts.append(f"val_acc {logs['val_accuracy']:.4f}")
        parts.append(f"{logs['images_per_second']:.0f} img/s")
        if self._bar is not None:
            self._bar.set_postfix_str(", ".join(parts), refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose:
            print(f"epoch {self.epoch + 1}/{epochs}: " + ", ".join(parts)
                  + f", {logs['time']:.1f}s", flush=True)


def _progress_bar(total: int, description: str, verbose: int):
    """A tqdm bar when tqdm is installed and verbose == 1; None means plain epoch lines."""
    if verbose != 1:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, unit="batch", leave=True, dynamic_ncols=True,
                file=sys.stderr, mininterval=0.2)


def fit(
    model: Module,
    train_data,
    epochs: int,
    optimizer: Optimizer,
    loss_fn: Callable | None = None,
    validation_data=None,
    callbacks: Iterable[Callback] | None = None,
    scheduler: LRScheduler | None = None,
    device: str | None = None,
    l1: float = 0.0,
    verbose: int = 1,
    resume_from: str | os.PathLike | None = None,
    batch_size: int = 64,
    loss: Callable | None = None,
) -> History:
    """Train `model` for `epochs` epochs (counted from 0, including resumed ones).

    Args:
        model: the Module to train (moved to `device`).
        train_data: a DataLoader, or a data set (then batched by `batch_size`, shuffled).
        epochs: total number of epochs.
        optimizer: built on `model.parameters()`.
        loss_fn: `loss_fn(output, labels) -> scalar Tensor`; CrossEntropyLoss by default.
        validation_data: a DataLoader or data set evaluated after every epoch (val_* logs).
        callbacks: e.g. `[EarlyStopping(patience=3), ModelCheckpoint("ckpt.npz")]`.
        scheduler: a learning-rate schedule stepped once per epoch.
        device: "cpu" or "cuda"; default: where the model's parameters are.
        l1: weight of an L1 penalty on all trainable parameters (0 = none).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        resume_from: a checkpoint written by `ModelCheckpoint`: continue where it stopped.
        batch_size: batch size used when `train_data` is a data set rather than a loader.
        loss: Keras-style alias of `loss_fn`.

    Returns the `History` (including the epochs before a resume).
    """
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else "cpu"
    model.to(device)
    trainer = Trainer(model, optimizer, loss_fn or loss or CrossEntropyLoss(), scheduler,
                      list(callbacks or []), device, l1, verbose)
    if resume_from is not None:
        trainer.restore(load(resume_from))
        trainer.log(f"resumed from {os.fspath(resume_from)} after epoch {trainer.epoch}")
    return trainer.run(_batches_from(train_data, batch_size, True), epochs,
                       _batches_from(validation_data, 256, False))


def evaluate(model: Module, data, loss_fn: Callable | None = None, device: str | None = None,
             batch_size: int = 256) -> dict[str, float]:
    """Mean loss and accuracy of `model` on `data` (DataLoader or data set), in eval mode
    and without gradients. Returns {"loss": ..., "accuracy": ...}."""
    loss_fn = loss_fn or CrossEntropyLoss()
    loader = _batches_from(data, batch_size, False)
    was_training = model.training
    model.eval()
    total_loss, correct, seen, has_accuracy = 0.0, 0, 0, True
    try:
        with no_grad():
            for images, labels in loader:
                if device is not None:
                    images, labels = images.to(device), labels.to(device)
                output = model(images)
                batch = labels.shape[0]
                total_loss += loss_fn(output, labels).item() * batch
                hits = _accuracy_counts(output, labels)
                has_accuracy = has_accuracy and hits >= 0
                correct += max(hits, 0)
                seen += batch
    finally:
        model.train(was_training)
    result = {"loss": total_loss / max(seen, 1)}
    if has_accuracy:
        result["accuracy"] = correct / max(seen, 1)
    return result


def predict(model: Module, data, device: str | None = None, batch_size: int = 256
            ) -> tuple[np.ndarray, np.ndarray]:
    """(predicted classes, true labels) as int64 arrays over `data`, in eval mode."""
    loader = _batches_from(data, batch_size, False)
    was_training = model.training
    model.eval()
    predictions, targets = [], []
    try:
        with no_grad():
            for images, labels in loader:
                if device is not None:
                    images = images.to(device)
                predictions.append(model(images).numpy().argmax(axis=1))
                targets.append(labels.numpy())
    finally:
        model.train(was_training)
    return (np.concatenate(predictions).astype(np.int64),
            np.concatenate(targets).astype(np.int64))


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_classes: int
                     ) -> np.ndarray:
    """(num_classes, num_classes) counts: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def format_confusion_matrix(matrix: np.ndarray, class_names=None) -> str:
    """The confusion matrix as a text table (rows: true class, columns: predicted)."""
    n = matrix.shape[0]
    names = [str(name) for name in (class_names or range(n))]
    short = [name[:6] for name in names]
    width = max(5, len(str(matrix.max())) + 1, *(len(s) + 1 for s in short))
    label_width = max(11, *(len(name) + 1 for name in names))
    lines = ["true\\pred".ljust(label_width) + "".join(s.rjust(width) for s in short)]
    for name, row in zip(names, matrix, strict=True):
        lines.append(name.ljust(label_width) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def plot_confusion_matrix(matrix: np.ndarray, path: str | os.PathLike | None = None,
                          class_names=None, title: str | None = None):
    """Draw the (C, C) confusion matrix as a heat map with the counts written in the cells
    (rows: true class, columns: predicted); saved to `path` if given. Needs matplotlib.
    Returns the matplotlib Figure."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("plot_confusion_matrix needs matplotlib: "
                          "pip install 'tinygradcnn[plot]'") from err
    n = matrix.shape[0]
    names = [str(name) for name in (class_names or range(n))]
    figure = Figure(figsize=(1.2 + 0.55 * n, 1.0 + 0.5 * n), layout="constrained")
    axes = figure.subplots()
    # colour by the share of each true class, so a rare class's mistakes still show
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for row in range(n):
        for column in range(n):
            if matrix[row, column]:
                axes.text(column, row, str(matrix[row, column]), ha="center", va="center",
                          fontsize=8, color="white" if shares[row, column] > 0.5 else "black")
    axes.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0,
                    ha="right" if max(map(len, names)) > 2 else "center")
    axes.set_yticks(range(n), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axes.set_title(f"{title + ': ' if title else ''}accuracy {100 * accuracy:.2f}%", fontsize=10)
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
