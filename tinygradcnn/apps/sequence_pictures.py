"""The pictures of the sequence command: class activation maps over time, the training curve."""

from __future__ import annotations

import os

import numpy as np

from .. import nn
from ..atomic import save_figure
from ..autograd import no_grad
from ..tensor import Tensor
from ..viz._figure import new_figure


def class_activation_maps(model: nn.Module, series: np.ndarray, classes: np.ndarray
                          ) -> np.ndarray:
    """`model.cam` (an FCN1d) in eval mode without gradients: (N, C, T) series and (N,)
    classes -> (N, T) float32, each series' map for its class."""
    model.eval()
    with no_grad():
        return model.cam(Tensor(np.ascontiguousarray(series, dtype=np.float32)),
                         classes).numpy()


def pick_examples(labels: np.ndarray, per_class: int = 2, limit: int = 8) -> np.ndarray:
    """The first `per_class` indices of each class, at most `limit` in all: (K,) int64."""
    chosen = [np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]
    return np.concatenate(chosen)[:limit].astype(np.int64)


def plot_cams(model: nn.Module, dataset, predicted: np.ndarray,
              path: str | os.PathLike | None = None, per_class: int = 2, limit: int = 8):
    """One panel per chosen test series: the series (its first channel, or the channel
    whose CAM-weighted energy is largest for multivariate ones) drawn as points coloured by
    the CAM of its true class (red: the time steps that voted for it), with the true and
    predicted class in the title. Returns the Figure (saved to `path` if given)."""
    rows = pick_examples(dataset.labels, per_class, limit)
    series, true = dataset.series[rows], dataset.labels[rows]
    cams = class_activation_maps(model, series, true)
    columns = 2 if len(rows) > 1 else 1
    lines = (len(rows) + columns - 1) // columns
    figure = new_figure("plot_cams", figsize=(5.0 * columns, 1.9 * lines),
                        layout="constrained")
    grid = np.atleast_2d(figure.subplots(lines, columns, squeeze=False))
    time_steps = np.arange(series.shape[2])
    for k, row in enumerate(rows):
        axes = grid[k // columns, k % columns]
        channel = int(np.argmax(np.abs(series[k] * cams[k]).sum(axis=1)))
        valid = min(int(dataset.lengths[row]), series.shape[2])
        cam = cams[k, :valid]
        span = np.ptp(cam) or 1.0
        axes.plot(time_steps[:valid], series[k, channel, :valid], color="lightgrey", lw=1)
        points = axes.scatter(time_steps[:valid], series[k, channel, :valid],
                              c=(cam - cam.min()) / span, cmap="jet", s=9, vmin=0, vmax=1)
        name = dataset.classes
        title = f"true {name[true[k]]}, predicted {name[int(predicted[row])]}"
        if series.shape[1] > 1:
            title += f" (channel {channel})"
        axes.set_title(title, fontsize=8)
        axes.tick_params(labelsize=7)
    for k in range(len(rows), lines * columns):
        grid[k // columns, k % columns].axis("off")
    figure.colorbar(points, ax=grid.ravel().tolist(), shrink=0.8, label="CAM (scaled)")
    figure.suptitle(f"{dataset.name}: class activation maps over time", fontsize=10)
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure


def plot_training(losses, path: str | os.PathLike | None = None):
    """The training loss per epoch (log scale). Returns the Figure (saved if `path`)."""
    figure = new_figure("plot_training", figsize=(4.2, 3.0), layout="constrained")
    axes = figure.subplots()
    axes.plot(np.arange(1, len(losses) + 1), losses)
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure
