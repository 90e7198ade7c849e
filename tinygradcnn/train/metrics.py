"""Metrics of a trained classifier, as plain functions of NumPy arrays (or Tensors).

    accuracy(logits, labels)                       # fraction of rows whose argmax is the label
    confusion_matrix(predictions, labels, 10)      # (10, 10) counts, rows = true class

Each metric is one function taking predictions/outputs and targets and returning numbers;
a new metric (mean average precision, ROC and equal error rate) is one more function here.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _as_array(values) -> np.ndarray:
    return values.numpy() if isinstance(values, Tensor) else np.asarray(values)


def count_correct(output, labels, threshold: float | None = None) -> tuple[int, int]:
    """(number correct, number counted) of a classifier's `output` against `labels`.

    Two kinds of classification are recognised:

    - class scores (N, C), C >= 2, with integer labels (N,): the argmax of each row is the
      guess; scores (N, C, *d) with labels (N, *d) (a class per pixel) count per element;
    - with `threshold` set (binary or multi-label, e.g. 0.0 for BCEWithLogitsLoss logits),
      `output > threshold` is compared with `labels > 0.5`, element by element, for any
      shape that the two share ((N, 1) outputs may have (N,) labels).

    Anything else (a regression, float targets, a single output column) is not
    classification: a ValueError says why, naming the shapes and dtypes.
    """
    output, labels = _as_array(output), _as_array(labels)
    if threshold is not None:
        if output.shape != labels.shape and output.shape != (*labels.shape, 1):
            raise ValueError(f"accuracy: binary output of shape {output.shape} does not match "
                             f"labels of shape {labels.shape}")
        guesses = output.reshape(labels.shape) > threshold
        return int((guesses == (labels > 0.5)).sum()), int(labels.size)
    if output.ndim < 2 or output.shape[1] < 2:
        raise ValueError(f"accuracy: output of shape {output.shape} holds no class scores "
                         "(expected (N, C) class scores with C >= 2, or a threshold for "
                         "binary outputs, as fit uses with BCEWithLogitsLoss)")
    expected = (output.shape[0], *output.shape[2:])
    if labels.dtype.kind not in "iu" or labels.shape != expected:
        raise ValueError(f"accuracy: output {output.shape} with {labels.dtype} labels "
                         f"{labels.shape} is not classification (expected integer labels "
                         f"of shape {expected})")
    return int((output.argmax(axis=1) == labels).sum()), int(labels.size)


def accuracy(output, labels, threshold: float | None = None) -> float:
    """Fraction of correct predictions (see `count_correct` for what counts as correct):
    logits (N, C) and integer labels (N,) -> float in [0, 1]."""
    correct, counted = count_correct(output, labels, threshold)
    return correct / max(counted, 1)


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_classes: int
                     ) -> np.ndarray:
    """(num_classes, num_classes) counts: row = true class, column = predicted class.

    predictions (N,) and labels (N,) integer class indices -> (C, C) int64."""
    predictions, labels = _as_array(predictions), _as_array(labels)
    for name, values in (("predictions", predictions), ("labels", labels)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} hold classes {values.min()}.."
                             f"{values.max()}, outside 0..{num_classes - 1} "
                             f"(num_classes={num_classes})")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def format_confusion_matrix(matrix: np.ndarray, class_names=None) -> str:
    """The (C, C) confusion matrix as a text table (rows: true class, columns: predicted)."""
    n = matrix.shape[0]
    names = [str(name) for name in (class_names or range(n))]
    short = [name[:6] for name in names]
    width = max(5, len(str(matrix.max())) + 1, *(len(s) + 1 for s in short))
    label_width = max(11, *(len(name) + 1 for name in names))
    lines = ["true\\pred".ljust(label_width) + "".join(s.rjust(width) for s in short)]
    for name, row in zip(names, matrix, strict=True):
        lines.append(name.ljust(label_width) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


# --------------------------------------------------------------------------- verification


def _binary_scores(op: str, labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = _as_array(labels).ravel(), _as_array(scores).ravel().astype(np.float64)
    if labels.shape != scores.shape:
        raise ValueError(f"{op}: labels of shape {labels.shape} and scores of shape "
                         f"{scores.shape} differ")
    positives = labels.astype(bool)
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{op}: labels must be 0 or 1 (impostor or genuine)")
    if positives.all() or not positives.any():
        raise ValueError(f"{op}: needs both positive and negative labels "
                         f"({int(positives.sum())} of {labels.size} are positive)")
    return positives, scores


def roc_curve(labels, scores, drop_intermediate: bool = True
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The receiver operating characteristic, as scikit-learn's `roc_curve`: labels (N,) 0/1
    and scores (N,) (higher = more likely positive) -> (fpr, tpr, thresholds), each (K,).

    Point k accepts every score >= thresholds[k]; the first point (threshold inf) accepts
    nothing. Ties share one point. `drop_intermediate` drops the points on straight lines,
    which change neither the curve nor its area."""
    return _roc_points("roc_curve", labels, scores, drop_intermediate)


def _roc_points(op: str, labels, scores, drop_intermediate: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    positives, scores = _binary_scores(op, labels, scores)
    order = np.argsort(-scores, kind="mergesort")
    scores, positives = scores[order], positives[order]
    # the last index of every run of equal scores: a threshold accepts a whole tie
    ends = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    true_pos = np.cumsum(positives)[ends]
    false_pos = 1 + ends - true_pos
    thresholds = scores[ends]
    if drop_intermediate and true_pos.size > 2:
        keep = np.r_[True, np.logical_or(np.diff(false_pos, 2), np.diff(true_pos, 2)), True]
        true_pos, false_pos, thresholds = true_pos[keep], false_pos[keep], thresholds[keep]
    true_pos, false_pos = np.r_[0, true_pos], np.r_[0, false_pos]
    thresholds = np.r_[np.inf, thresholds]
    return false_pos / false_pos[-1], true_pos / true_pos[-1], thresholds


def roc_auc_score(labels, scores) -> float:
    """Area under the ROC curve (trapezoids), as scikit-learn's `roc_auc_score` for binary
    labels: the probability that a random positive scores above a random negative (ties
    count half). labels (N,) 0/1, scores (N,) -> float in [0, 1]."""
    fpr, tpr, _ = _roc_points("roc_auc_score", labels, scores, drop_intermediate=False)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def equal_error_rate(labels, scores) -> tuple[float, float]:
    """The equal error rate of a verifier: where the false accept rate (FPR) equals the
    false reject rate (1 - TPR). labels (N,) 0/1, scores (N,) -> (eer, threshold).

    Between the two ROC points where FNR - FPR changes sign the curve is a straight line;
    the EER is where that line crosses FPR = FNR, and the threshold is the score of the
    point nearer to it."""
    fpr, tpr, thresholds = _roc_points("equal_error_rate", labels, scores, False)
    fnr = 1.0 - tpr
    gap = fnr - fpr  # decreasing from 1 at threshold inf to -1 where everything is accepted
    k = int(np.flatnonzero(gap <= 0)[0])
    if gap[k] == 0:
        return float(fpr[k]), float(thresholds[k])
    # linear interpolation between points k-1 (gap > 0) and k (gap <= 0)
    t = gap[k - 1] / (gap[k - 1] - gap[k])
    eer = fpr[k - 1] + t * (fpr[k] - fpr[k - 1])
    threshold = thresholds[k] if t >= 0.5 else thresholds[k - 1]
    return float(eer), float(threshold)


# detection's metric has a file of its own; `metrics.mean_average_precision` reaches it here
from .detection_metrics import mean_average_precision as mean_average_precision  # noqa: E402
