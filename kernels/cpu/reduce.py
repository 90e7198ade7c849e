"""Reductions on the CPU: sum, max and min over any set of axes, and argmax over one.

Any reduction is done as one or more passes over a ``(outer, reduced, inner)`` view, one
pass per run of neighbouring reduced axes (``(0, 2, 3)`` of an NCHW batch is two passes).
Sums accumulate in float64 so float32 results do not drift with the reduced size.
"""

import functools

import numpy as np
from numba import prange

from ..scalar import REDUCTIONS
from .launch import device_function, threaded

_BLOCK = 256


# One kernel per reduction, around its ``combine`` from ``kernels/scalar.py`` (a constant of
# the compiled loop, as for the elementwise ops).
@functools.cache
def _reduce_kernel(op: str):
    combine = device_function(REDUCTIONS[op][0])
    initial = REDUCTIONS[op][1]

    @threaded
    def kernel(x, out):
        outer, reduced, inner = x.shape
        if inner == 1:
            for o in prange(outer):
                acc = initial
                for r in range(reduced):
                    acc = combine(acc, np.float64(x[o, r, 0]))
                out[o, 0] = acc
        else:
            # Walk rows in memory order and keep a block of running results, so the inner
            # loop is contiguous and the blocks give parallel work even when outer == 1.
            blocks = (inner + _BLOCK - 1) // _BLOCK
            for task in prange(outer * blocks):
                o, start = task // blocks, (task % blocks) * _BLOCK
                stop = min(start + _BLOCK, inner)
                acc = np.full(stop - start, initial)
                for r in range(reduced):
                    for k in range(start, stop):
                        acc[k - start] = combine(acc[k - start], np.float64(x[o, r, k]))
                for k in range(start, stop):
                    out[o, k] = acc[k - start]

    return kernel


@threaded
def _argmax_kernel(x, out):
    outer, reduced, inner = x.shape
    for task in prange(outer * inner):
        o, k = task // inner, task % inner
        best, best_index = x[o, 0, k], 0
        for r in range(1, reduced):
            if x[o, r, k] > best:
                best, best_index = x[o, r, k], r
        out[o, k] = best_index


def _runs(axes: tuple[int, ...]) -> list[tuple[int, int]]:
    """Sorted axes grouped into runs of neighbours: (0, 2, 3) -> [(0, 0), (2, 3)]."""
    runs: list[tuple[int, int]] = []
    for axis in sorted(axes):
        if runs and runs[-1][1] == axis - 1:
            runs[-1] = (runs[-1][0], axis)
        else:
            runs.append((axis, axis))
    return runs


def reduce(op: str, x: np.ndarray, axes: tuple[int, ...], keepdim: bool = False) -> np.ndarray:
    """Reduce ``x`` with ``op`` ("sum", "max", "min") over non-negative ``axes``.

    (d0, ..., dn) -> the same shape with the reduced axes set to 1 (``keepdim``) or removed.
    """
    if not axes:
        return x.copy()
    shape = list(x.shape)
    out_dtype = x.dtype if x.dtype.kind == "f" else (np.int64 if op == "sum" else x.dtype)
    for first, last in reversed(_runs(axes)):
        outer = int(np.prod(shape[:first]))
        reduced = int(np.prod(shape[first : last + 1]))
        inner = int(np.prod(shape[last + 1 :]))
        out = np.empty((outer, inner), dtype=out_dtype)
        _reduce_kernel(op)(x.reshape(outer, reduced, inner), out)
        shape[first : last + 1] = [1] * (last + 1 - first)
        x = out.reshape(shape)
    if not keepdim:
        x = x.reshape([size for axis, size in enumerate(shape) if axis not in axes])
    return x


def argmax(x: np.ndarray, axis: int, keepdim: bool = False) -> np.ndarray:
    """Index of the first largest value along ``axis`` (int64)."""
    outer, inner = int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis + 1 :]))
    out = np.empty((outer, inner), dtype=np.int64)
    _argmax_kernel(x.reshape(outer, x.shape[axis], inner), out)
    shape = list(x.shape)
    if keepdim:
        shape[axis] = 1
    else:
        del shape[axis]
    return out.reshape(shape)
