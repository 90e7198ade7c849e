"""Batch and layer normalization on the GPU: forward and backward.

Batch norm views ``(N, C, *)`` as ``(N, C, S)``. One block owns one channel and does the
whole job in one launch: its threads stride over the channel's ``N * S`` values (thread t
takes values t, t + T, ...; neighbouring threads read neighbouring addresses), each keeps a
float64 partial sum, and a shared-memory tree combines the partials (``_block_sum``). The
mean comes first, then the variance as a second pass over ``(x - mean)^2`` (no cancellation
when ``|mean| >> std``, as on the CPU), then the block writes ``y`` and, from thread 0, the
statistics and the running averages. The backward pass is the same shape: two block sums per
channel, then the input gradient.

Layer norm views ``(*, D)`` as ``(M, D)`` rows: one block per row for the statistics and the
input gradient; ``grad_weight``/``grad_bias`` sum over rows, one thread per column
(neighbouring columns are neighbouring addresses).
"""

from __future__ import annotations

import math

from numba import cuda, float64

from .launch import MAX_BLOCKS, REDUCE_THREADS, flat, grid_1d


def _channel_layout(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(N, C, S) of an (N, C, *) shape."""
    spatial = 1
    for size in shape[2:]:
        spatial *= size
    return shape[0], shape[1], spatial


def _optional(value, dtype):
    """(flat array, present): a dummy one-element array stands in for None."""
    if value is None:
        return cuda.device_array(1, dtype=dtype), False
    return flat(value), True


@cuda.jit(device=True, inline=True, cache=True)
def _block_sum(partial, value):
    """Sum of ``value`` over the block's threads by a shared-memory tree; every thread gets it."""
    t = cuda.threadIdx.x
    partial[t] = value
    cuda.syncthreads()
    half = cuda.blockDim.x // 2
    while half > 0:
        if t < half:
            partial[t] += partial[t + half]
        cuda.syncthreads()
        half //= 2
    total = partial[0]
    cuda.syncthreads()  # all have read the total before ``partial`` is reused
    return total


# ---------------------------------------------------------------------------------------------
# batch norm


@cuda.jit(cache=True)
def _batch_norm_train_kernel(
    x, weight, has_weight, bias, has_bias, eps, momentum, running_mean, has_mean, running_var,
    has_var, y, mean_out, invstd_out, channels, spatial,
):  # fmt: skip
    """Block c (grid-stride over channels) normalises channel c: mean and biased variance by
    two block sums, then ``y = (x - mean) * invstd * w + b`` over its ``N * S`` values."""
    partial = cuda.shared.array(REDUCE_THREADS, float64)
    t, threads = cuda.threadIdx.x, cuda.blockDim.x
    count = x.size // channels
    for c in range(cuda.blockIdx.x, channels, cuda.gridDim.x):
        total = float64(0.0)
        for j in range(t, count, threads):
            n = j // spatial
            total += x[(n * channels + c) * spatial + j - n * spatial]
        mu = _block_sum(partial, total) / count
        total = float64(0.0)
        for j in range(t, count, threads):
            n = j // spatial
            diff = x[(n * channels + c) * spatial + j - n * spatial] - mu
            total += diff * diff
        var = _block_sum(partial, total) / count
        invstd = 1.0 / math.sqrt(var + eps)
        scale = invstd * (weight[c] if has_weight else 1.0)
        shift = bias[c] if has_bias else 0.0
        for j in range(t, count, threads):
            n = j // spatial
            k = (n * channels + c) * spatial + j - n * spatial
            y[k] = (x[k] - mu) * scale + shift  # centred first: exact when |mean| >> std
        if t == 0:
            mean_out[c] = mu
            invstd_out[c] = invstd
            if has_mean:
                running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mu
            if has_var:
                unbiased = var * count / (count - 1) if count > 1 else var
                running_var[c] = (1.0 - momentum) * running_var[c] + momentum * unbiased


@cuda.jit(cache=True)
def _batch_norm_eval_kernel(x, running_mean, running_var, weight, has_weight, bias, has_bias,
                            eps, channels, spatial, y):
    """One thread per element (grid-stride): ``(x - rm[c]) / sqrt(rv[c] + eps) * w + b``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        c = (i // spatial) % channels
        scale = (weight[c] if has_weight else 1.0) / math.sqrt(running_var[c] + eps)
        y[i] = (x[i] - running_mean[c]) * scale + (bias[c] if has_bias else 0.0)


@cuda.jit(cache=True)
def _batch_norm_backward_kernel(
    grad, x, mean, stat, training, eps, weight, has_weight, grad_x, grad_weight, grad_bias,
    channels, spatial,
):  # fmt: skip
    """Block c: ``sum g`` and ``sum g (x - mean)`` by block sums, then the input gradient.

    ``stat`` is invstd when ``training``, else the running variance (invstd is derived);
    in training the batch statistics' dependence on x adds the two mean terms.
    """
    partial = cuda.shared.array(REDUCE_THREADS, float64)
    t, threads = cuda.threadIdx.x, cuda.blockDim.x
    count = x.size // channels
    for c in range(cuda.blockIdx.x, channels, cuda.gridDim.x):
        mu = mean[c]
        invstd = stat[c] if training else 1.0 / math.sqrt(stat[c] + eps)
        sum_g = float64(0.0)
        sum_gx = float64(0.0)
        for j in range(t, count, threads):
            n = j // spatial
            k = (n * channels + c) * spatial + j - n * spatial
            sum_g += grad[k]
            sum_gx += grad[k] * (x[k] - mu)
        sum_g = _block_sum(partial, sum_g)
        sum_gx = _block_sum(partial, sum_gx)
        scale = invstd * (weight[c] if has_weight else 1.0)
        mean_g = sum_g / count if training else 0.0
        coef_x = sum_gx * invstd * invstd / count if training else 0.0
        for j in range(t, count, threads):
            n = j // spatial
            k = (n * channels + c) * spatial + j - n * spatial
            grad_x[k] = scale * (grad[k] - mean_g - (x[k] - mu) * coef_x)
        if t == 0:
            grad_bias[c] = sum_g
            grad_weight[c] = sum_gx * invstd


def _channel_blocks(channels: int) -> int:
    return max(1, min(channels, MAX_BLOCKS * 4))


def batch_norm_forward_train(x, weight, bias, eps: float, running_mean=None, running_var=None,
                             momentum: float = 0.1):
    """Normalise ``x`` (N, C, *) with its own per-channel statistics over N and *.

    Returns ``(y, mean, invstd)``, the last two (C,); the running statistics, when given, are
    updated in place (the unbiased variance for ``running_var``). See the CPU twin.
    """
    batch, channels, spatial = _channel_layout(tuple(x.shape))
    y = cuda.device_array_like(x)
    mean = cuda.device_array(channels, dtype=x.dtype)
    invstd = cuda.device_array(channels, dtype=x.dtype)
    w, has_w = _optional(weight, x.dtype)
    b, has_b = _optional(bias, x.dtype)
    rm, has_rm = _optional(running_mean, x.dtype)
    rv, has_rv = _optional(running_var, x.dtype)
    if x.size:
        _batch_norm_train_kernel[_channel_blocks(channels), REDUCE_THREADS](
            flat(x), w, has_w, b, has_b, float(eps), float(momentum), rm, has_rm, rv, has_rv,
            flat(y), mean, invstd, channels, spatial,
        )  # fmt: skip
    return y, mean, invstd


@cuda.jit(cache=True)
def _increment_kernel(counter):
    """One thread adds 1 to the one-element ``counter``."""
    if cuda.grid(1) == 0:
        counter[0] += 1


def batch_norm_count(num_batches_tracked) -> None:
    """One more training batch seen: the 0-d counter ``num_batches_tracked`` += 1, in place
    (on the device: no copy to the host)."""
    _increment_kernel[1, 1](flat(num_batches_tracked))


def batch_norm_forward_eval(x, running_mean, running_var, weight, bias, eps: float):
    """``y = (x - running_mean) / sqrt(running_var + eps) * weight + bias`` per channel."""
    batch, channels, spatial = _channel_layout(tuple(x.shape))
    y = cuda.device_array_like(x)
    w, has_w = _optional(weight, x.dtype)
    b, has_b = _optional(bias, x.dtype)
    if x.size:
        blocks, threads = grid_1d(x.size)
        _batch_norm_eval_kernel[blocks, threads](
            flat(x), flat(running_mean), flat(running_var), w, has_w, b, has_b, float(eps),
            channels, spatial, flat(y),
        )  # fmt: skip
    return y


def _batch_norm_backward(grad, x, mean, stat, weight, training, eps):
    batch, channels, spatial = _channel_layout(tuple(x.shape))
    grad_x = cuda.device_array_like(x)
    grad_weight = cuda.device_array(channels, dtype=x.dtype)
    grad_bias = cuda.device_array(channels, dtype=x.dtype)
    w, has_w = _optional(weight, x.dtype)
    if x.size:
        _batch_norm_backward_kernel[_channel_blocks(channels), REDUCE_THREADS](
            flat(grad), flat(x), flat(mean), flat(stat), training, float(eps), w, has_w,
            flat(grad_x), grad_weight, grad_bias, channels, spatial,
        )  # fmt: skip
    return grad_x, grad_weight, grad_bias


def batch_norm_backward(grad, x, mean, invstd, weight):
    """Gradients of ``batch_norm_forward_train``: ``(grad_x, grad_weight, grad_bias)``."""
    return _batch_norm_backward(grad, x, mean, invstd, weight, True, 0.0)


def batch_norm_backward_eval(grad, x, running_mean, running_var, weight, eps: float):
    """Gradients of ``batch_norm_forward_eval``:
    ``grad_x = g * weight / sqrt(running_var + eps)``."""
    return _batch_norm_backward(grad, x, running_mean, running_var, weight, False, eps)


# ---------------------------------------------------------------------------------------------
# layer norm


@cuda.jit(cache=True)
def _layer_norm_forward_kernel(x, weight, has_weight, bias, has_bias, eps, rows, size, out,
                               mean, invstd):
    """Block m (grid-stride over rows) normalises row m: two block sums, then the writes."""
    partial = cuda.shared.array(REDUCE_THREADS, float64)
    t, threads = cuda.threadIdx.x, cuda.blockDim.x
    for m in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        base = m * size
        total = float64(0.0)
        for d in range(t, size, threads):
            total += x[base + d]
        mu = _block_sum(partial, total) / size
        total = float64(0.0)
        for d in range(t, size, threads):
            diff = x[base + d] - mu
            total += diff * diff
        r = 1.0 / math.sqrt(_block_sum(partial, total) / size + eps)
        for d in range(t, size, threads):
            w = weight[d] if has_weight else 1.0
            b = bias[d] if has_bias else 0.0
            out[base + d] = (x[base + d] - mu) * r * w + b
        if t == 0:
            mean[m] = mu
            invstd[m] = r


@cuda.jit(cache=True)
def _layer_norm_grad_input_kernel(grad, x, mean, invstd, weight, has_weight, rows, size, out):
    """Block m: ``sum g w`` and ``sum g w xhat`` of row m by block sums, then its gradient."""
    partial = cuda.shared.array(REDUCE_THREADS, float64)
    t, threads = cuda.threadIdx.x, cuda.blockDim.x
    for m in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        base = m * size
        mu = mean[m]
        r = invstd[m]
        sum_gw = float64(0.0)
        sum_gw_xhat = float64(0.0)
        for d in range(t, size, threads):
            gw = grad[base + d] * (weight[d] if has_weight else 1.0)
            sum_gw += gw
            sum_gw_xhat += gw * (x[base + d] - mu) * r
        mean_gw = _block_sum(partial, sum_gw) / size
        mean_gw_xhat = _block_sum(partial, sum_gw_xhat) / size
        for d in range(t, size, threads):
            xhat = (x[base + d] - mu) * r
            gw = grad[base + d] * (weight[d] if has_weight else 1.0)
            out[base + d] = r * (gw - mean_gw - xhat * mean_gw_xhat)


@cuda.jit(cache=True)
def _layer_norm_grad_params_kernel(grad, x, mean, invstd, rows, size, grad_weight, grad_bias):
    """One thread per column d (grid-stride): ``sum_m g * xhat`` and ``sum_m g`` in float64."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for d in range(start, size, stride):
        sum_w = float64(0.0)
        sum_b = float64(0.0)
        for m in range(rows):
            g = grad[m * size + d]
            sum_w += g * (x[m * size + d] - mean[m]) * invstd[m]
            sum_b += g
        grad_weight[d] = sum_w
        grad_bias[d] = sum_b


def _row_blocks(rows: int) -> int:
    return max(1, min(rows, MAX_BLOCKS * 4))


def layer_norm_forward(x, size: int, weight, bias, eps: float):
    """Normalise each group of the trailing ``size`` elements of ``x``; returns
    ``(y, mean, invstd)`` with ``mean`` and ``invstd`` (M,), ``M = x.size // size``."""
    rows = x.size // size if size else 0
    y = cuda.device_array_like(x)
    mean = cuda.device_array(rows, dtype=x.dtype)
    invstd = cuda.device_array(rows, dtype=x.dtype)
    w, has_w = _optional(weight, x.dtype)
    b, has_b = _optional(bias, x.dtype)
    if rows:
        _layer_norm_forward_kernel[_row_blocks(rows), REDUCE_THREADS](
            flat(x), w, has_w, b, has_b, float(eps), rows, size, flat(y), mean, invstd
        )
    return y, mean, invstd


def layer_norm_backward(grad, x, mean, invstd, weight):
    """Gradients of ``layer_norm_forward``: ``(grad_x, grad_weight, grad_bias)`` (see the CPU
    twin for the formulas); ``grad_weight`` and ``grad_bias`` have ``D`` elements."""
    rows = mean.shape[0]
    size = x.size // rows if rows else 0
    grad_x = cuda.device_array_like(x)
    grad_weight = cuda.device_array(size, dtype=x.dtype)
    grad_bias = cuda.device_array(size, dtype=x.dtype)
    w, has_w = _optional(weight, x.dtype)
    if rows and size:
        _layer_norm_grad_input_kernel[_row_blocks(rows), REDUCE_THREADS](
            flat(grad), flat(x), mean, invstd, w, has_w, rows, size, flat(grad_x)
        )
        blocks, threads = grid_1d(size)
        _layer_norm_grad_params_kernel[blocks, threads](
            flat(grad), flat(x), mean, invstd, rows, size, grad_weight, grad_bias
        )
    return grad_x, grad_weight, grad_bias
