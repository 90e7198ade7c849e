"""Scans on the GPU: the running sum along one axis (``cumsum``), forwards or backwards.

As on the CPU, the array is viewed as ``(outer, n, inner)``. One thread scans one line
(o, k) sequentially; neighbouring threads take neighbouring ``k``, so each step's loads are
coalesced when ``inner`` is large. Floats accumulate in float64, integers in int64 (the
running totals live in a buffer of that dtype, one per line).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .launch import grid_1d


@cuda.jit(cache=True)
def _cumsum_kernel(x, reverse, totals, out):
    """One thread runs the sum of line (o, k) = x[o, :, k] into ``out``."""
    outer, n, inner = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for task in range(start, outer * inner, stride):
        o, k = task // inner, task % inner
        for step in range(n):
            r = n - 1 - step if reverse else step
            totals[o, k] += x[o, r, k]
            out[o, r, k] = totals[o, k]


def cumsum(x, axis: int, reverse: bool = False):
    """Running sums along ``axis`` (from the end when ``reverse``); same shape and dtype.

    [1, 2, 3] -> [1, 3, 6]; reversed -> [6, 5, 3] (the gradient of a cumsum).
    """
    out = cuda.device_array(x.shape, dtype=x.dtype)
    if x.size:
        outer = int(np.prod(x.shape[:axis], dtype=np.int64))
        inner = int(np.prod(x.shape[axis + 1 :], dtype=np.int64))
        view = (outer, x.shape[axis], inner)
        totals = cuda.to_device(
            np.zeros((outer, inner), np.float64 if x.dtype.kind == "f" else np.int64))
        blocks, threads = grid_1d(outer * inner)
        _cumsum_kernel[blocks, threads](x.reshape(view), bool(reverse), totals,
                                        out.reshape(view))
    return out
