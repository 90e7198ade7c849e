"""Batch and layer normalization: forward and backward (Numba, CPU).

Batch norm views ``(N, C, *)`` as ``(N, C, S)``: channel ``c`` owns the ``N`` contiguous
``S``-long blocks ``x[n, c, :]``. Statistics are gathered per ``(n, c)`` block in parallel and
combined per channel afterwards, so the work splits evenly over the cores even when ``C`` is
smaller than the number of threads (LeNet has 6 channels, the first conv of a ResNet 3).

Layer norm views ``(*, D)`` as ``(M, D)`` rows, ``D`` the product of ``normalized_shape``.

Accuracy: sums run in float64 whatever the input dtype, and the variance is a second pass over
``(x - mean)^2`` rather than ``E[x^2] - mean^2``, which cancels catastrophically when
``|mean| >> std``. ``reassoc`` lets LLVM vectorise those sums (it may reorder the additions).
"""

import numpy as np
from numba import get_num_threads, prange

from .launch import threaded

Array = np.ndarray

_FASTMATH = {"reassoc", "contract"}


def _channel_layout(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(N, C, S) of an (N, C, *) shape."""
    spatial = 1
    for size in shape[2:]:
        spatial *= size
    return shape[0], shape[1], spatial


def _param(value: Array | None, size: int, fill: float, dtype) -> Array:
    if value is None:
        return np.full(size, fill, dtype=dtype)
    return np.asarray(value, dtype=dtype, order="C").reshape(-1)


# ---------------------------------------------------------------------------------------------
# batch norm (jitted, private). ``x`` is (N, C, S); per-channel vectors are (C,).


@threaded(fastmath=_FASTMATH)
def _block_sums(x, center, partial):
    """partial[n, c] = sum_s (x[n, c, s] - center[c]) ** p, p = 1 if center is None else 2."""
    batch, channels, spatial = x.shape
    for block in prange(batch * channels):
        n = block // channels
        c = block - n * channels
        total = 0.0
        if center is None:
            for s in range(spatial):
                total += x[n, c, s]
        else:
            mu = center[c]
            for s in range(spatial):
                diff = x[n, c, s] - mu
                total += diff * diff
        partial[n, c] = total


@threaded(fastmath=_FASTMATH)
def _batch_norm_apply(x, scale, shift, out):
    """out[n, c, s] = x[n, c, s] * scale[c] + shift[c]."""
    batch, channels, spatial = x.shape
    for block in prange(batch * channels):
        n = block // channels
        c = block - n * channels
        a = scale[c]
        b = shift[c]
        for s in range(spatial):
            out[n, c, s] = x[n, c, s] * a + b


@threaded(fastmath=_FASTMATH)
def _batch_norm_grad_sums(grad, x, mean, partial_g, partial_gx):
    """Per (n, c): sum_s g and sum_s g * (x - mean[c])."""
    batch, channels, spatial = x.shape
    for block in prange(batch * channels):
        n = block // channels
        c = block - n * channels
        mu = mean[c]
        sum_g = 0.0
        sum_gx = 0.0
        for s in range(spatial):
            g = grad[n, c, s]
            sum_g += g
            sum_gx += g * (x[n, c, s] - mu)
        partial_g[n, c] = sum_g
        partial_gx[n, c] = sum_gx


@threaded(fastmath=_FASTMATH)
def _batch_norm_grad_input(grad, x, mean, scale, mean_g, coef_x, out):
    """out = scale[c] * (g - mean_g[c] - (x - mean[c]) * coef_x[c])."""
    batch, channels, spatial = x.shape
    for block in prange(batch * channels):
        n = block // channels
        c = block - n * channels
        mu = mean[c]
        a = scale[c]
        b = mean_g[c]
        k = coef_x[c]
        for s in range(spatial):
            out[n, c, s] = a * (grad[n, c, s] - b - (x[n, c, s] - mu) * k)


def batch_norm_forward_train(
    x: Array,
    weight: Array | None,
    bias: Array | None,
    eps: float,
    running_mean: Array | None = None,
    running_var: Array | None = None,
    momentum: float = 0.1,
) -> tuple[Array, Array, Array]:
    """Normalise ``x`` (N, C, *) with its own per-channel statistics over N and *.

    ``y = (x - mean) * invstd * weight + bias`` with ``invstd = 1 / sqrt(var + eps)`` and the
    biased ``var``. Returns ``(y, mean, invstd)``, the last two (C,). When given,
    ``running_mean`` and ``running_var`` are updated in place:
    ``r = (1 - momentum) * r + momentum * stat``, with the unbiased variance for ``running_var``.
    """
    x = np.asarray(x, order="C")
    batch, channels, spatial = _channel_layout(x.shape)
    x3 = x.reshape(batch, channels, spatial)
    count = batch * spatial
    partial = np.empty((batch, channels), dtype=np.float64)
    _block_sums(x3, None, partial)
    mean = partial.sum(axis=0) / count
    _block_sums(x3, mean, partial)
    var = partial.sum(axis=0) / count
    invstd = 1.0 / np.sqrt(var + eps)
    scale = invstd * _param(weight, channels, 1.0, np.float64)
    shift = _param(bias, channels, 0.0, np.float64) - mean * scale
    y = np.empty_like(x)
    _batch_norm_apply(x3, scale, shift, y.reshape(batch, channels, spatial))
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += (momentum * mean).astype(running_mean.dtype)
    if running_var is not None:
        unbiased = var * (count / (count - 1)) if count > 1 else var
        running_var *= 1.0 - momentum
        running_var += (momentum * unbiased).astype(running_var.dtype)
    return y, mean.astype(x.dtype), invstd.astype(x.dtype)


def batch_norm_count(num_batches_tracked: Array) -> None:
    """One more training batch seen: the 0-d counter ``num_batches_tracked`` += 1, in place."""
    num_batches_tracked += 1


def batch_norm_forward_eval(
    x: Array,
    running_mean: Array,
    running_var: Array,
    weight: Array | None,
    bias: Array | None,
    eps: float,
) -> Array:
    """``y = (x - running_mean) / sqrt(running_var + eps) * weight + bias`` per channel."""
    x = np.asarray(x, order="C")
    batch, channels, spatial = _channel_layout(x.shape)
    invstd = 1.0 / np.sqrt(np.asarray(running_var, dtype=np.float64) + eps)
    scale = invstd * _param(weight, channels, 1.0, np.float64)
    shift = _param(bias, channels, 0.0, np.float64) - np.asarray(running_mean) * scale
    y = np.empty_like(x)
    _batch_norm_apply(
        x.reshape(batch, channels, spatial), scale, shift, y.reshape(batch, channels, spatial)
    )
    return y


def _batch_norm_backward(grad, x, mean, invstd, weight, training):
    x = np.asarray(x, order="C")
    batch, channels, spatial = _channel_layout(x.shape)
    x3 = x.reshape(batch, channels, spatial)
    g3 = np.asarray(grad, dtype=x.dtype, order="C").reshape(batch, channels, spatial)
    mean = np.asarray(mean, dtype=np.float64)
    invstd = np.asarray(invstd, dtype=np.float64)
    partial_g = np.empty((batch, channels), dtype=np.float64)
    partial_gx = np.empty((batch, channels), dtype=np.float64)
    _batch_norm_grad_sums(g3, x3, mean, partial_g, partial_gx)
    grad_bias = partial_g.sum(axis=0)
    grad_weight = partial_gx.sum(axis=0) * invstd
    scale = invstd * _param(weight, channels, 1.0, np.float64)
    if training:
        # d/dx of (x - mean(x)) * invstd(x): the batch statistics depend on every x too.
        count = batch * spatial
        mean_g = grad_bias / count
        coef_x = grad_weight * invstd / count
    else:
        mean_g = np.zeros(channels)
        coef_x = np.zeros(channels)
    grad_x = np.empty_like(x)
    _batch_norm_grad_input(
        g3, x3, mean, scale, mean_g, coef_x, grad_x.reshape(batch, channels, spatial)
    )
    return grad_x, grad_weight.astype(x.dtype), grad_bias.astype(x.dtype)


def batch_norm_backward(
    grad: Array, x: Array, mean: Array, invstd: Array, weight: Array | None
) -> tuple[Array, Array, Array]:
    """Gradients of ``batch_norm_forward_train``: ``(grad_x, grad_weight, grad_bias)``.

    With ``xhat = (x - mean) * invstd`` and sums over N and * per channel:
    ``grad_bias = sum g``, ``grad_weight = sum g * xhat``,
    ``grad_x = weight * invstd * (g - grad_bias / M - xhat * grad_weight / M)``, M = N * S.
    """
    return _batch_norm_backward(grad, x, mean, invstd, weight, True)


def batch_norm_backward_eval(
    grad: Array,
    x: Array,
    running_mean: Array,
    running_var: Array,
    weight: Array | None,
    eps: float,
) -> tuple[Array, Array, Array]:
    """Gradients of ``batch_norm_forward_eval``: the statistics are constants here, so
    ``grad_x = g * weight / sqrt(running_var + eps)``."""
    invstd = 1.0 / np.sqrt(np.asarray(running_var, dtype=np.float64) + eps)
    return _batch_norm_backward(grad, x, running_mean, invstd, weight, False)


# ---------------------------------------------------------------------------------------------
# layer norm. ``x`` is (M, D): one row per normalised group.


@threaded(fastmath=_FASTMATH)
def _layer_norm_forward_kernel(x, weight, bias, eps, out, mean, invstd):
    rows, size = x.shape
    for m in prange(rows):
        total = 0.0
        for d in range(size):
            total += x[m, d]
        mu = total / size
        total = 0.0
        for d in range(size):
            diff = x[m, d] - mu
            total += diff * diff
        r = 1.0 / np.sqrt(total / size + eps)
        for d in range(size):
            out[m, d] = (x[m, d] - mu) * r * weight[d] + bias[d]
        mean[m] = mu
        invstd[m] = r


@threaded(fastmath=_FASTMATH)
def _layer_norm_backward_kernel(grad, x, mean, invstd, weight, chunks, out, partial_w, partial_b):
    # Rows are split into ``chunks`` runs; each run also sums its share of grad_weight and
    # grad_bias into its own row of ``partial_*`` (no two threads write the same memory).
    rows, size = x.shape
    per_chunk = (rows + chunks - 1) // chunks
    for chunk in prange(chunks):
        for d in range(size):
            partial_w[chunk, d] = 0.0
            partial_b[chunk, d] = 0.0
        for m in range(chunk * per_chunk, min(rows, (chunk + 1) * per_chunk)):
            mu = mean[m]
            r = invstd[m]
            sum_gw = 0.0
            sum_gw_xhat = 0.0
            for d in range(size):
                xhat = (x[m, d] - mu) * r
                gw = grad[m, d] * weight[d]
                sum_gw += gw
                sum_gw_xhat += gw * xhat
                partial_w[chunk, d] += grad[m, d] * xhat
                partial_b[chunk, d] += grad[m, d]
            mean_gw = sum_gw / size
            mean_gw_xhat = sum_gw_xhat / size
            for d in range(size):
                xhat = (x[m, d] - mu) * r
                out[m, d] = r * (grad[m, d] * weight[d] - mean_gw - xhat * mean_gw_xhat)


def layer_norm_forward(
    x: Array, size: int, weight: Array | None, bias: Array | None, eps: float
) -> tuple[Array, Array, Array]:
    """Normalise each group of the trailing ``size`` elements of ``x`` (``size`` = the product
    of ``normalized_shape``): ``y = (x - mean) * invstd * weight + bias``.

    Returns ``(y, mean, invstd)``; ``mean`` and ``invstd`` are (M,), ``M = x.size // size``.
    """
    x = np.asarray(x, order="C")
    rows = x.size // size if size else 0
    y = np.empty_like(x)
    mean = np.empty(rows, dtype=x.dtype)
    invstd = np.empty(rows, dtype=x.dtype)
    _layer_norm_forward_kernel(
        x.reshape(rows, size), _param(weight, size, 1.0, x.dtype), _param(bias, size, 0.0, x.dtype),
        float(eps), y.reshape(rows, size), mean, invstd,
    )  # fmt: skip
    return y, mean, invstd


def layer_norm_backward(
    grad: Array, x: Array, mean: Array, invstd: Array, weight: Array | None
) -> tuple[Array, Array, Array]:
    """Gradients of ``layer_norm_forward``: ``(grad_x, grad_weight, grad_bias)``.

    Per row, with ``xhat = (x - mean) * invstd`` and ``gw = g * weight``:
    ``grad_x = invstd * (gw - mean(gw) - xhat * mean(gw * xhat))``; over rows,
    ``grad_weight = sum g * xhat`` and ``grad_bias = sum g`` (both of size ``D``).
    """
    x = np.asarray(x, order="C")
    rows = mean.shape[0]
    size = x.size // rows if rows else 0
    chunks = max(1, min(rows, 4 * get_num_threads()))
    partial_w = np.empty((chunks, size), dtype=np.float64)
    partial_b = np.empty((chunks, size), dtype=np.float64)
    grad_x = np.empty_like(x)
    _layer_norm_backward_kernel(
        np.asarray(grad, dtype=x.dtype, order="C").reshape(rows, size), x.reshape(rows, size),
        mean, invstd, _param(weight, size, 1.0, x.dtype), chunks, grad_x.reshape(rows, size),
        partial_w, partial_b,
    )  # fmt: skip
    return grad_x, partial_w.sum(axis=0).astype(x.dtype), partial_b.sum(axis=0).astype(x.dtype)
