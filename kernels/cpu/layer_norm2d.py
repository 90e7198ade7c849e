"""Channels-first layer norm (ConvNeXt's ``LayerNorm2d``): forward and backward (Numba, CPU).

``x`` is (N, C, H, W) viewed as (N, C, S); each of the N * S pixels is normalised over its C
channel values, which lie S elements apart. Instead of permuting to channels-last (a copy
each way), a job takes a run of ``_RUN`` neighbouring pixels of one sample and sweeps the
channels, keeping one running sum per pixel: the inner loop is over contiguous pixels and
vectorises, and the work splits over N * ceil(S / _RUN) jobs.

Accuracy as in ``norm.py``: float64 sums, and the variance as a second pass over
``(x - mean)^2``.
"""

import numpy as np
from numba import prange

from .launch import threaded

Array = np.ndarray

_FASTMATH = {"reassoc", "contract"}
# pixels per job: long enough to vectorise, short enough that the sums stay in L1
_RUN = 256


@threaded(fastmath=_FASTMATH)
def _forward_kernel(x, weight, bias, eps, run, out, mean, invstd):
    batch, channels, spatial = x.shape
    runs = (spatial + run - 1) // run
    for job in prange(batch * runs):
        n = job // runs
        s0 = (job - n * runs) * run
        width = min(run, spatial - s0)
        mu = np.zeros(width)
        for c in range(channels):
            xs = x[n, c, s0:s0 + width]
            for s in range(width):
                mu[s] += xs[s]
        for s in range(width):
            mu[s] /= channels
        var = np.zeros(width)
        for c in range(channels):
            xs = x[n, c, s0:s0 + width]
            for s in range(width):
                diff = xs[s] - mu[s]
                var[s] += diff * diff
        r = np.empty(width)
        for s in range(width):
            r[s] = 1.0 / np.sqrt(var[s] / channels + eps)
            mean[n, s0 + s] = mu[s]
            invstd[n, s0 + s] = r[s]
        for c in range(channels):
            xs = x[n, c, s0:s0 + width]
            ys = out[n, c, s0:s0 + width]
            w = weight[c]
            b = bias[c]
            for s in range(width):
                ys[s] = (xs[s] - mu[s]) * r[s] * w + b


@threaded(fastmath=_FASTMATH)
def _backward_kernel(grad, x, mean, invstd, weight, run, out, partial_w, partial_b):
    # Each job also sums its pixels' share of grad_weight and grad_bias into its own row of
    # ``partial_*`` (no two threads write the same memory); the rows are added afterwards.
    batch, channels, spatial = x.shape
    runs = (spatial + run - 1) // run
    for job in prange(batch * runs):
        n = job // runs
        s0 = (job - n * runs) * run
        width = min(run, spatial - s0)
        mu = mean[n, s0:s0 + width]
        r = invstd[n, s0:s0 + width]
        sum_gw = np.zeros(width)
        sum_gw_xhat = np.zeros(width)
        for c in range(channels):
            xs = x[n, c, s0:s0 + width]
            gs = grad[n, c, s0:s0 + width]
            w = weight[c]
            total_w = 0.0
            total_b = 0.0
            for s in range(width):
                xhat = (xs[s] - mu[s]) * r[s]
                sum_gw[s] += gs[s] * w
                sum_gw_xhat[s] += gs[s] * w * xhat
                total_w += gs[s] * xhat
                total_b += gs[s]
            partial_w[job, c] = total_w
            partial_b[job, c] = total_b
        for s in range(width):
            sum_gw[s] /= channels
            sum_gw_xhat[s] /= channels
        for c in range(channels):
            xs = x[n, c, s0:s0 + width]
            gs = grad[n, c, s0:s0 + width]
            dx = out[n, c, s0:s0 + width]
            w = weight[c]
            for s in range(width):
                xhat = (xs[s] - mu[s]) * r[s]
                dx[s] = r[s] * (gs[s] * w - sum_gw[s] - xhat * sum_gw_xhat[s])


def _layout(shape) -> tuple[int, int, int]:
    spatial = 1
    for size in shape[2:]:
        spatial *= size
    return shape[0], shape[1], spatial


def _param(value: Array | None, size: int, fill: float, dtype) -> Array:
    if value is None:
        return np.full(size, fill, dtype=dtype)
    return np.asarray(value, dtype=dtype, order="C").reshape(-1)


def layer_norm2d_forward(
    x: Array, weight: Array | None, bias: Array | None, eps: float
) -> tuple[Array, Array, Array]:
    """Normalise each pixel of ``x`` (N, C, *) over its C channels:
    ``y[n, :, s] = (x[n, :, s] - mean[n, s]) * invstd[n, s] * weight + bias`` (biased
    variance). Returns ``(y, mean, invstd)``, the last two (N, S) with S = prod(*)."""
    x = np.asarray(x, order="C")
    batch, channels, spatial = _layout(x.shape)
    y = np.empty_like(x)
    mean = np.empty((batch, spatial), dtype=x.dtype)
    invstd = np.empty((batch, spatial), dtype=x.dtype)
    _forward_kernel(
        x.reshape(batch, channels, spatial), _param(weight, channels, 1.0, x.dtype),
        _param(bias, channels, 0.0, x.dtype), float(eps), _RUN,
        y.reshape(batch, channels, spatial), mean, invstd,
    )  # fmt: skip
    return y, mean, invstd


def layer_norm2d_backward(
    grad: Array, x: Array, mean: Array, invstd: Array, weight: Array | None
) -> tuple[Array, Array, Array]:
    """Gradients of ``layer_norm2d_forward``: ``(grad_x, grad_weight, grad_bias)``.

    Per pixel, with ``xhat = (x - mean) * invstd`` and ``gw = g * weight`` over the channels:
    ``grad_x = invstd * (gw - mean_c(gw) - xhat * mean_c(gw * xhat))``; over N and the
    pixels, ``grad_weight = sum g * xhat`` and ``grad_bias = sum g`` (both (C,)).
    """
    x = np.asarray(x, order="C")
    batch, channels, spatial = _layout(x.shape)
    jobs = batch * ((spatial + _RUN - 1) // _RUN)
    partial_w = np.empty((jobs, channels), dtype=np.float64)
    partial_b = np.empty((jobs, channels), dtype=np.float64)
    grad_x = np.empty_like(x)
    _backward_kernel(
        np.asarray(grad, dtype=x.dtype, order="C").reshape(batch, channels, spatial),
        x.reshape(batch, channels, spatial), mean, invstd,
        _param(weight, channels, 1.0, x.dtype), _RUN,
        grad_x.reshape(batch, channels, spatial), partial_w, partial_b,
    )  # fmt: skip
    return grad_x, partial_w.sum(axis=0).astype(x.dtype), partial_b.sum(axis=0).astype(x.dtype)
