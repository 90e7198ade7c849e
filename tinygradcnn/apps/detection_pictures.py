"""The pictures of the detect command: detections (before and after NMS, ground truth beside)
and the precision/recall curves."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..atomic import save_figure
from ..viz._figure import new_figure

_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
            "tab:pink", "tab:olive", "tab:cyan", "gold")


def _name(label: int, class_names: Sequence[str] | None) -> str:
    return class_names[label] if class_names is not None and label < len(class_names) \
        else str(label)


def _draw_boxes(axes, boxes: np.ndarray, labels: np.ndarray, scores: np.ndarray | None,
                class_names: Sequence[str] | None) -> None:
    from matplotlib.patches import Rectangle

    for k, (x1, y1, x2, y2) in enumerate(boxes):
        colour = _COLOURS[int(labels[k]) % len(_COLOURS)]
        # pixel (i, j) is drawn centred on (j, i): a box from x1 to x2 covers x1 - 0.5 ...
        axes.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                                 edgecolor=colour, linewidth=1.2))
        text = _name(int(labels[k]), class_names)
        if scores is not None:
            text += f" {scores[k]:.2f}"
        axes.text(x1 - 0.5, y1 - 1.0, text, color=colour, fontsize=6, va="bottom")


def plot_detections(images: np.ndarray, targets: Sequence[dict], before_nms: Sequence[dict],
                    after_nms: Sequence[dict], class_names: Sequence[str] | None = None,
                    path: str | os.PathLike | None = None):
    """One row per canvas: the ground truth, the heat-map peaks before NMS, the detections
    after NMS. images (N, H, W) in [0, 1]; targets, before_nms, after_nms one dict of NumPy
    arrays per canvas (`boxes`, `labels`, and `scores` for the detections). Returns the
    Figure (saved to `path` if given)."""
    count = len(images)
    figure = new_figure("plot_detections", figsize=(7.5, 2.6 * max(count, 1)),
                        layout="constrained")
    grid = figure.subplots(max(count, 1), 3, squeeze=False)
    columns = (("ground truth", targets), ("before NMS", before_nms), ("after NMS", after_nms))
    for row in range(count):
        for column, (title, found) in enumerate(columns):
            axes = grid[row, column]
            axes.imshow(images[row], cmap="gray", vmin=0.0, vmax=1.0)
            entry = found[row]
            _draw_boxes(axes, np.asarray(entry["boxes"]), np.asarray(entry["labels"]),
                        None if "scores" not in entry else np.asarray(entry["scores"]),
                        class_names)
            axes.set_title(f"{title} ({len(entry['boxes'])})", fontsize=9)
            axes.axis("off")
    if path is not None:
        save_figure(figure, path, dpi=110)
    return figure


def plot_precision_recall(result: dict, class_names: Sequence[str] | None = None,
                          path: str | os.PathLike | None = None):
    """COCO's interpolated precision/recall curves from `mean_average_precision`: one curve
    per class at IoU .5 (left) and the mean over classes at each IoU threshold (right).
    Returns the Figure (saved to `path` if given)."""
    figure = new_figure("plot_precision_recall", figsize=(9.0, 4.0), layout="constrained")
    per_class, per_threshold = figure.subplots(1, 2)
    recall, precision = result["recall_thresholds"], result["precision"]
    thresholds = result["iou_thresholds"]
    first = int(np.argmin(np.abs(thresholds - 0.5)))
    for k, label in enumerate(result["classes"]):
        curve = precision[first, :, k]
        if curve[0] < 0:  # a class without ground truth has no curve
            continue
        per_class.plot(recall, curve, color=_COLOURS[int(label) % len(_COLOURS)],
                       label=f"{_name(int(label), class_names)} (AP {curve.mean():.3f})")
    per_class.set_title(f"per class, IoU {thresholds[first]:.2f}", fontsize=10)
    for t, threshold in enumerate(thresholds):
        valid = precision[t][:, precision[t, 0] >= 0]
        if valid.size:
            per_threshold.plot(recall, valid.mean(axis=1), label=f"IoU {threshold:.2f}",
                               color=str(0.8 * t / max(len(thresholds) - 1, 1)))
    per_threshold.set_title("mean over classes, per IoU threshold", fontsize=10)
    for axes in (per_class, per_threshold):
        axes.set_xlabel("recall")
        axes.set_ylabel("precision (interpolated)")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.legend(loc="lower left", fontsize=6)
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure
