"""Scans on the CPU: the running sum along one axis (``cumsum``), forwards or backwards.

The array is viewed as ``(outer, n, inner)`` with the scanned axis in the middle; each outer
slice keeps a row of ``inner`` running totals, so the loop reads whole contiguous rows.
Floats accumulate in float64 (as PyTorch's CPU kernel), integers in int64.
"""

import numpy as np
from numba import prange

from .launch import threaded


@threaded
def _cumsum_kernel(x, reverse, totals, out):
    outer, n, inner = x.shape
    for o in prange(outer):
        acc = totals[o]
        for step in range(n):
            r = n - 1 - step if reverse else step
            for k in range(inner):
                acc[k] += x[o, r, k]
                out[o, r, k] = acc[k]


def cumsum(x: np.ndarray, axis: int, reverse: bool = False) -> np.ndarray:
    """Running sums along ``axis`` (from the end when ``reverse``); same shape and dtype.

    [1, 2, 3] -> [1, 3, 6]; reversed -> [6, 5, 3] (the gradient of a cumsum).
    """
    out = np.empty_like(x)
    if x.size:
        outer = int(np.prod(x.shape[:axis], dtype=np.int64))
        inner = int(np.prod(x.shape[axis + 1 :], dtype=np.int64))
        view = (outer, x.shape[axis], inner)
        totals = np.zeros((outer, inner), np.float64 if x.dtype.kind == "f" else np.int64)
        _cumsum_kernel(x.reshape(view), bool(reverse), totals, out.reshape(view))
    return out
