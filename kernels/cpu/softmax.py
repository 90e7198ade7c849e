"""Softmax and log-softmax over one dimension: forward and backward (Numba, CPU).

Every entry point views its contiguous input as ``(outer, D, inner)``, where ``D`` is the size
of the softmax dimension, ``outer`` the product of the sizes before it and ``inner`` the product
of the sizes after it. One "lane" is one ``(outer, inner)`` pair: the ``D`` values at flat
offsets ``o * D * inner + i + d * inner``. Lanes are independent, so they run in parallel.

Stability: ``exp`` only ever sees ``x - max(lane) <= 0``, so logits of 1e4 neither overflow nor
turn into ``inf - inf = nan``.
"""

import numpy as np
from numba import njit, prange

Array = np.ndarray


def _lanes(shape: tuple[int, ...], dim: int) -> tuple[int, int, int]:
    """(outer, D, inner) for a softmax over ``dim`` of a C-contiguous array of ``shape``."""
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
# jitted kernels (private). Arrays are flat; a lane starts at ``base`` with stride ``inner``.


@njit(cache=True, parallel=True)
def _softmax_forward_kernel(x, out, outer, size, inner, log):
    for lane in prange(outer * inner):
        o = lane // inner
        base = o * size * inner + (lane - o * inner)
        peak = x[base]
        for d in range(1, size):
            value = x[base + d * inner]
            if value > peak:
                peak = value
        total = 0.0
        if log:
            for d in range(size):
                total += np.exp(x[base + d * inner] - peak)
            shift = peak + np.log(total)
            for d in range(size):
                out[base + d * inner] = x[base + d * inner] - shift
        else:
            for d in range(size):
                e = np.exp(x[base + d * inner] - peak)
                out[base + d * inner] = e
                total += e
            scale = 1.0 / total
            for d in range(size):
                out[base + d * inner] *= scale


@njit(cache=True, parallel=True)
def _softmax_backward_kernel(y, grad, grad_x, outer, size, inner, log):
    for lane in prange(outer * inner):
        o = lane // inner
        base = o * size * inner + (lane - o * inner)
        total = 0.0
        if log:
            # y = log p:  dx_i = g_i - p_i * sum_j g_j
            for d in range(size):
                total += grad[base + d * inner]
            for d in range(size):
                k = base + d * inner
                grad_x[k] = grad[k] - np.exp(y[k]) * total
        else:
            # y = p:  dx_i = p_i * (g_i - sum_j g_j p_j)
            for d in range(size):
                k = base + d * inner
                total += grad[k] * y[k]
            for d in range(size):
                k = base + d * inner
                grad_x[k] = y[k] * (grad[k] - total)


# ---------------------------------------------------------------------------------------------
# entry points


def _forward(x: Array, dim: int, log: bool) -> Array:
    x = np.asarray(x, order="C")
    outer, size, inner = _lanes(x.shape, _canonical_dim(x.ndim, dim))
    out = np.empty_like(x)
    if x.size:
        _softmax_forward_kernel(x.reshape(-1), out.reshape(-1), outer, size, inner, log)
    return out


def _backward(y: Array, grad: Array, dim: int, log: bool) -> Array:
    y = np.asarray(y, order="C")
    grad = np.asarray(grad, dtype=y.dtype, order="C")
    outer, size, inner = _lanes(y.shape, _canonical_dim(y.ndim, dim))
    grad_x = np.empty_like(y)
    if y.size:
        _softmax_backward_kernel(
            y.reshape(-1), grad.reshape(-1), grad_x.reshape(-1), outer, size, inner, log
        )
    return grad_x


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
