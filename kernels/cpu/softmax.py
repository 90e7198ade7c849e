"""Softmax and log-softmax over one dimension: forward and backward (Numba, CPU).

Every entry point views its contiguous input as ``(outer, D, inner)``, where ``D`` is the size
of the softmax dimension, ``outer`` the product of the sizes before it and ``inner`` the product
of the sizes after it. Two loop orders, both over contiguous memory so that LLVM vectorises:

- ``inner == 1`` (softmax over the last dimension, the classifier case): one row of ``D``
  values at a time, rows in parallel.
- ``inner > 1`` (softmax over channels of ``(N, C, H, W)``): a block of up to ``_BLOCK``
  neighbouring positions ``i`` at a time, walking ``d`` in the outer loop and ``i`` in the
  inner one; per-position running maxima and sums live in two small per-block buffers.

Stability: the exponential only ever sees ``x - max <= 0``, so logits of 1e4 neither overflow
nor turn into ``inf - inf = nan``. The exponential is ``vector_math.exp`` in float64: unlike
libm's it inlines and vectorises, which is most of the speed here.
"""

import numpy as np
from numba import prange

from .launch import threaded
from .vector_math import exp

Array = np.ndarray

_BLOCK = 256
_FASTMATH = {"reassoc", "contract"}  # lets the sums vectorise; no effect on inf/nan handling

def _lanes(shape: tuple[int, ...], dim: int) -> tuple[int, int, int]:
    """(outer, D, inner) for a softmax over ``dim`` of a C-contiguous array of ``shape``."""
    if not shape:  # a 0-d array: one lane of one value
        return 1, 1, 1
    outer = 1
    for size in shape[:dim]:
        outer *= size
    inner = 1
    for size in shape[dim + 1 :]:
        inner *= size
    return outer, shape[dim], inner


def _canonical_dim(ndim: int, dim: int) -> int:
    # A 0-d array behaves like a 1-element vector, as in PyTorch.
    return dim + max(ndim, 1) if dim < 0 else dim


# ---------------------------------------------------------------------------------------------
# jitted kernels (private). Rows: x is (rows, D). Blocks: x is (outer, D, inner).


@threaded(fastmath=_FASTMATH)
def _softmax_rows_forward(x, out, log):
    for r in prange(x.shape[0]):
        row = x[r]
        dst = out[r]
        peak = row[0]
        for d in range(1, row.shape[0]):
            peak = max(peak, row[d])
        total = 0.0
        if log:
            for d in range(row.shape[0]):
                total += exp(float(row[d] - peak))
            shift = peak + np.log(total)
            for d in range(row.shape[0]):
                dst[d] = row[d] - shift
        else:
            for d in range(row.shape[0]):
                e = exp(float(row[d] - peak))
                dst[d] = e
                total += e
            scale = 1.0 / total
            for d in range(row.shape[0]):
                dst[d] *= scale


@threaded(fastmath=_FASTMATH)
def _softmax_blocks_forward(x, out, log, block):
    # Work on 1-d slices x[o, d, start:stop]: plain unit-stride loops that LLVM vectorises.
    outer, size, inner = x.shape
    blocks = (inner + block - 1) // block
    for task in prange(outer * blocks):
        o = task // blocks
        start = (task - o * blocks) * block
        stop = min(start + block, inner)
        peak = x[o, 0, start:stop].astype(np.float64)
        total = np.zeros(stop - start, dtype=np.float64)
        for d in range(1, size):
            row = x[o, d, start:stop]
            for i in range(row.shape[0]):
                peak[i] = max(peak[i], row[i])
        for d in range(size):
            row = x[o, d, start:stop]
            dst = out[o, d, start:stop]
            for i in range(row.shape[0]):
                e = exp(float(row[i] - peak[i]))
                total[i] += e
                dst[i] = e
        if log:
            for i in range(total.shape[0]):
                peak[i] += np.log(total[i])  # peak now holds the log-sum-exp
            for d in range(size):
                row = x[o, d, start:stop]
                dst = out[o, d, start:stop]
                for i in range(row.shape[0]):
                    dst[i] = row[i] - peak[i]
        else:
            for i in range(total.shape[0]):
                total[i] = 1.0 / total[i]
            for d in range(size):
                dst = out[o, d, start:stop]
                for i in range(dst.shape[0]):
                    dst[i] *= total[i]


