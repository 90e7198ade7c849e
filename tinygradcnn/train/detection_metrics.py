"""COCO's detection metric: mean average precision over IoU thresholds, as pycocotools'
COCOeval computes it for boxes (area "all", at most 100 detections per image and class).

    result = mean_average_precision(predictions, targets)
    result["map"], result["map_50"], result["map_75"], result["map_per_class"]

How COCOeval gets there, step by step (each step is mirrored below, ties included):
1. Per image and class, detections are ranked by score (stable) and cut to `max_detections`.
2. At each IoU threshold t, each detection in rank order takes the unmatched ground-truth box
   it overlaps most, if that IoU is >= t: a true positive; otherwise a false positive.
3. Per class, all images' detections are ranked together by score; running sums give
   precision and recall after each one; precision is made non-increasing from the right
   (the "interpolated" precision), then read at the 101 recall levels 0, 0.01, ..., 1 (the
   first detection reaching each level; 0 past the last recall reached).
4. AP is the mean of those 101 values; a class with no ground truth has none (-1) and is
   left out of every mean. AP@[.5:.95] averages over the thresholds .50, .55, ..., .95.

Boxes are x1, y1, x2, y2 (torchvision's layout); IoU is computed as COCO does from x, y,
width, height, with no +1 on the pixel sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)


def _array(value, dtype) -> np.ndarray:
    value = value.numpy() if hasattr(value, "numpy") else value
    return np.asarray(value, dtype=dtype)


def _read(op: str, name: str, items: Sequence[Mapping[str, Any]], keys: tuple[str, ...]
          ) -> list[dict[str, np.ndarray]]:
    read = []
    for index, item in enumerate(items):
        missing = [key for key in keys if key not in item]
        if missing:
            raise ValueError(f"{op}: {name}[{index}] has no {', '.join(missing)} "
                             f"(it needs {', '.join(keys)})")
        entry = {"boxes": _array(item["boxes"], np.float64).reshape(-1, 4),
                 "labels": _array(item["labels"], np.int64).reshape(-1)}
        if "scores" in keys:
            entry["scores"] = _array(item["scores"], np.float64).reshape(-1)
        sizes = {value.shape[0] for value in entry.values()}
        if len(sizes) != 1:
            counts = ", ".join(f"{len(value)} {key}" for key, value in entry.items())
            raise ValueError(f"{op}: {name}[{index}] has {counts} (one each per box)")
        read.append(entry)
    return read


def coco_box_iou(detections: np.ndarray, truths: np.ndarray) -> np.ndarray:
    """IoU (D, G) of boxes x1, y1, x2, y2 the way pycocotools' `maskUtils.iou` computes it
    (from x, y, w, h, in float64; non-crowd)."""
    dx, dy = detections[:, 0:1], detections[:, 1:2]
    dw, dh = detections[:, 2:3] - dx, detections[:, 3:4] - dy
    gx, gy = truths[:, 0], truths[:, 1]
    gw, gh = truths[:, 2] - gx, truths[:, 3] - gy
    width = np.minimum(dx + dw, gx + gw) - np.maximum(dx, gx)
    height = np.minimum(dy + dh, gy + gh) - np.maximum(dy, gy)
    inter = np.where((width > 0) & (height > 0), width * height, 0.0)
    union = dw * dh + gw * gh - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


def _match(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(T, D) bool: detection d (in rank order) is a true positive at threshold t (COCOeval's
    greedy matching, every ground truth counted, none crowd or ignored)."""
    matched = np.zeros((thresholds.size, ious.shape[0]), dtype=bool)
    for t, threshold in enumerate(thresholds):
        taken = np.zeros(ious.shape[1], dtype=bool)
        for d in range(ious.shape[0]):
            best, found = min(threshold, 1 - 1e-10), -1
            for g in range(ious.shape[1]):
                if taken[g] or ious[d, g] < best:
                    continue
                best, found = ious[d, g], g
            if found >= 0:
                taken[found] = matched[t, d] = True
    return matched


