"""Channels-first layer norm (ConvNeXt's ``LayerNorm2d``) on the GPU: forward and backward.

``x`` is (N, C, H, W) viewed as (N, C, S); each of the N * S pixels is normalised over its C
channel values, which lie S elements apart. One thread owns one pixel and loops over the
channels: neighbouring threads take neighbouring pixels, so every read of a channel plane
coalesces, and no permuted copy is made. ``grad_weight``/``grad_bias`` sum over the N * S
pixels of a channel: one block per channel, threads striding over its values, combined by a
shared-memory tree (``norm._block_sum``), as batch norm does.
"""

from __future__ import annotations

import math

from numba import cuda, float64

from .launch import MAX_BLOCKS, REDUCE_THREADS, grid_1d
from .norm import _block_sum, _optional


def _layout(shape) -> tuple[int, int, int]:
    spatial = 1
    for size in shape[2:]:
        spatial *= size
    return shape[0], shape[1], spatial


@cuda.jit(cache=True)
def _forward_kernel(x, weight, has_weight, bias, has_bias, eps, out, mean, invstd):
    """One thread per pixel (n, s), grid-stride: its mean and variance over the channels,
    then its C outputs."""
    batch, channels, spatial = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, batch * spatial, stride):
        n = k // spatial
        s = k - n * spatial
        total = float64(0.0)
        for c in range(channels):
            total += x[n, c, s]
        mu = total / channels
        total = float64(0.0)
        for c in range(channels):
            diff = x[n, c, s] - mu
            total += diff * diff
        r = 1.0 / math.sqrt(total / channels + eps)
        for c in range(channels):
            w = weight[c] if has_weight else 1.0
            b = bias[c] if has_bias else 0.0
            out[n, c, s] = (x[n, c, s] - mu) * r * w + b
        mean[n, s] = mu
        invstd[n, s] = r


@cuda.jit(cache=True)
def _grad_input_kernel(grad, x, mean, invstd, weight, has_weight, out):
    """One thread per pixel: ``mean_c(g w)`` and ``mean_c(g w xhat)``, then its C gradients."""
    batch, channels, spatial = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, batch * spatial, stride):
        n = k // spatial
        s = k - n * spatial
        mu = mean[n, s]
        r = invstd[n, s]
        sum_gw = float64(0.0)
        sum_gw_xhat = float64(0.0)
        for c in range(channels):
            gw = grad[n, c, s] * (weight[c] if has_weight else 1.0)
            sum_gw += gw
            sum_gw_xhat += gw * (x[n, c, s] - mu) * r
        mean_gw = sum_gw / channels
        mean_gw_xhat = sum_gw_xhat / channels
        for c in range(channels):
            gw = grad[n, c, s] * (weight[c] if has_weight else 1.0)
            xhat = (x[n, c, s] - mu) * r
            out[n, c, s] = r * (gw - mean_gw - xhat * mean_gw_xhat)


@cuda.jit(cache=True)
def _grad_params_kernel(grad, x, mean, invstd, grad_weight, grad_bias):
    """Block c (grid-stride over channels): ``sum g * xhat`` and ``sum g`` over N and S."""
    partial = cuda.shared.array(REDUCE_THREADS, float64)
    batch, channels, spatial = x.shape
    t, threads = cuda.threadIdx.x, cuda.blockDim.x
    for c in range(cuda.blockIdx.x, channels, cuda.gridDim.x):
        sum_w = float64(0.0)
        sum_b = float64(0.0)
        for i in range(t, batch * spatial, threads):
            n = i // spatial
            s = i - n * spatial
            g = grad[n, c, s]
            sum_w += g * (x[n, c, s] - mean[n, s]) * invstd[n, s]
            sum_b += g
        total_w = _block_sum(partial, sum_w)
        total_b = _block_sum(partial, sum_b)
        if t == 0:
            grad_weight[c] = total_w
            grad_bias[c] = total_b


def layer_norm2d_forward(x, weight, bias, eps: float):
    """Normalise each pixel of ``x`` (N, C, *) over its C channels; returns
    ``(y, mean, invstd)``, the last two (N, S) (see the CPU twin for the formula)."""
    batch, channels, spatial = _layout(tuple(x.shape))
    y = cuda.device_array_like(x)
    mean = cuda.device_array((batch, spatial), dtype=x.dtype)
    invstd = cuda.device_array((batch, spatial), dtype=x.dtype)
    w, has_w = _optional(weight, x.dtype)
    b, has_b = _optional(bias, x.dtype)
    if batch * spatial:
        blocks, threads = grid_1d(batch * spatial)
        _forward_kernel[blocks, threads](
            x.reshape(batch, channels, spatial), w, has_w, b, has_b, float(eps),
            y.reshape(batch, channels, spatial), mean, invstd,
        )  # fmt: skip
    return y, mean, invstd


def layer_norm2d_backward(grad, x, mean, invstd, weight):
    """Gradients of ``layer_norm2d_forward``: ``(grad_x, grad_weight, grad_bias)``, the last
    two (C,) (see the CPU twin for the formulas)."""
    batch, channels, spatial = _layout(tuple(x.shape))
    grad_x = cuda.device_array_like(x)
    grad_weight = cuda.device_array(channels, dtype=x.dtype)
    grad_bias = cuda.device_array(channels, dtype=x.dtype)
    w, has_w = _optional(weight, x.dtype)
    g3 = grad.reshape(batch, channels, spatial)
    x3 = x.reshape(batch, channels, spatial)
    if batch * spatial:
        blocks, threads = grid_1d(batch * spatial)
        _grad_input_kernel[blocks, threads](g3, x3, mean, invstd, w, has_w,
                                            grad_x.reshape(batch, channels, spatial))
    if channels:
        _grad_params_kernel[max(1, min(channels, MAX_BLOCKS)), REDUCE_THREADS](
            g3, x3, mean, invstd, grad_weight, grad_bias)
    return grad_x, grad_weight, grad_bias