@threaded(fastmath=_FASTMATH)
def _softmax_rows_backward(y, grad, out, log):
    for r in prange(y.shape[0]):
        y_row = y[r]
        g_row = grad[r]
        dst = out[r]
        total = 0.0
        if log:
            # y = log p:  dx_i = g_i - p_i * sum_j g_j
            for d in range(y_row.shape[0]):
                total += g_row[d]
            for d in range(y_row.shape[0]):
                dst[d] = g_row[d] - exp(float(y_row[d])) * total
        else:
            # y = p:  dx_i = p_i * (g_i - sum_j g_j p_j)
            for d in range(y_row.shape[0]):
                total += g_row[d] * y_row[d]
            for d in range(y_row.shape[0]):
                dst[d] = y_row[d] * (g_row[d] - total)


@threaded(fastmath=_FASTMATH)
def _softmax_blocks_backward(y, grad, out, log, block):
    outer, size, inner = y.shape
    blocks = (inner + block - 1) // block
    for task in prange(outer * blocks):
        o = task // blocks
        start = (task - o * blocks) * block
        stop = min(start + block, inner)
        total = np.zeros(stop - start, dtype=np.float64)
        for d in range(size):
            y_row = y[o, d, start:stop]
            g_row = grad[o, d, start:stop]
            if log:
                for i in range(g_row.shape[0]):
                    total[i] += g_row[i]
            else:
                for i in range(g_row.shape[0]):
                    total[i] += g_row[i] * y_row[i]
        for d in range(size):
            y_row = y[o, d, start:stop]
            g_row = grad[o, d, start:stop]
            dst = out[o, d, start:stop]
            if log:
                for i in range(dst.shape[0]):
                    dst[i] = g_row[i] - exp(float(y_row[i])) * total[i]
            else:
                for i in range(dst.shape[0]):
                    dst[i] = y_row[i] * (g_row[i] - total[i])


# ---------------------------------------------------------------------------------------------
# entry points


def _forward(x: Array, dim: int, log: bool) -> Array:
    x = np.asarray(x, order="C")
    outer, size, inner = _lanes(x.shape, _canonical_dim(x.ndim, dim))
    out = np.empty_like(x)
    if x.size == 0:
        return out
    if inner == 1:
        _softmax_rows_forward(x.reshape(outer, size), out.reshape(outer, size), log)
    else:
        shape = (outer, size, inner)
        _softmax_blocks_forward(x.reshape(shape), out.reshape(shape), log, _BLOCK)
    return out


def _backward(y: Array, grad: Array, dim: int, log: bool) -> Array:
    y = np.asarray(y, order="C")
    grad = np.asarray(grad, dtype=y.dtype, order="C")
    outer, size, inner = _lanes(y.shape, _canonical_dim(y.ndim, dim))
    out = np.empty_like(y)
    if y.size == 0:
        return out
    shape: tuple[int, ...]
    if inner == 1:
        shape = (outer, size)
        _softmax_rows_backward(y.reshape(shape), grad.reshape(shape), out.reshape(shape), log)
    else:
        shape = (outer, size, inner)
        _softmax_blocks_backward(
            y.reshape(shape), grad.reshape(shape), out.reshape(shape), log, _BLOCK
        )
    return out


def softmax_forward(x: Array, dim: int) -> Array:
    """``y_i = exp(x_i - max(x)) / sum_j exp(x_j - max(x))`` along ``dim``; same shape as x."""
    return _forward(x, dim, False)


def softmax_backward(y: Array, grad: Array, dim: int) -> Array:
    """Gradient of softmax from its output ``y``: ``y_i * (g_i - sum_j g_j y_j)``."""
    return _backward(y, grad, dim, False)


def log_softmax_forward(x: Array, dim: int) -> Array:
    """``y_i = x_i - max(x) - log(sum_j exp(x_j - max(x)))`` along ``dim``; same shape as x."""
    return _forward(x, dim, True)


def log_softmax_backward(y: Array, grad: Array, dim: int) -> Array:
    """Gradient of log-softmax from its output ``y``: ``g_i - exp(y_i) * sum_j g_j``."""
    return _backward(y, grad, dim, True)
