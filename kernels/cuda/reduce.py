"""Reductions on the GPU: sum, max and min over any set of axes, and argmax over one.

As on the CPU, a reduction is one pass per run of neighbouring reduced axes over a
``(outer, reduced, inner)`` view. A pass is a shared-memory tree reduction: a block is
``BX x BY`` threads; the ``BX`` threads of a row take ``BX`` neighbouring ``inner`` columns
(coalesced loads), the ``BY`` rows split the reduced axis between them, and the ``BY``
partial results of each column are then combined in ``log2(BY)`` halving steps in shared
memory. With ``inner == 1`` (a full reduction) all the block's threads split the reduced
axis. Sums accumulate in float64, as on the CPU.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float64, int64

from ..scalar import REDUCTIONS
from .launch import MAX_BLOCKS, REDUCE_THREADS, device_function
from .memory import copy

_WIDTH = REDUCE_THREADS  # threads of a block (BX * BY), a power of two


# One kernel per reduction, around its ``combine`` from ``kernels/scalar.py`` (a constant of
# the compiled kernel, as for the elementwise ops).
@functools.cache
def _reduce_kernel(op: str):
    combine = device_function(REDUCTIONS[op][0])
    initial = REDUCTIONS[op][1]

    @cuda.jit(cache=True)
    def kernel(x, out, column_blocks):
        """Block ``(o, column block)``: thread (tx, ty) folds ``x[o, ty::BY, column]`` for its
        column ``column_block * BX + tx``, then the BY partials of each column are combined by a
        tree in shared memory and row 0 writes ``out[o, column]``. Grid-stride over blocks."""
        partial = cuda.shared.array(_WIDTH, float64)
        outer, reduced, inner = x.shape
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        bx, by = cuda.blockDim.x, cuda.blockDim.y
        slot = ty * bx + tx
        for task in range(cuda.blockIdx.x, outer * column_blocks, cuda.gridDim.x):
            o = task // column_blocks
            column = (task - o * column_blocks) * bx + tx
            acc = initial
            if column < inner:
                for r in range(ty, reduced, by):
                    acc = combine(acc, float64(x[o, r, column]))
            partial[slot] = acc
            cuda.syncthreads()
            half = by // 2
            while half > 0:
                if ty < half:
                    partial[slot] = combine(partial[slot], partial[slot + half * bx])
                cuda.syncthreads()
                half //= 2
            if ty == 0 and column < inner:
                out[o, column] = partial[tx]
            cuda.syncthreads()  # the next task reuses ``partial``

    return kernel


@cuda.jit(cache=True)
def _argmax_kernel(x, out, column_blocks):
    """As ``_reduce_kernel`` with (value, index) pairs; ties keep the smaller index."""
    best = cuda.shared.array(_WIDTH, float64)
    where = cuda.shared.array(_WIDTH, int64)
    outer, reduced, inner = x.shape
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    bx, by = cuda.blockDim.x, cuda.blockDim.y
    slot = ty * bx + tx
    for task in range(cuda.blockIdx.x, outer * column_blocks, cuda.gridDim.x):
        o = task // column_blocks
        column = (task - o * column_blocks) * bx + tx
        value, index = -math.inf, reduced
        if column < inner:
            for r in range(ty, reduced, by):
                candidate = float64(x[o, r, column])
                if candidate > value or index == reduced:
                    value, index = candidate, r
        best[slot] = value
        where[slot] = index
        cuda.syncthreads()
        half = by // 2
        while half > 0:
            if ty < half:
                other = slot + half * bx
                tie_first = best[other] == best[slot] and where[other] < where[slot]
                if best[other] > best[slot] or tie_first:
                    best[slot] = best[other]
                    where[slot] = where[other]
            cuda.syncthreads()
            half //= 2
        if ty == 0 and column < inner:
            out[o, column] = where[tx]
        cuda.syncthreads()


def _block_shape(inner: int) -> tuple[int, int]:
    """(BX, BY): up to a warp of neighbouring columns, the rest of the block on the rows."""
    bx = 1
    while bx < min(inner, 32, _WIDTH):
        bx *= 2
    return bx, _WIDTH // bx


def _runs(axes: tuple[int, ...]) -> list[tuple[int, int]]:
    """Sorted axes grouped into runs of neighbours: (0, 2, 3) -> [(0, 0), (2, 3)]."""
    runs: list[tuple[int, int]] = []
    for axis in sorted(axes):
        if runs and runs[-1][1] == axis - 1:
            runs[-1] = (runs[-1][0], axis)
        else:
            runs.append((axis, axis))
    return runs


def _product(sizes) -> int:
    return int(np.prod(sizes, dtype=np.int64))


def reduce(op: str, x, axes: tuple[int, ...], keepdim: bool = False):
    """Reduce ``x`` with ``op`` ("sum", "max", "min") over non-negative ``axes``.

    (d0, ..., dn) -> the same shape with the reduced axes set to 1 (``keepdim``) or removed.
    """
    if not axes:
        return copy(x)
    shape = list(x.shape)
    out_dtype = x.dtype if x.dtype.kind == "f" else (np.dtype(np.int64) if op == "sum" else x.dtype)
    for first, last in reversed(_runs(axes)):
        outer = _product(shape[:first])
        reduced = _product(shape[first : last + 1])
        inner = _product(shape[last + 1 :])
        out = cuda.device_array((outer, inner), dtype=out_dtype)
        if out.size:
            x3 = x.reshape(outer, reduced, inner)
            bx, by = _block_shape(inner)
            column_blocks = math.ceil(inner / bx)
            blocks = max(1, min(outer * column_blocks, MAX_BLOCKS * 4))
            _reduce_kernel(op)[blocks, (bx, by)](x3, out, column_blocks)
        shape[first : last + 1] = [1] * (last + 1 - first)
        x = out.reshape(shape)
    if not keepdim:
        x = x.reshape(tuple(size for axis, size in enumerate(shape) if axis not in axes))
    return x


def argmax(x, axis: int, keepdim: bool = False):
    """Index of the first largest value along ``axis`` (int64)."""
    outer, inner = _product(x.shape[:axis]), _product(x.shape[axis + 1 :])
    out = cuda.device_array((outer, inner), dtype=np.int64)
    if out.size:
        bx, by = _block_shape(inner)
        column_blocks = math.ceil(inner / bx)
        blocks = max(1, min(outer * column_blocks, MAX_BLOCKS * 4))
        _argmax_kernel[blocks, (bx, by)](x.reshape(outer, x.shape[axis], inner), out, column_blocks)
    shape = list(x.shape)
    if keepdim:
        shape[axis] = 1
    else:
        del shape[axis]
    return out.reshape(tuple(shape))
