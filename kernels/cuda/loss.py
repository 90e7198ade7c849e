"""Fused loss kernels on the GPU: cross-entropy from logits, NLL from log-probabilities,
binary cross-entropy with logits. The math and the layout are those of
``kernels/cpu/loss.py`` (read its docstring for ``q``, the smoothed weighted target).

One thread computes one sample's loss (its ``C`` scores: a short class axis in a CNN), and
the per-sample losses are then summed on the device by one block's shared-memory tree
(``_finish_kernel``). Nothing is read back to the host: the mean's divisor (the summed class
weights of the non-ignored samples) stays on the device as a one-element float64 array,
returned as ``total_weight`` and handed back to the backward kernels, which read it there.

Class indices are not checked against ``C`` on the host (that would need the targets on the
host, a synchronisation per step); a sample whose target is out of range gets a NaN loss
and a zero gradient instead, so the error is visible in the loss without reading memory
outside the scores.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from .. import scalar, shared
from ..shapes import class_layout
from .elementwise import expand
from .launch import REDUCE_THREADS, device_function, flat, grid_1d
from .memory import astype, full

REDUCTIONS = ("none", "mean", "sum")


_log_sum_exp = device_function(shared.log_sum_exp)
_bce_with_logits = device_function(scalar.bce_with_logits)
_bce_with_logits_grad = device_function(scalar.bce_with_logits_grad)


def _weight_args(weight, dtype):
    """(array, present): a dummy one-element array when there is no class weight."""
    if weight is None:
        return cuda.device_array(1, dtype=dtype), False
    return flat(weight), True


@cuda.jit(cache=True)
def _finish_kernel(losses, sample_weights, weighted, mean, out, total_weight):
    """One block: each thread sums a strided share of the ``M`` losses (and weights) in
    float64, a shared-memory tree adds the block's partials, and thread 0 writes the sum,
    divided by the total weight (or by ``M``) for a mean, and that divisor."""
    loss_part = cuda.shared.array(REDUCE_THREADS, float64)
    weight_part = cuda.shared.array(REDUCE_THREADS, float64)
    t = cuda.threadIdx.x
    loss_sum = float64(0.0)
    weight_sum = float64(0.0)
    for i in range(t, losses.size, cuda.blockDim.x):
        loss_sum += losses[i]
        if weighted:
            weight_sum += sample_weights[i]
    loss_part[t] = loss_sum
    weight_part[t] = weight_sum
    cuda.syncthreads()
    half = cuda.blockDim.x // 2
    while half > 0:
        if t < half:
            loss_part[t] += loss_part[t + half]
            weight_part[t] += weight_part[t + half]
        cuda.syncthreads()
        half //= 2
    if t == 0:
        divisor = weight_part[0] if weighted else float64(losses.size)
        total_weight[0] = divisor
        if mean:
            out[0] = loss_part[0] / divisor if divisor != 0 else math.nan
        else:
            out[0] = loss_part[0]


def _reduce(losses, sample_weights, reduction: str, shape: tuple[int, ...]):
    """(loss, total_weight): the reduced loss and the mean's divisor, both on the device."""
    total_weight = cuda.device_array(1, dtype=np.float64)
    if reduction == "none":  # no divisor needed: the backward scale is 1
        return losses.reshape(shape), total_weight
    out = cuda.device_array((), dtype=losses.dtype)
    weighted = sample_weights is not None
    weights = sample_weights if weighted else losses
    _finish_kernel[1, REDUCE_THREADS](
        losses, weights, weighted, reduction == "mean", flat(out), total_weight
    )
    return out, total_weight


def _grad_args(grad, reduction: str):
    """Flat upstream gradient, its stride per sample (0 for a scalar) and the mean flag."""
    flat_grad = flat(grad)
    if reduction == "none":
        return flat_grad, 1, False
    return flat_grad, 0, reduction == "mean"


@cuda.jit(device=True, inline=True, cache=True)
def _scale(divisor, mean):
    d = divisor[0]
    return 1.0 / d if mean and d != 0 else 1.0


# ---------------------------------------------------------------------------------------------
# cross-entropy from logits, integer targets


