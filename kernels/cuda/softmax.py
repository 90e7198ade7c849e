"""Softmax and log-softmax over one dimension on the GPU: forward and backward.

As on the CPU, the input is viewed as ``(outer, D, inner)`` and one *lane* is the ``D`` values
of one ``(outer, inner)`` pair. One thread owns one lane: in a CNN the lanes are the batch
(times the spatial positions) and ``D`` is a short class axis, so lanes give the parallelism
and a thread keeps its lane's max and sum in registers. With ``inner > 1`` neighbouring
threads take neighbouring lanes, which sit at neighbouring addresses (coalesced).

Stability: ``exp`` only ever sees ``x - max(lane) <= 0``; log-softmax subtracts the lane's
log-sum-exp from ``kernels/shared.py``, the one the loss kernels of both devices use.
"""

from __future__ import annotations

import math

from numba import cuda, float64

from .. import shared
from .launch import device_function, flat, grid_1d
from .memory import astype

_log_sum_exp = device_function(shared.log_sum_exp)


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


@cuda.jit(cache=True)
def _softmax_forward_kernel(x, out, outer, size, inner, log):
    """One thread computes the (log-)softmax of one lane: max, sum of exps, then writes."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for lane in range(start, outer * inner, stride):
        o = lane // inner
        base = o * size * inner + (lane - o * inner)
        if log:
            shift = _log_sum_exp(x, base, size, inner)
            for d in range(size):
                out[base + d * inner] = x[base + d * inner] - shift
        else:
            peak = x[base]
            for d in range(1, size):
                value = x[base + d * inner]
                if value > peak:
                    peak = value
            total = float64(0.0)
            for d in range(size):
                total += math.exp(x[base + d * inner] - peak)
            scale = 1.0 / total
            for d in range(size):
                out[base + d * inner] = math.exp(x[base + d * inner] - peak) * scale


@cuda.jit(cache=True)
def _softmax_backward_kernel(y, grad, grad_x, outer, size, inner, log):
    """One thread computes the input gradient of one lane."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for lane in range(start, outer * inner, stride):
        o = lane // inner
        base = o * size * inner + (lane - o * inner)
        total = float64(0.0)
        if log:
            # y = log p:  dx_i = g_i - p_i * sum_j g_j
            for d in range(size):
                total += grad[base + d * inner]
            for d in range(size):
                k = base + d * inner
                grad_x[k] = grad[k] - math.exp(y[k]) * total
        else:
            # y = p:  dx_i = p_i * (g_i - sum_j g_j p_j)
            for d in range(size):
                k = base + d * inner
                total += grad[k] * y[k]
            for d in range(size):
                k = base + d * inner
                grad_x[k] = y[k] * (grad[k] - total)


def _forward(x, dim: int, log: bool):
    outer, size, inner = _lanes(tuple(x.shape), _canonical_dim(x.ndim, dim))
    out = cuda.device_array_like(x)
    if x.size:
        blocks, threads = grid_1d(outer * inner)
        _softmax_forward_kernel[blocks, threads](flat(x), flat(out), outer, size, inner, log)
    return out


def _backward(y, grad, dim: int, log: bool):
    outer, size, inner = _lanes(tuple(y.shape), _canonical_dim(y.ndim, dim))
    if grad.dtype != y.dtype:
        grad = astype(grad, y.dtype)
    grad_x = cuda.device_array_like(y)
    if y.size:
        blocks, threads = grid_1d(outer * inner)
        _softmax_backward_kernel[blocks, threads](
            flat(y), flat(grad), flat(grad_x), outer, size, inner, log
        )
    return grad_x


def softmax_forward(x, dim: int):
    """``y_i = exp(x_i - max(x)) / sum_j exp(x_j - max(x))`` along ``dim``; same shape as x."""
    return _forward(x, dim, False)


def softmax_backward(y, grad, dim: int):
    """Gradient of softmax from its output ``y``: ``y_i * (g_i - sum_j g_j y_j)``."""
    return _backward(y, grad, dim, False)


def log_softmax_forward(x, dim: int):
    """``y_i = x_i - max(x) - log(sum_j exp(x_j - max(x)))`` along ``dim``; same shape as x."""
    return _forward(x, dim, True)


def log_softmax_backward(y, grad, dim: int):
    """Gradient of log-softmax from its output ``y``: ``g_i - exp(y_i) * sum_j g_j``."""
    return _backward(y, grad, dim, True)
