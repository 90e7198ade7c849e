"""The training loop: `fit`, `evaluate`, `predict`, and the `Trainer` that callbacks see.

    history = tg.fit(model, train_loader, epochs=10, optimizer=optim.Adam(model.parameters()),
                     validation_data=val_loader,
                     callbacks=[EarlyStopping(patience=3), ModelCheckpoint("ckpt.npz")])

Each epoch shows a progress bar (tqdm, when installed) with the running loss, accuracy and
images per second, then validates. A checkpoint holds everything the next epoch depends on:
the weights and buffers, the optimizer and schedule state, the random state, the callbacks'
state, the history and the epoch number; and the loaders' shuffle order is a function of
(seed, epoch). So `fit(..., resume_from="ckpt.npz")` continues bit for bit as if the run had
never stopped.

Nothing fails silently: a NaN or infinite loss stops training before it reaches the weights
(`TerminateOnNaN`), and when the outputs are not classification the reason accuracy is
missing from the logs is said once (a warning, and `history.notes`).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..backend import normalize_device
from ..data.loader import DataLoader
from ..nn.loss import BCEWithLogitsLoss, CrossEntropyLoss
from ..nn.module import Module
from ..optim import LRScheduler, Optimizer, ReduceLROnPlateau, l1_penalty
from ..serialization import load, save
from .callbacks import Callback, ModelCheckpoint, TerminateOnNaN
from .checkpoint import make_checkpoint, restore
from .history import History
from .metrics import count_correct


def _batches_from(data, batch_size: int, shuffle: bool) -> Iterable:
    if data is None or isinstance(data, DataLoader) or not hasattr(data, "__getitem__"):
        return data
    # seed=None: each epoch's order is drawn from tinygradcnn.random, so it follows
    # tg.manual_seed and a resumed run (which restores that state) replays it
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=None)


def _accuracy_threshold(loss_fn) -> float | None:
    """The logit threshold of a binary/multi-label loss, None for class scores."""
    return 0.0 if isinstance(loss_fn, BCEWithLogitsLoss) else None


class _Tally:
    """Running sums of one pass over the data: the loss and the correct predictions."""

    def __init__(self, threshold: float | None) -> None:
        self.threshold = threshold
        self.loss_sum, self.seen, self.correct, self.counted = 0.0, 0, 0, 0
        self.no_accuracy: str | None = None  # why there is no accuracy, once known

    def add(self, loss_value: float, output, labels) -> None:
        batch = labels.shape[0]
        self.loss_sum += loss_value * batch
        self.seen += batch
        if self.no_accuracy is None:
            try:
                correct, counted = count_correct(output, labels, self.threshold)
            except ValueError as err:
                self.no_accuracy = str(err).removeprefix("accuracy: ")
            else:
                self.correct += correct
                self.counted += counted

    def logs(self) -> dict[str, float]:
        logs = {"loss": self.loss_sum / max(self.seen, 1)}
        if self.no_accuracy is None and self.counted:
            logs["accuracy"] = self.correct / self.counted
        return logs


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
        self.terminated: str | None = None
        self.resumed = False
        self._bar = None

    def log(self, message: str) -> None:
        if self.verbose:
            writer = self._bar.write if self._bar is not None else print
            writer(message)

    def note(self, message: str, category: type[Warning] = UserWarning) -> None:
        """Say something about the run once: a warning, kept in `history.notes`."""
        if message not in self.history.notes:
            self.history.notes.append(message)
            self._close_bar()
            warnings.warn(message, category, stacklevel=2)

    def terminate(self, message: str) -> None:
        """End training now: the current batch's optimizer step is skipped, no epoch-end
        callback runs, `on_train_end` still does."""
        self.terminated = message
        self.stop_training = True

    # -- checkpoints ------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        """Everything the next epoch depends on (see `checkpoint.make_checkpoint`)."""
        return make_checkpoint(self)

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        save(self.checkpoint(), path)

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Continue from `checkpoint` (see `checkpoint.restore`)."""
        restore(self, checkpoint)

    # -- one epoch --------------------------------------------------------------------
    def _to_device(self, tensor):
        return tensor if tensor.device == self.device else tensor.to(self.device)

    def train_epoch(self, loader, epochs: int) -> dict[str, float]:
        """One pass over `loader`; stops at once when a callback calls `terminate`."""
        self.model.train()
        if isinstance(loader, DataLoader):
            loader.set_epoch(self.epoch)
        tally = _Tally(_accuracy_threshold(self.loss_fn))
        self._bar = _progress_bar(len(loader), f"epoch {self.epoch + 1}/{epochs}",
                                  self.verbose)
        start = time.perf_counter()
        for batch, (images, labels) in enumerate(loader):
            images, labels = self._to_device(images), self._to_device(labels)
            output = self.model(images)
            loss = self.loss_fn(output, labels)
            objective = loss + l1_penalty(self.model, self.l1) if self.l1 else loss
            self.optimizer.zero_grad()
            objective.backward()
            # the step's one wait for the device, needed by the logs anyway; after backward
            # so that its kernels are queued first, before the step so a NaN never lands
            loss_value = loss.item()
            for callback in self.callbacks:
                callback.on_before_optimizer_step(self, batch, {"loss": loss_value})
            if self.terminated is not None:
                break
            self.optimizer.step()
            tally.add(loss_value, output, labels)
            if self._bar is not None:
                rate = tally.seen / max(time.perf_counter() - start, 1e-9)
                postfix = {"loss": f"{tally.loss_sum / tally.seen:.4f}"}
                if tally.no_accuracy is None and tally.counted:
                    postfix["acc"] = f"{tally.correct / tally.counted:.4f}"
                postfix["img/s"] = f"{rate:.0f}"
                self._bar.set_postfix(postfix, refresh=False)
                self._bar.update(1)
        elapsed = time.perf_counter() - start
        if tally.no_accuracy is not None:
            self.note(f"fit: no accuracy in the logs: {tally.no_accuracy}")
        logs = tally.logs()
        logs["images_per_second"] = tally.seen / max(elapsed, 1e-9)
        return logs

    def run(self, train_loader, epochs: int, validation_data) -> History:
        for callback in self.callbacks:
            callback.on_train_begin(self)
        try:
            while self.epoch < epochs and not self.stop_training:
                epoch_start = time.perf_counter()
                logs = self.train_epoch(train_loader, epochs)
                if self.terminated is not None:
                    self.note(self.terminated, RuntimeWarning)
                    break
                logs["lr"] = self.optimizer.param_groups[0]["lr"]
                if validation_data is not None:
                    result, no_accuracy = _evaluate(self.model, validation_data, self.loss_fn,
                                                    self.device)
                    if no_accuracy is not None and not any(no_accuracy in note
                                                           for note in self.history.notes):
                        self.note(f"fit: no val_accuracy in the logs: {no_accuracy}")
                    logs.update({f"val_{key}": value for key, value in result.items()})
                logs["time"] = time.perf_counter() - epoch_start
                self._finish_bar(logs, epochs)
                epoch = self.epoch
                self.history.append(epoch, logs)
                if isinstance(self.scheduler, ReduceLROnPlateau):  # it watches a metric
                    self.scheduler.step(logs.get("val_loss", logs["loss"]))
                elif self.scheduler is not None:
                    self.scheduler.step()
                self.epoch += 1
                for callback in self.callbacks:
                    callback.on_epoch_end(self, epoch, logs)
        finally:
            self._close_bar()
        for callback in self.callbacks:
            callback.on_train_end(self)
        return self.history

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

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
            self._close_bar()
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
    terminate_on_nan: bool = True,
) -> History:
    """Train `model` for `epochs` epochs (counted from 0, including resumed ones).

    Args:
        model: the Module to train (moved to `device`).
        train_data: a DataLoader, or a data set (then batched by `batch_size` and shuffled
            in an order drawn from `tg.manual_seed`'s random state).
        epochs: total number of epochs.
        optimizer: built on `model.parameters()`.
        loss_fn: `loss_fn(output, labels) -> scalar Tensor`; CrossEntropyLoss by default.
        validation_data: a DataLoader or data set evaluated after every epoch (val_* logs).
        callbacks: e.g. `[EarlyStopping(patience=3), ModelCheckpoint("ckpt.npz")]`.
        scheduler: a learning-rate schedule stepped once per epoch (a ReduceLROnPlateau
            with the epoch's val_loss, or its loss without validation data).
        device: "cpu" or "cuda"; default: where the model's parameters are.
        l1: weight of an L1 penalty on all trainable parameters (0 = none).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        resume_from: a checkpoint written by `ModelCheckpoint`: continue where it stopped.
            Its callbacks must match `callbacks` (a ValueError says what differs).
        batch_size: batch size used when `train_data` is a data set rather than a loader.
        loss: Keras-style alias of `loss_fn`.
        terminate_on_nan: stop at the first batch whose loss is NaN or infinite, before its
            optimizer step, with a RuntimeWarning naming the batch and the epoch; the model
            keeps its last finite weights and no checkpoint is written with NaN weights
            (`TerminateOnNaN`). False trains on regardless.

    Accuracy (and val_accuracy) is logged when the outputs are classification (see
    `metrics.count_correct`); otherwise a UserWarning says once why it is not.

    Returns the `History` (including the epochs before a resume).
    """
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else "cpu"
    device = normalize_device(device, "fit")
    model.to(device)
    callbacks = list(callbacks or [])
    if terminate_on_nan and not any(isinstance(cb, TerminateOnNaN) for cb in callbacks):
        callbacks.append(TerminateOnNaN())
    trainer = Trainer(model, optimizer, loss_fn or loss or CrossEntropyLoss(), scheduler,
                      callbacks, device, l1, verbose)
    if resume_from is not None:
        trainer.restore(load(resume_from))
        trainer.log(f"resumed from {os.fspath(resume_from)} after epoch {trainer.epoch}")
    return trainer.run(_batches_from(train_data, batch_size, True), epochs,
                       _batches_from(validation_data, 256, False))


