"""Sorting on the CPU: every line of an array along one axis sorted on its own, with indices.

The array is viewed as ``(outer, n, inner)`` with the sorted axis in the middle, so no
transpose is needed: each of the ``outer * inner`` lines is a strided view. The sort is
stable (NumPy's merge sort, as ``torch.sort(stable=True)``) and puts NaN last, or first
when descending, as PyTorch does.
"""

import numpy as np
from numba import prange

from .launch import threaded


@threaded
def _sort_kernel(x, descending, values, indices):
    outer, n, inner = x.shape
    for task in prange(outer * inner):
        o, k = task // inner, task % inner
        line = x[o, :, k]
        if descending:
            # a stable ascending sort of the reversed line, read backwards, is a stable
            # descending sort of the line (ties keep their order; NaN comes first)
            order = n - 1 - np.argsort(line[::-1], kind="mergesort")[::-1]
        else:
            order = np.argsort(line, kind="mergesort")
        for j in range(n):
            indices[o, j, k] = order[j]
            values[o, j, k] = line[order[j]]


@threaded
def _sort_backward_kernel(grad, indices, out):
    outer, n, inner = grad.shape
    for task in prange(outer * inner):
        o, k = task // inner, task % inner
        for j in range(n):
            out[o, indices[o, j, k], k] = grad[o, j, k]


def _lines(shape, axis: int) -> tuple[int, int, int]:
    return (int(np.prod(shape[:axis], dtype=np.int64)), shape[axis],
            int(np.prod(shape[axis + 1 :], dtype=np.int64)))


def sort_forward(x: np.ndarray, axis: int, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """``x`` sorted along ``axis`` and the int64 index each value came from (same shape)."""
    values = np.empty_like(x)
    indices = np.empty(x.shape, dtype=np.int64)
    if x.size:
        view = _lines(x.shape, axis)
        _sort_kernel(x.reshape(view), bool(descending), values.reshape(view),
                     indices.reshape(view))
    return values, indices


def sort_backward(grad: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    """The gradient of ``sort``: ``grad`` put back where each value came from (an inverse
    permutation of every line, so nothing accumulates)."""
    out = np.empty_like(grad)
    if grad.size:
        view = _lines(grad.shape, axis)
        _sort_backward_kernel(grad.reshape(view), indices.reshape(view), out.reshape(view))
    return out
