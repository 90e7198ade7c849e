"""The confusion matrix as a heat map."""

from __future__ import annotations

import os

import numpy as np

from ..atomic import save_figure
from ._figure import new_figure


def plot_confusion_matrix(matrix: np.ndarray, path: str | os.PathLike | None = None,
                          class_names=None, title: str | None = None):
    """Draw the (C, C) confusion matrix as a heat map with the counts written in the cells
    (rows: true class, columns: predicted); saved to `path` if given.

    The colour is the share of each true class, so a rare class's mistakes still show.
    Returns the matplotlib Figure.
    """
    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    names = [str(name) for name in (class_names or range(n))]
    figure = new_figure("plot_confusion_matrix", figsize=(1.2 + 0.55 * n, 1.0 + 0.5 * n),
                        layout="constrained")
    axes = figure.subplots()
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for row in range(n):
        for column in range(n):
            if matrix[row, column]:
                axes.text(column, row, str(matrix[row, column]), ha="center", va="center",
                          fontsize=8, color="white" if shares[row, column] > 0.5 else "black")
    long_names = max(map(len, names)) > 2
    axes.set_xticks(range(n), names, rotation=45 if long_names else 0,
                    ha="right" if long_names else "center")
    axes.set_yticks(range(n), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axes.set_title(f"{title + ': ' if title else ''}accuracy {100 * accuracy:.2f}%", fontsize=10)
    if path is not None:
        save_figure(figure, path, dpi=120)
    return figure