def _precision_at_recalls(scores: np.ndarray, hits: np.ndarray, truths: int,
                          recall_thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """COCO's interpolated precision at each recall threshold, the score there, and the last
    recall, for detections `scores`, `hits` (true positive) of one class at one threshold."""
    tp = np.cumsum(hits, dtype=np.float64)
    fp = np.cumsum(~hits, dtype=np.float64)
    recall = tp / truths
    precision = tp / (fp + tp + np.spacing(1))
    # the precision envelope: the best precision at this recall or beyond
    precision = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
    at = np.searchsorted(recall, recall_thresholds, side="left")
    reached = at < precision.size
    q = np.zeros(recall_thresholds.size)
    s = np.zeros(recall_thresholds.size)
    # COCOeval fills levels in order and stops at the first one past the last detection
    stop = int(np.argmin(reached)) if not reached.all() else reached.size
    q[:stop], s[:stop] = precision[at[:stop]], scores[at[:stop]]
    return q, s, float(recall[-1]) if recall.size else 0.0


def mean_average_precision(predictions: Sequence[Mapping[str, Any]],
                           targets: Sequence[Mapping[str, Any]],
                           iou_thresholds: Sequence[float] | None = None,
                           max_detections: int = 100) -> dict[str, Any]:
    """COCO box AP of per-image `predictions` against `targets` (see the module docstring).

    Args:
        predictions: one dict per image with `boxes` (D, 4) x1, y1, x2, y2, `scores` (D,),
            `labels` (D,) (Tensors or arrays), as torchvision's detectors return them.
        targets: one dict per image with `boxes` (G, 4) and `labels` (G,).
        iou_thresholds: default COCO's .50:.05:.95.
        max_detections: detections kept per image and class, best first (COCO: 100).

    Returns a dict: `map` (AP averaged over the thresholds), `map_50` and `map_75` (AP at IoU
    .5 and .75, -1 when not among the thresholds), `map_per_class` {label: AP or -1},
    `classes` (K,), `iou_thresholds` (T,), `recall_thresholds` (R = 101,), `precision`
    (T, R, K) the interpolated precision curves (-1 for a class without ground truth),
    `scores` (T, R, K) the score at each point, `recall` (T, K) the recall finally reached.
    """
    op = "mean_average_precision"
    if len(predictions) != len(targets):
        raise ValueError(f"{op}: {len(predictions)} predictions for {len(targets)} targets "
                         "(one dict per image each)")
    thresholds = np.asarray(COCO_IOU_THRESHOLDS if iou_thresholds is None else iou_thresholds,
                            dtype=np.float64).reshape(-1)
    if thresholds.size == 0 or np.any((thresholds < 0) | (thresholds > 1)):
        raise ValueError(f"{op}: iou_thresholds must be values in [0, 1], got {thresholds}")
    detected = _read(op, "predictions", predictions, ("boxes", "scores", "labels"))
    truth = _read(op, "targets", targets, ("boxes", "labels"))
    classes = np.unique(np.concatenate([e["labels"] for e in truth + detected] + [[]]))
    classes = classes.astype(np.int64)
    recall_thresholds = COCO_RECALL_THRESHOLDS
    shape = (thresholds.size, recall_thresholds.size, classes.size)
    precision, at_scores = -np.ones(shape), -np.ones(shape)
    recall = -np.ones((thresholds.size, classes.size))
    for k, label in enumerate(classes):
        scores, hits, truths = [], [], 0
        for found, true in zip(detected, truth, strict=True):
            truth_boxes = true["boxes"][true["labels"] == label]
            mine = found["labels"] == label
            order = np.argsort(-found["scores"][mine], kind="mergesort")[:max_detections]
            boxes, image_scores = found["boxes"][mine][order], found["scores"][mine][order]
            truths += truth_boxes.shape[0]
            scores.append(image_scores)
            hits.append(_match(coco_box_iou(boxes, truth_boxes), thresholds))
        if truths == 0:
            continue
        all_scores = np.concatenate(scores)
        rank = np.argsort(-all_scores, kind="mergesort")
        all_hits = np.concatenate(hits, axis=1)[:, rank]
        for t in range(thresholds.size):
            precision[t, :, k], at_scores[t, :, k], recall[t, k] = _precision_at_recalls(
                all_scores[rank], all_hits[t], truths, recall_thresholds)

    def mean(values: np.ndarray) -> float:
        valid = values[values > -1]
        return float(valid.mean()) if valid.size else -1.0

    def at_threshold(value: float) -> float:
        index = np.flatnonzero(np.abs(thresholds - value) < 1e-12)
        return mean(precision[index]) if index.size else -1.0

    return {"map": mean(precision), "map_50": at_threshold(0.5), "map_75": at_threshold(0.75),
            "map_per_class": {int(label): mean(precision[:, :, k])
                              for k, label in enumerate(classes)},
            "classes": classes, "iou_thresholds": thresholds,
            "recall_thresholds": recall_thresholds, "precision": precision,
            "scores": at_scores, "recall": recall}


def format_detection_metrics(result: Mapping[str, Any], class_names: Sequence[str] | None = None
                             ) -> str:
    """The metrics table a detection run prints: AP@[.5:.95], AP@.5, AP@.75, then AP per
    class (as percentages; "-" for a class without ground truth)."""
    def percent(value: float) -> str:
        return f"{'-':>5}" if value < 0 else f"{100 * value:5.1f}"

    lines = [f"AP@[.5:.95]  {percent(result['map'])}", f"AP@.5        {percent(result['map_50'])}",
             f"AP@.75       {percent(result['map_75'])}", "AP per class (AP@[.5:.95]):"]
    for label, value in result["map_per_class"].items():
        name = class_names[label] if class_names is not None and label < len(class_names) \
            else str(label)
        lines.append(f"  {name:<12} {percent(value)}")
    return "\n".join(lines)