@cuda.jit(cache=True)
def _cross_entropy_forward_kernel(
    x, target, weight, weighted, ignore_index, smoothing, classes, inner, logp, losses,
    sample_weights,
):  # fmt: skip
    """One thread: the log-softmax of one sample's scores, then its smoothed weighted loss."""
    uniform = smoothing / classes
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for s in range(start, target.size, stride):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        shift = _log_sum_exp(x, base, classes, inner)
        smooth = float64(0.0)
        for c in range(classes):
            k = base + c * inner
            value = x[k] - shift
            logp[k] = value
            smooth += (weight[c] if weighted else 1.0) * value
        t = target[s]
        if t == ignore_index:
            losses[s] = 0.0
            sample_weights[s] = 0.0
        elif t < 0 or t >= classes:
            losses[s] = math.nan
            sample_weights[s] = 0.0
        else:
            w = weight[t] if weighted else 1.0
            losses[s] = -(1.0 - smoothing) * w * logp[base + t * inner] - uniform * smooth
            sample_weights[s] = w


@cuda.jit(cache=True)
def _cross_entropy_backward_kernel(
    grad, grad_stride, divisor, mean, logp, target, weight, weighted, ignore_index, smoothing,
    classes, inner, out,
):  # fmt: skip
    """One thread: the gradient of one sample's loss over its ``C`` logits."""
    uniform = smoothing / classes
    weight_sum = float64(0.0)
    for c in range(classes):
        weight_sum += weight[c] if weighted else 1.0
    scale = _scale(divisor, mean)
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for s in range(start, target.size, stride):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        t = target[s]
        if t == ignore_index or t < 0 or t >= classes:
            for c in range(classes):
                out[base + c * inner] = 0.0
            continue
        g = grad[s * grad_stride] * scale
        hard = (1.0 - smoothing) * (weight[t] if weighted else 1.0)
        mass = hard + uniform * weight_sum
        for c in range(classes):
            k = base + c * inner
            out[k] = g * (math.exp(logp[k]) * mass - uniform * (weight[c] if weighted else 1.0))
        out[base + t * inner] -= g * hard


def cross_entropy_forward(x, target, weight, ignore_index: int, label_smoothing: float,
                          reduction: str):
    """Cross-entropy of logits ``x`` (C,), (N, C) or (N, C, d...) against class indices.

    Returns ``(loss, log_probs, total_weight)``; ``total_weight`` (the mean's divisor) is a
    one-element float64 device array, passed back unchanged to ``cross_entropy_backward``.
    """
    batch, classes, inner = class_layout(tuple(x.shape))
    logp = cuda.device_array_like(x)
    losses = cuda.device_array(batch * inner, dtype=x.dtype)
    sample_weights = cuda.device_array(batch * inner, dtype=np.float64)
    weights, weighted = _weight_args(weight, x.dtype)
    if losses.size:
        blocks, threads = grid_1d(losses.size)
        _cross_entropy_forward_kernel[blocks, threads](
            flat(x), flat(target), weights, weighted, int(ignore_index), float(label_smoothing),
            classes, inner, flat(logp), losses, sample_weights,
        )  # fmt: skip
    loss, total_weight = _reduce(losses, sample_weights, reduction, tuple(target.shape))
    return loss, logp, total_weight


def cross_entropy_backward(grad, logp, target, weight, ignore_index: int, label_smoothing: float,
                           reduction: str, total_weight):
    """Gradient of ``cross_entropy_forward`` with respect to the logits (logp's shape)."""
    batch, classes, inner = class_layout(tuple(logp.shape))
    flat_grad, stride, mean = _grad_args(grad, reduction)
    weights, weighted = _weight_args(weight, logp.dtype)
    out = cuda.device_array_like(logp)
    if target.size:
        blocks, threads = grid_1d(target.size)
        _cross_entropy_backward_kernel[blocks, threads](
            flat_grad, stride, total_weight, mean, flat(logp), flat(target), weights, weighted,
            int(ignore_index), float(label_smoothing), classes, inner, flat(out),
        )  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# cross-entropy from logits, class-probability targets


@cuda.jit(cache=True)
def _cross_entropy_probs_forward_kernel(x, target, weight, weighted, smoothing, classes, inner,
                                        logp, losses):
    """One thread: log-softmax of one sample's scores and its loss against probabilities."""
    uniform = smoothing / classes
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for s in range(start, losses.size, stride):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        shift = _log_sum_exp(x, base, classes, inner)
        loss = float64(0.0)
        for c in range(classes):
            k = base + c * inner
            value = x[k] - shift
            logp[k] = value
            w = weight[c] if weighted else 1.0
            loss -= w * ((1.0 - smoothing) * target[k] + uniform) * value
        losses[s] = loss


