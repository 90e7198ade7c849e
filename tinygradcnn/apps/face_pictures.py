"""The pictures of the faces command: misclassified faces, the verification ROC curve and
the detections on a photo."""

from __future__ import annotations

import os

import numpy as np

from ..atomic import save_figure
from ..viz._figure import new_figure


def plot_misclassified(images: np.ndarray, true: np.ndarray, predicted: np.ndarray,
                       gallery: dict[int, np.ndarray], path: str | os.PathLike | None = None,
                       limit: int = 8):
    """One row per mistake: the test face (H, W) with its person, beside a training photo
    (`gallery[person]`, (H, W)) of the person it was taken for. images (N, H, W) of the
    mistakes, true and predicted (N,) people. Returns the Figure (saved to `path` if given)."""
    count = min(len(images), limit)
    figure = new_figure("plot_misclassified", figsize=(3.2, 1.7 * max(count, 1)),
                        layout="constrained")
    if count == 0:
        axes = figure.subplots()
        axes.axis("off")
        axes.text(0.5, 0.5, "no test face misclassified", ha="center", va="center")
    else:
        grid = np.atleast_2d(figure.subplots(count, 2, squeeze=False))
        for row in range(count):
            for column, (picture, title) in enumerate((
                    (images[row], f"person {true[row]}"),
                    (gallery[int(predicted[row])], f"taken for {predicted[row]}"))):
                axes = grid[row, column]
                axes.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0)
                axes.set_title(title, fontsize=9)
                axes.axis("off")
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float, eer: float,
             path: str | os.PathLike | None = None, title: str = "verification ROC"):
    """The ROC curve (false accept rate against true accept rate) with the chance diagonal
    and the equal-error point. Returns the Figure (saved to `path` if given)."""
    figure = new_figure("plot_roc", figsize=(4.2, 4.0), layout="constrained")
    axes = figure.subplots()
    axes.plot(fpr, tpr, label=f"ROC (AUC {auc:.4f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    axes.plot([eer], [1 - eer], "o", color="crimson", label=f"EER {100 * eer:.2f}%")
    axes.plot([0, 1], [1, 0], color="crimson", linewidth=0.5, alpha=0.5)
    axes.set_xlabel("false accept rate (impostor pairs accepted)")
    axes.set_ylabel("true accept rate (genuine pairs accepted)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_title(title, fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure


def plot_detections(image: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                    reference: np.ndarray, heat_map: tuple[float, np.ndarray] | None = None,
                    path: str | os.PathLike | None = None,
                    reference_name: str = "LBP cascade"):
    """The grey (H, W) image with our boxes (K, 4) x1, y1, x2, y2 and their scores (K,) in
    red and the reference detector's boxes in cyan; beside it, when given, one level of the
    heat map ((face size, (h, w) face probabilities)). Returns the Figure (saved if `path`)."""
    from matplotlib.patches import Rectangle

    panels = 2 if heat_map is not None else 1
    figure = new_figure("plot_detections", figsize=(4.6 * panels, 4.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, panels))
    axes[0].imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
    for (x1, y1, x2, y2), score in zip(boxes, scores, strict=True):
        axes[0].add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="red", lw=1.5))
        axes[0].text(x1, y1 - 3, f"{score:.3f}", color="red", fontsize=7)
    for x1, y1, x2, y2 in reference:
        axes[0].add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="cyan",
                                    lw=1.5, linestyle="--"))
    axes[0].set_title(f"ours (red, {len(boxes)}) and the {reference_name} (cyan, "
                      f"{len(reference)})", fontsize=9)
    axes[0].axis("off")
    if heat_map is not None:
        size, probabilities = heat_map
        shown = axes[1].imshow(probabilities, cmap="magma", vmin=0.0, vmax=1.0)
        axes[1].set_title(f"P(face) of each window, faces of {size:.0f} px", fontsize=9)
        axes[1].axis("off")
        figure.colorbar(shown, ax=axes[1], shrink=0.7)
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure
