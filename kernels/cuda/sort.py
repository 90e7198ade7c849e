"""Sorting on the GPU: every line of an array along one axis sorted on its own, with indices.

As on the CPU, the array is viewed as ``(outer, n, inner)`` and each of the ``outer * inner``
lines is sorted independently: one thread per line runs a bottom-up merge sort of the line's
indices, ping-ponging between two halves of a scratch buffer. Merging takes from the left
run unless the right value comes strictly first, so the sort is stable, and NaN sorts last
(first when descending), as in PyTorch. One thread per line suits the many short lines of
class scores (top-k of logits); a line of millions would want a block-wide sort.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .launch import grid_1d


@cuda.jit(device=True, inline=True, cache=True)
def _comes_first(a, b, descending):
    """Whether value ``a`` sorts strictly before ``b`` (NaN is the largest value)."""
    if descending:
        return a > b or (math.isnan(a) and not math.isnan(b))
    return a < b or (math.isnan(b) and not math.isnan(a))


@cuda.jit(cache=True)
def _sort_kernel(x, descending, scratch, values, indices):
    """One thread sorts line (o, k) = x[o, :, k]: indices merge-sorted in ``scratch[0|1]``,
    then the values gathered through them."""
    outer, n, inner = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for task in range(start, outer * inner, stride):
        o, k = task // inner, task % inner
        for j in range(n):
            scratch[0, o, j, k] = j
        source = 0
        width = 1
        while width < n:
            target = 1 - source
            for low in range(0, n, 2 * width):
                middle = min(low + width, n)
                high = min(low + 2 * width, n)
                left, right = low, middle
                for t in range(low, high):
                    take_left = left < middle and (
                        right >= high
                        or not _comes_first(x[o, scratch[source, o, right, k], k],
                                            x[o, scratch[source, o, left, k], k], descending)
                    )
                    if take_left:
                        scratch[target, o, t, k] = scratch[source, o, left, k]
                        left += 1
                    else:
                        scratch[target, o, t, k] = scratch[source, o, right, k]
                        right += 1
            source = target
            width *= 2
        for j in range(n):
            index = scratch[source, o, j, k]
            indices[o, j, k] = index
            values[o, j, k] = x[o, index, k]


@cuda.jit(cache=True)
def _sort_backward_kernel(grad, indices, out):
    """One thread scatters each of its elements back to where its value came from."""
    outer, n, inner = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, outer * n * inner, stride):
        o, rest = i // (n * inner), i % (n * inner)
        j, k = rest // inner, rest % inner
        out[o, indices[o, j, k], k] = grad[o, j, k]


def _lines(shape, axis: int) -> tuple[int, int, int]:
    return (int(np.prod(shape[:axis], dtype=np.int64)), shape[axis],
            int(np.prod(shape[axis + 1 :], dtype=np.int64)))


def sort_forward(x, axis: int, descending: bool):
    """``x`` sorted along ``axis`` and the int64 index each value came from (same shape)."""
    values = cuda.device_array(x.shape, dtype=x.dtype)
    indices = cuda.device_array(x.shape, dtype=np.int64)
    if x.size:
        view = _lines(x.shape, axis)
        scratch = cuda.device_array((2, *view), dtype=np.int64)
        blocks, threads = grid_1d(view[0] * view[2])
        _sort_kernel[blocks, threads](x.reshape(view), bool(descending), scratch,
                                      values.reshape(view), indices.reshape(view))
    return values, indices


def sort_backward(grad, indices, axis: int):
    """The gradient of ``sort``: ``grad`` put back where each value came from (an inverse
    permutation of every line, so nothing accumulates)."""
    out = cuda.device_array(grad.shape, dtype=grad.dtype)
    if grad.size:
        view = _lines(grad.shape, axis)
        blocks, threads = grid_1d(grad.size)
        _sort_backward_kernel[blocks, threads](grad.reshape(view), indices.reshape(view),
                                               out.reshape(view))
    return out