@cuda.jit(cache=True)
def _cross_entropy_probs_backward_kernel(
    grad, grad_stride, divisor, mean, logp, target, weight, weighted, smoothing, classes, inner,
    out, out_target,
):  # fmt: skip
    """One thread: both gradients (logits and target) of one sample."""
    uniform = smoothing / classes
    scale = _scale(divisor, mean)
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for s in range(start, out.size // classes, stride):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        g = grad[s * grad_stride] * scale
        mass = float64(0.0)
        for c in range(classes):
            k = base + c * inner
            mass += (weight[c] if weighted else 1.0) * ((1.0 - smoothing) * target[k] + uniform)
        for c in range(classes):
            k = base + c * inner
            w = weight[c] if weighted else 1.0
            q = w * ((1.0 - smoothing) * target[k] + uniform)
            out[k] = g * (math.exp(logp[k]) * mass - q)
            out_target[k] = -g * (1.0 - smoothing) * w * logp[k]


def cross_entropy_probs_forward(x, target, weight, label_smoothing: float, reduction: str):
    """Cross-entropy of logits ``x`` against class probabilities ``target`` (x's shape).

    Returns ``(loss, log_probs)``; ``"mean"`` divides by the number of samples ``N * d1 * ...``.
    """
    batch, classes, inner = class_layout(tuple(x.shape))
    logp = cuda.device_array_like(x)
    losses = cuda.device_array(batch * inner, dtype=x.dtype)
    weights, weighted = _weight_args(weight, x.dtype)
    if losses.size:
        blocks, threads = grid_1d(losses.size)
        _cross_entropy_probs_forward_kernel[blocks, threads](
            flat(x), flat(astype(target, x.dtype)), weights, weighted, float(label_smoothing),
            classes, inner, flat(logp), losses,
        )  # fmt: skip
    shape = tuple(x.shape[:1]) + tuple(x.shape[2:]) if x.ndim > 1 else ()
    loss, _ = _reduce(losses, None, reduction, shape)
    return loss, logp


def cross_entropy_probs_backward(grad, logp, target, weight, label_smoothing: float,
                                 reduction: str):
    """Gradients of ``cross_entropy_probs_forward``: ``(grad_logits, grad_target)``."""
    batch, classes, inner = class_layout(tuple(logp.shape))
    flat_grad, stride, mean = _grad_args(grad, reduction)
    weights, weighted = _weight_args(weight, logp.dtype)
    out = cuda.device_array_like(logp)
    out_target = cuda.device_array_like(logp)
    if logp.size:
        divisor = full((1,), float(batch * inner), np.float64)
        blocks, threads = grid_1d(batch * inner)
        _cross_entropy_probs_backward_kernel[blocks, threads](
            flat_grad, stride, divisor, mean, flat(logp), flat(astype(target, logp.dtype)), weights,
            weighted, float(label_smoothing), classes, inner, flat(out), flat(out_target),
        )  # fmt: skip
    return out, out_target


# ---------------------------------------------------------------------------------------------
# negative log-likelihood from log-probabilities


@cuda.jit(cache=True)
def _nll_loss_forward_kernel(logp, target, weight, weighted, ignore_index, classes, inner,
                             losses, sample_weights):
    """One thread: ``-w[t] * logp[t]`` of one sample."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for s in range(start, target.size, stride):
        t = target[s]
        if t == ignore_index:
            losses[s] = 0.0
            sample_weights[s] = 0.0
        elif t < 0 or t >= classes:
            losses[s] = math.nan
            sample_weights[s] = 0.0
        else:
            n = s // inner
            w = weight[t] if weighted else 1.0
            losses[s] = -w * logp[n * classes * inner + t * inner + (s - n * inner)]
            sample_weights[s] = w


@cuda.jit(cache=True)
def _nll_loss_backward_kernel(grad, grad_stride, divisor, mean, target, weight, weighted,
                              ignore_index, classes, inner, out):
    """One thread: zeros one sample's ``C`` gradients and writes ``-w[t] * g`` at ``t``."""
    scale = _scale(divisor, mean)
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for s in range(start, target.size, stride):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        for c in range(classes):
            out[base + c * inner] = 0.0
        t = target[s]
        if t != ignore_index and 0 <= t < classes:
            w = weight[t] if weighted else 1.0
            out[base + t * inner] = -w * grad[s * grad_stride] * scale


def nll_loss_forward(logp, target, weight, ignore_index: int, reduction: str):
    """``-w[t] * logp[t]`` per sample, reduced; returns ``(loss, total_weight)`` (the latter a
    one-element device array, see ``cross_entropy_forward``)."""
    batch, classes, inner = class_layout(tuple(logp.shape))
    losses = cuda.device_array(batch * inner, dtype=logp.dtype)
    sample_weights = cuda.device_array(batch * inner, dtype=np.float64)
    weights, weighted = _weight_args(weight, logp.dtype)
    if losses.size:
        blocks, threads = grid_1d(losses.size)
        _nll_loss_forward_kernel[blocks, threads](
            flat(logp), flat(target), weights, weighted, int(ignore_index), classes, inner,
            losses, sample_weights,
        )  # fmt: skip
    return _reduce(losses, sample_weights, reduction, tuple(target.shape))


def nll_loss_backward(grad, logp, target, weight, ignore_index: int, reduction: str,
                      total_weight):
    """Gradient of ``nll_loss_forward`` with respect to ``logp``: ``-w[t] * g`` at the target."""
    batch, classes, inner = class_layout(tuple(logp.shape))
    flat_grad, stride, mean = _grad_args(grad, reduction)
    weights, weighted = _weight_args(weight, logp.dtype)
    out = cuda.device_array_like(logp)
    if target.size:
        blocks, threads = grid_1d(target.size)
        _nll_loss_backward_kernel[blocks, threads](
            flat_grad, stride, total_weight, mean, flat(target), weights, weighted,
            int(ignore_index), classes, inner, flat(out),
        )  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# binary cross-entropy with logits


@cuda.jit(cache=True)
def _bce_with_logits_forward_kernel(x, target, weight, weighted, pos_weight, pos_weighted,
                                    losses):
    """One thread per element: ``w * bce_with_logits(x, t, pw)`` (``kernels/scalar.py``)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        w = weight[i] if weighted else 1.0
        pw = pos_weight[i] if pos_weighted else 1.0
        losses[i] = w * _bce_with_logits(x[i], target[i], pw)


@cuda.jit(cache=True)
def _bce_with_logits_backward_kernel(grad, grad_stride, divisor, mean, x, target, weight,
                                     weighted, pos_weight, pos_weighted, out, out_target):
    """One thread per element: d/dx and d/dt of the elementwise loss, times the upstream g."""
    scale = _scale(divisor, mean)
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        g = grad[i * grad_stride] * scale * (weight[i] if weighted else 1.0)
        pw = pos_weight[i] if pos_weighted else 1.0
        d_input, d_target = _bce_with_logits_grad(x[i], target[i], pw)
        out[i] = g * d_input
        out_target[i] = g * d_target


def _broadcast_flat(value, shape, dtype):
    """(flat array of ``shape``, present) for an optional weight broadcast to ``shape``."""
    if value is None:
        return cuda.device_array(1, dtype=dtype), False
    value = astype(value, dtype)
    if tuple(value.shape) != tuple(shape):
        value = expand(value, tuple(shape))
    return flat(value), True


def bce_with_logits_forward(x, target, weight, pos_weight, reduction: str):
    """Binary cross-entropy on logits, elementwise over ``x``'s shape, then reduced.

    ``weight`` broadcasts to x's shape; ``pos_weight`` to x's shape along the last (class) dim.
    """
    shape = tuple(x.shape)
    losses = cuda.device_array(x.size, dtype=x.dtype)
    weights, weighted = _broadcast_flat(weight, shape, x.dtype)
    pos, pos_weighted = _broadcast_flat(pos_weight, shape, x.dtype)
    if x.size:
        blocks, threads = grid_1d(x.size)
        _bce_with_logits_forward_kernel[blocks, threads](
            flat(x), flat(astype(target, x.dtype)), weights, weighted, pos, pos_weighted, losses
        )
    loss, _ = _reduce(losses, None, reduction, shape)
    return loss


def bce_with_logits_backward(grad, x, target, weight, pos_weight, reduction: str):
    """Gradients of ``bce_with_logits_forward``: ``(grad_x, grad_target)``, both x's shape."""
    shape = tuple(x.shape)
    flat_grad, stride, mean = _grad_args(grad, reduction)
    weights, weighted = _broadcast_flat(weight, shape, x.dtype)
    pos, pos_weighted = _broadcast_flat(pos_weight, shape, x.dtype)
    out = cuda.device_array_like(x)
    out_target = cuda.device_array_like(x)
    if x.size:
        divisor = full((1,), float(x.size), np.float64)
        blocks, threads = grid_1d(x.size)
        _bce_with_logits_backward_kernel[blocks, threads](
            flat_grad, stride, divisor, mean, flat(x), flat(astype(target, x.dtype)), weights,
            weighted, pos, pos_weighted, flat(out), flat(out_target),
        )  # fmt: skip
    return out, out_target
