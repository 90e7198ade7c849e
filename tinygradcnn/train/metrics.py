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