def _evaluate(model: Module, data, loss_fn: Callable, device: str | None, batch_size: int = 256
              ) -> tuple[dict[str, float], str | None]:
    """(logs, why there is no accuracy or None) of one pass in eval mode, no gradients."""
    if device is not None:
        device = normalize_device(device, "evaluate")
    loader = _batches_from(data, batch_size, False)
    was_training = model.training
    model.eval()
    tally = _Tally(_accuracy_threshold(loss_fn))
    try:
        with no_grad():
            for images, labels in loader:
                if device is not None:
                    images, labels = images.to(device), labels.to(device)
                output = model(images)
                tally.add(loss_fn(output, labels).item(), output, labels)
    finally:
        model.train(was_training)
    return tally.logs(), tally.no_accuracy


def evaluate(model: Module, data, loss_fn: Callable | None = None, device: str | None = None,
             batch_size: int = 256) -> dict[str, float]:
    """Mean loss and accuracy of `model` on `data` (DataLoader or data set), in eval mode
    and without gradients. Returns {"loss": ..., "accuracy": ...}; when the outputs are
    not classification there is no "accuracy" and a UserWarning says why."""
    result, no_accuracy = _evaluate(model, data, loss_fn or CrossEntropyLoss(), device,
                                    batch_size)
    if no_accuracy is not None:
        warnings.warn(f"evaluate: no accuracy in the result: {no_accuracy}", UserWarning,
                      stacklevel=2)
    return result


def predict(model: Module, data, device: str | None = None, batch_size: int = 256
            ) -> tuple[np.ndarray, np.ndarray]:
    """(predicted classes, true labels) as int64 arrays over `data`, in eval mode:
    logits (N, C) -> argmax (N,)."""
    if device is not None:
        device = normalize_device(device, "predict")
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
