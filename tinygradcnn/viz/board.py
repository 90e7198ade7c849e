"""The overfitting board: one small training set, a baseline that overfits it, and one run
per remedy, curves and numbers side by side.

    board = tg.viz.overfitting_board(quick=True)      # seconds; the full board: minutes
    print(board.table())
    tg.viz.plot_overfitting_board(board, "overfitting.png")

The baseline is a small CNN without pooling (two 3x3 convs keep the full image size, so
the fully connected layer after them has many weights), no dropout, no normalisation, no
regulariser, trained with Adam on a few hundred digits: it memorises them. Each other run
changes one thing: dropout, batch normalisation, max pooling after each conv, early
stopping, Gaussian noise on the input, an L1 penalty, L2 weight decay, or random affine
augmentation. Training curves are measured like the validation ones (eval mode, clean
images), so the gap between them is the overfitting itself, not the regulariser's noise.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import data, nn, optim
from ..atomic import save_figure
from ..data import transforms as T
from ..random import manual_seed
from ..train import Callback, EarlyStopping, evaluate, fit
from ._figure import new_figure
from .explain_types import ExplainContext, ViewResult

STRATEGIES = ("dropout", "batch norm", "pooling", "early stopping", "noise", "L1", "L2",
              "augmentation")
WHAT_CHANGES = {
    "baseline": "no pooling, no regulariser: the run to beat",
    "dropout": "Dropout(0.5) before each fully connected layer",
    "batch norm": "BatchNorm2d after each conv",
    "pooling": "MaxPool2d(2) after each conv (4x fewer pixels each)",
    "early stopping": "stop 5 epochs after the best val loss, keep that epoch's weights",
    "noise": "Gaussian noise (std 0.3) added to the input in training",
    "L1": "loss + 1e-4 * sum |w| (fit's l1=)",
    "L2": "weight decay 1e-3 (Adam's L2 term)",
    "augmentation": "random rotation, shift and scale of each training image",
}


@dataclass
class BoardRun:
    """One run of the board: per-epoch training and validation loss and accuracy (both
    measured in eval mode on clean images), the model's final validation accuracy (after
    early stopping has restored its best weights), and the trained model."""

    strategy: str
    description: str
    parameters: int
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    final_val_accuracy: float = float("nan")
    seconds: float = 0.0
    model: nn.Module | None = None

    @property
    def epochs(self) -> int:
        return len(self.val_loss)

    @property
    def best_epoch(self) -> int:
        """The epoch (from 0) with the lowest validation loss: where overfitting starts."""
        return int(np.argmin(self.val_loss))

    @property
    def best_val_accuracy(self) -> float:
        return float(max(self.val_accuracy))

    @property
    def gap(self) -> float:
        """Final training accuracy minus final validation accuracy: how much was memorised."""
        return self.accuracy[-1] - self.val_accuracy[-1]


@dataclass
class Board:
    """The baseline and the eight strategies, run on the same data for the same epochs."""

    baseline: BoardRun
    runs: list[BoardRun]
    train_size: int
    val_size: int
    image_size: int
    epochs: int
    train_set: data.ArrayDataset
    val_set: data.ArrayDataset

    def table(self) -> str:
        """One row per run: final training and validation accuracy, their gap (in points),
        the best validation accuracy of any epoch, the epoch of the lowest validation loss,
        epochs run, parameters and what the run changes."""
        header = ("run", "train acc", "val acc", "gap", "best val acc", "best epoch",
                  "epochs", "params", "what changes")
        rows = [header]
        for run in [self.baseline, *self.runs]:
            rows.append((run.strategy, f"{100 * run.accuracy[-1]:.1f}%",
                         f"{100 * run.final_val_accuracy:.1f}%", f"{100 * run.gap:+.1f}",
                         f"{100 * run.best_val_accuracy:.1f}%", str(run.best_epoch + 1),
                         str(run.epochs), f"{run.parameters:,}", run.description))
        widths = [max(len(row[k]) for row in rows) for k in range(len(header))]
        lines = ["  ".join(cell.ljust(w) if k in (0, 8) else cell.rjust(w)
                           for k, (cell, w) in enumerate(zip(row, widths, strict=True)))
                 .rstrip() for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(lines)


def board_model(strategy: str, image_size: int, in_channels: int = 1,
                num_classes: int = 10) -> nn.Module:
    """The CNN of one run: the baseline, with the strategy's layer added where it goes.
    (N, in_channels, S, S) -> (N, num_classes)."""
    layers: list[nn.Module] = []
    if strategy == "noise":
        layers.append(nn.GaussianNoise(0.3))
    side = image_size
    channels = in_channels
    for width in (8, 16):
        layers.append(nn.Conv2d(channels, width, 3, padding=1))
        if strategy == "batch norm":
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU())
        if strategy == "pooling":
            layers.append(nn.MaxPool2d(2))
            side //= 2
        channels = width
    layers.append(nn.Flatten())
    dropout = strategy == "dropout"
    for c_in, c_out in ((channels * side * side, 64), (64, num_classes)):
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers.append(nn.Linear(c_in, c_out))
        if c_out != num_classes:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _CleanTrainingScores(Callback):
    """After each epoch, the loss and accuracy on the training images in eval mode: the
    training curve without dropout, noise or augmentation in the way."""

    def __init__(self, train_set) -> None:
        self.train_set = train_set
        self.loss: list[float] = []
        self.accuracy: list[float] = []

    def on_epoch_end(self, trainer, epoch, logs):
        result = evaluate(trainer.model, self.train_set)
        self.loss.append(result["loss"])
        self.accuracy.append(result["accuracy"])


def _run(strategy: str, train_set, val_set, image_size: int, channels: int, epochs: int,
         seed: int, lr: float, batch_size: int) -> BoardRun:
    started = time.perf_counter()
    manual_seed(seed)  # every run starts from the same draw of the random state
    model = board_model(strategy, image_size, channels)
    augment = (T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))
               if strategy == "augmentation" else None)
    loader = data.DataLoader(train_set, batch_size, shuffle=True, seed=seed, transform=augment)
    optimizer = optim.Adam(model.parameters(), lr=lr,
                           weight_decay=1e-3 if strategy == "L2" else 0.0)
    scores = _CleanTrainingScores(train_set)
    callbacks: list[Callback] = [scores]
    if strategy == "early stopping":
        callbacks.append(EarlyStopping("val_loss", patience=5, verbose=False))
    history = fit(model, loader, epochs, optimizer, validation_data=val_set,
                  callbacks=callbacks, l1=1e-4 if strategy == "L1" else 0.0, verbose=0)
    return BoardRun(strategy, WHAT_CHANGES[strategy], model.num_parameters(), scores.loss,
                    scores.accuracy, list(history["val_loss"]), list(history["val_accuracy"]),
                    evaluate(model, val_set)["accuracy"], time.perf_counter() - started, model)


def overfitting_board(dataset=None, train_size: int | None = None, val_size: int | None = None,
                      epochs: int | None = None, quick: bool = False, seed: int = 0,
                      image_size: int | None = None, lr: float = 2e-3, batch_size: int = 16,
                      strategies: Sequence[str] = STRATEGIES, verbose: bool = False) -> Board:
    """Train the baseline and one run per strategy on the same small training set.

    dataset: a labelled data set (`dataset[indices]` -> (images (n, C, H, W), labels));
    default: the embedded 8x8 digits, upscaled to `image_size` (28 as the CLI's default;
    8 with quick=True). The training and validation sets are drawn from it by `seed`.
    quick: a few seconds (100 training images of 8x8, 8 epochs); the full board (300
    images of 28x28, 25 epochs, batches of 16) takes a few minutes on two cores.
    verbose: print a line as each run ends (the full board runs for minutes).
    Returns a `Board` (see `Board.table` and `plot_overfitting_board`).
    """
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"overfitting_board: unknown strategies {unknown}; valid: "
                         f"{', '.join(STRATEGIES)}")
    train_size = train_size or (100 if quick else 300)
    val_size = val_size or (200 if quick else 400)
    epochs = epochs or (8 if quick else 25)
    if dataset is None:
        dataset = data.Digits(train=True, size=image_size or (8 if quick else 28))
    if len(dataset) < train_size + val_size:
        raise ValueError(f"overfitting_board: the data set has {len(dataset)} images, fewer "
                         f"than train_size + val_size = {train_size + val_size}")
    order = np.random.default_rng(seed).permutation(len(dataset))
    images, labels = dataset[order[:train_size + val_size]]
    images = np.asarray(images, np.float32)
    train_set = data.ArrayDataset(images[:train_size], labels[:train_size], scale=1.0)
    val_set = data.ArrayDataset(images[train_size:], labels[train_size:], scale=1.0)
    channels, side = images.shape[1], images.shape[-1]
    runs = []
    for number, strategy in enumerate(("baseline", *strategies)):
        runs.append(_run(strategy, train_set, val_set, side, channels, epochs, seed, lr,
                         batch_size))
        if verbose:
            run = runs[-1]
            print(f"overfitting board, run {number + 1}/{len(strategies) + 1}: {strategy}: "
                  f"val accuracy {100 * run.final_val_accuracy:.1f}%, train - val "
                  f"{100 * run.gap:+.1f} pts ({run.seconds:.1f}s)", flush=True)
    return Board(runs[0], runs[1:], train_size, val_size, side, epochs, train_set, val_set)


def plot_overfitting_board(board: Board, path: str | os.PathLike | None = None):
    """A grid of small multiples, one per run: training and validation loss per epoch with
    the gap between them shaded, the best epoch marked and the baseline's validation loss
    in grey behind; below, the final and best validation accuracy of every run as bars.
    Saved to `path` if given; returns the matplotlib Figure."""
    runs = [board.baseline, *board.runs]
    columns = 3
    rows = -(-len(runs) // columns)
    figure = new_figure("plot_overfitting_board", figsize=(12, 3.0 * rows + 3.4),
                        layout="constrained")
    grid = figure.add_gridspec(rows + 1, columns, height_ratios=[1] * rows + [1.15])
    top = max(max(run.val_loss + run.loss) for run in runs)
    bottom = max(min(min(run.loss) for run in runs), 1e-4)
    baseline_epochs = np.arange(1, board.baseline.epochs + 1)
    for index, run in enumerate(runs):
        axes = figure.add_subplot(grid[index // columns, index % columns])
        epochs = np.arange(1, run.epochs + 1)
        if run is not board.baseline:
            axes.plot(baseline_epochs, board.baseline.val_loss, color="0.75", linewidth=1.5,
                      label="baseline validation")
        axes.plot(epochs, run.loss, "-", color="tab:blue", label="training")
        axes.plot(epochs, run.val_loss, "--", color="tab:red", label="validation")
        axes.fill_between(epochs, run.loss, run.val_loss, color="tab:red", alpha=0.12,
                          label="gap")
        best = run.best_epoch
        axes.axvline(best + 1, color="tab:green", linestyle=":", linewidth=1.2)
        axes.plot([best + 1], [run.val_loss[best]], "o", color="tab:green", markersize=5,
                  label="best epoch")
        axes.set_yscale("log")
        axes.set_ylim(bottom * 0.8, top * 1.25)
        axes.set_xlim(0.5, board.epochs + 0.5)
        axes.set_title(f"{run.strategy}: val {100 * run.final_val_accuracy:.1f}%, "
                       f"train - val {100 * run.gap:+.1f} pts", fontsize=10)
        axes.grid(alpha=0.3)
        if index % columns == 0:
            axes.set_ylabel("cross-entropy loss")
        if index // columns == rows - 1 or index + columns >= len(runs):
            axes.set_xlabel("epoch")
        if index == 0:
            axes.legend(fontsize=7.5, loc="lower left")
        elif index == 1:
            axes.legend(fontsize=7.5, loc="lower left")
    bars = figure.add_subplot(grid[rows, :])
    names = [run.strategy for run in runs]
    positions = np.arange(len(runs))
    finals = [100 * run.final_val_accuracy for run in runs]
    bests = [100 * run.best_val_accuracy for run in runs]
    bars.bar(positions - 0.2, finals, 0.4, color="tab:red", alpha=0.8,
             label="final validation accuracy")
    bars.bar(positions + 0.2, bests, 0.4, color="tab:green", alpha=0.7,
             label="best validation accuracy (any epoch)")
    for x, value in zip(positions, finals, strict=True):
        bars.text(x - 0.2, value + 0.5, f"{value:.1f}", ha="center", va="bottom", fontsize=8)
    bars.axhline(finals[0], color="0.4", linestyle="--", linewidth=1,
                 label="baseline, final")
    low = max(0.0, min(finals + bests) - 10)
    bars.set_ylim(low, 100 + (100 - low) * 0.12)
    bars.set_xticks(positions, names)
    bars.set_ylabel("validation accuracy (%)")
    bars.legend(fontsize=8, loc="upper left", ncol=3)
    bars.grid(axis="y", alpha=0.3)
    figure.suptitle(f"Overfitting and its remedies: {board.train_size} training images "
                    f"({board.image_size}x{board.image_size}), {board.val_size} for "
                    f"validation, {board.epochs} epochs")
    if path is not None:
        save_figure(figure, path, dpi=110)
    return figure


def view_overfitting(ctx: ExplainContext) -> ViewResult:
    """The `overfitting` view: the board trained on the context's images when there are
    enough of them (the data the command was given), else on the embedded digits at the
    context's image size; `ctx.quick` trains the short board."""
    needed = (100 + 200) if ctx.quick else (300 + 400)
    dataset = None
    if len(ctx.images) >= needed:
        dataset = data.ArrayDataset(ctx.images, ctx.labels, scale=1.0)
    board = overfitting_board(dataset, quick=ctx.quick, seed=ctx.seed,
                              image_size=None if ctx.quick else int(ctx.images.shape[-1]),
                              verbose=not ctx.quick)
    path = ctx.out_dir / "overfitting.png"
    plot_overfitting_board(board, path)
    best = max(board.runs, key=lambda run: run.final_val_accuracy)
    text = (f"overfitting board: {board.train_size} training images, {board.val_size} for "
            f"validation, {board.epochs} epochs per run\n{board.table()}\n"
            f"best remedy here: {best.strategy} ({100 * best.final_val_accuracy:.1f}% against "
            f"the baseline's {100 * board.baseline.final_val_accuracy:.1f}%)\nwrote {path}")
    about = ("The same few hundred images trained nine times. The baseline drives its "
             "training loss towards zero while its validation loss stops falling and turns "
             "up: it memorises the images instead of learning the digits (the shaded gap). "
             "Each other panel changes one thing. Dropout, noise and augmentation make the "
             "training images harder to memorise; L1 and L2 keep the weights small; pooling "
             "and batch normalisation change the model itself; early stopping simply stops "
             "at the best epoch (the green mark). Compare each validation curve with the "
             "baseline's in grey, and the accuracies in the bars below.")
    return ViewResult("overfitting", "The overfitting board: eight remedies side by side",
                      text, [path], about)
