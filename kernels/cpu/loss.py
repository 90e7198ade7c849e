"""Fused loss kernels (Numba, CPU): cross-entropy from logits, NLL from log-probabilities,
binary cross-entropy with logits.

Layout: class scores arrive as ``(N, C)`` or ``(N, C, d1, ...)`` and are viewed as
``(N, C, inner)`` with ``inner = d1 * ...``; one *sample* is one ``(n, i)`` pair, flat index
``s = n * inner + i``, and its ``C`` scores sit at ``n * C * inner + c * inner + i``. Integer
targets are int64 of shape ``(N, d1, ...)`` (``M = N * inner`` samples); probability targets
have the input's shape.

Per-sample loss with class weights ``w`` (ones when not given) and label smoothing ``eps``::

    q[c]    = (1 - eps) * w[t] * [c == t] + eps / C * w[c]     integer target t
    q[c]    = w[c] * ((1 - eps) * t[c] + eps / C)              probability target t
    loss_s  = -sum_c q[c] * log p[c]                           (0 when t == ignore_index)

Reductions follow PyTorch: ``"sum"`` adds the ``loss_s``; ``"mean"`` divides that sum by the
total weight ``sum_s w[t_s]`` over the non-ignored samples for integer targets (the smoothing
term too), and by ``M`` for probability targets. The gradient with respect to the logits is
``g_s * (p[c] * sum_c q[c] - q[c])`` -- one pass, no softmax tensor kept besides ``log p``.
"""

import numpy as np
from numba import prange

from .. import scalar, shared
from ..shapes import class_layout
from .launch import device_function, threaded
from .vector_math import exp

_log_sum_exp = device_function(shared.log_sum_exp)
_bce_with_logits = device_function(scalar.bce_with_logits)
_bce_with_logits_grad = device_function(scalar.bce_with_logits_grad)

Array = np.ndarray

REDUCTIONS = ("none", "mean", "sum")


def _weights(weight: Array | None, classes: int, dtype) -> Array:
    if weight is None:
        return np.ones(classes, dtype=dtype)
    return np.asarray(weight, dtype=dtype, order="C")


def _check_targets(op: str, target: Array, classes: int, ignore_index: int) -> None:
    """Raise on a class index outside ``[0, C)`` that is not ``ignore_index``."""
    if target.size == 0:
        return
    low, high = int(target.min()), int(target.max())
    if (low >= 0 or low == ignore_index) and high < classes:
        return
    valid = (target == ignore_index) | ((target >= 0) & (target < classes))
    bad = int(target.reshape(-1)[np.argmin(valid.reshape(-1))])
    raise ValueError(f"{op}: target {bad} is out of bounds for {classes} classes")


def _reduce(losses: Array, divisor: float, reduction: str, shape: tuple[int, ...]) -> Array:
    if reduction == "none":
        return losses.reshape(shape)
    total = losses.sum(dtype=np.float64)
    if reduction == "mean":
        total = total / divisor if divisor != 0 else np.nan
    return np.asarray(total, dtype=losses.dtype)


def _grad_scale(grad: Array, divisor: float, reduction: str) -> tuple[Array, int, float]:
    """Flat upstream gradient, its stride per sample (0 for a scalar) and the mean divisor."""
    flat = np.asarray(grad, order="C").reshape(-1)
    if reduction == "none":
        return flat, 1, 1.0
    scale = 1.0 / divisor if reduction == "mean" and divisor != 0 else 1.0
    return flat, 0, scale


# ---------------------------------------------------------------------------------------------
# cross-entropy from logits, integer targets


@threaded
def _cross_entropy_forward_kernel(
    x, target, weight, ignore_index, smoothing, classes, inner, logp, losses
):
    """Writes log p and the per-sample losses; returns (sum of losses, sum of the weights of
    the counted samples, number of out-of-range targets), so no second pass is needed."""
    uniform = smoothing / classes
    loss_sum = 0.0
    weight_sum = 0.0
    bad = 0
    for s in prange(target.shape[0]):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        shift = _log_sum_exp(x, base, classes, inner)
        smooth = 0.0
        for c in range(classes):
            k = base + c * inner
            logp[k] = x[k] - shift
            smooth += weight[c] * logp[k]
        t = target[s]
        if t == ignore_index or t < 0 or t >= classes:
            losses[s] = 0.0
            if t != ignore_index:
                bad += 1
        else:
            loss = -(1.0 - smoothing) * weight[t] * logp[base + t * inner] - uniform * smooth
            losses[s] = loss
            loss_sum += loss
            weight_sum += weight[t]
    return loss_sum, weight_sum, bad


@threaded
def _cross_entropy_backward_kernel(
    grad, grad_stride, scale, logp, target, weight, ignore_index, smoothing, classes, inner, out
):
    uniform = smoothing / classes
    weight_sum = 0.0
    for c in range(classes):
        weight_sum += weight[c]
    for s in prange(target.shape[0]):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        t = target[s]
        if t == ignore_index:
            for c in range(classes):
                out[base + c * inner] = 0.0
            continue
        g = grad[s * grad_stride] * scale
        hard = (1.0 - smoothing) * weight[t]
        mass = hard + uniform * weight_sum
        for c in range(classes):
            k = base + c * inner
            out[k] = g * (exp(float(logp[k])) * mass - uniform * weight[c])
        out[base + t * inner] -= g * hard


def cross_entropy_forward(
    x: Array,
    target: Array,
    weight: Array | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
) -> tuple[Array, Array, float]:
    """Cross-entropy of logits ``x`` (C,), (N, C) or (N, C, d...) against class indices.

    Returns ``(loss, log_probs, total_weight)``: ``loss`` has the target's shape for
    ``reduction="none"`` and is 0-d otherwise; ``log_probs`` (x's shape) and ``total_weight``
    (the mean's divisor) are what ``cross_entropy_backward`` needs.
    """
    x = np.asarray(x, order="C")
    batch, classes, inner = class_layout(x.shape)
    target = np.asarray(target, dtype=np.int64, order="C")
    logp = np.empty_like(x)
    losses = np.empty(batch * inner, dtype=x.dtype)
    loss_sum, total_weight, bad = _cross_entropy_forward_kernel(
        x.reshape(-1), target.reshape(-1), _weights(weight, classes, x.dtype), ignore_index,
        float(label_smoothing), classes, inner, logp.reshape(-1), losses,
    )  # fmt: skip
    if bad:
        _check_targets("cross_entropy", target, classes, ignore_index)
    if reduction == "none":
        return losses.reshape(target.shape), logp, total_weight
    if reduction == "mean":
        loss_sum = loss_sum / total_weight if total_weight != 0 else np.nan
    return np.asarray(loss_sum, dtype=x.dtype), logp, total_weight


def cross_entropy_backward(
    grad: Array,
    logp: Array,
    target: Array,
    weight: Array | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    total_weight: float,
) -> Array:
    """Gradient of ``cross_entropy_forward`` with respect to the logits (logp's shape)."""
    batch, classes, inner = class_layout(logp.shape)
    flat, stride, scale = _grad_scale(grad, total_weight, reduction)
    out = np.empty_like(logp)
    _cross_entropy_backward_kernel(
        flat.astype(logp.dtype, copy=False), stride, scale, logp.reshape(-1),
        np.asarray(target, dtype=np.int64, order="C").reshape(-1),
        _weights(weight, classes, logp.dtype), ignore_index, float(label_smoothing), classes,
        inner, out.reshape(-1),
    )  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# cross-entropy from logits, class-probability targets


@threaded
def _cross_entropy_probs_forward_kernel(x, target, weight, smoothing, classes, inner, logp, losses):
    uniform = smoothing / classes
    for s in prange(losses.shape[0]):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        shift = _log_sum_exp(x, base, classes, inner)
        loss = 0.0
        for c in range(classes):
            k = base + c * inner
            logp[k] = x[k] - shift
            loss -= weight[c] * ((1.0 - smoothing) * target[k] + uniform) * logp[k]
        losses[s] = loss


@threaded
def _cross_entropy_probs_backward_kernel(
    grad, grad_stride, scale, logp, target, weight, smoothing, classes, inner, out, out_target
):
    uniform = smoothing / classes
    for s in prange(out.shape[0] // classes):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        g = grad[s * grad_stride] * scale
        mass = 0.0
        for c in range(classes):
            k = base + c * inner
            mass += weight[c] * ((1.0 - smoothing) * target[k] + uniform)
        for c in range(classes):
            k = base + c * inner
            q = weight[c] * ((1.0 - smoothing) * target[k] + uniform)
            out[k] = g * (np.exp(logp[k]) * mass - q)
            out_target[k] = -g * (1.0 - smoothing) * weight[c] * logp[k]


def cross_entropy_probs_forward(
    x: Array, target: Array, weight: Array | None, label_smoothing: float, reduction: str
) -> tuple[Array, Array]:
    """Cross-entropy of logits ``x`` against class probabilities ``target`` (x's shape).

    Returns ``(loss, log_probs)``; ``"mean"`` divides by the number of samples ``N * d1 * ...``.
    """
    x = np.asarray(x, order="C")
    batch, classes, inner = class_layout(x.shape)
    logp = np.empty_like(x)
    losses = np.empty(batch * inner, dtype=x.dtype)
    _cross_entropy_probs_forward_kernel(
        x.reshape(-1), np.asarray(target, dtype=x.dtype, order="C").reshape(-1),
        _weights(weight, classes, x.dtype), float(label_smoothing), classes, inner,
        logp.reshape(-1), losses,
    )  # fmt: skip
    shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    return _reduce(losses, float(batch * inner), reduction, shape), logp


def cross_entropy_probs_backward(
    grad: Array,
    logp: Array,
    target: Array,
    weight: Array | None,
    label_smoothing: float,
    reduction: str,
) -> tuple[Array, Array]:
    """Gradients of ``cross_entropy_probs_forward``: ``(grad_logits, grad_target)``."""
    batch, classes, inner = class_layout(logp.shape)
    flat, stride, scale = _grad_scale(grad, float(batch * inner), reduction)
    out = np.empty_like(logp)
    out_target = np.empty_like(logp)
    _cross_entropy_probs_backward_kernel(
        flat.astype(logp.dtype, copy=False), stride, scale, logp.reshape(-1),
        np.asarray(target, dtype=logp.dtype, order="C").reshape(-1),
        _weights(weight, classes, logp.dtype), float(label_smoothing), classes, inner,
        out.reshape(-1), out_target.reshape(-1),
    )  # fmt: skip
    return out, out_target


# ---------------------------------------------------------------------------------------------
# negative log-likelihood from log-probabilities


@threaded
def _nll_loss_forward_kernel(logp, target, weight, ignore_index, classes, inner, losses, weights):
    for s in prange(target.shape[0]):
        t = target[s]
        if t == ignore_index:
            losses[s] = 0.0
            weights[s] = 0.0
        else:
            n = s // inner
            losses[s] = -weight[t] * logp[n * classes * inner + t * inner + (s - n * inner)]
            weights[s] = weight[t]


@threaded
def _nll_loss_backward_kernel(
    grad, grad_stride, scale, target, weight, ignore_index, classes, inner, out
):
    for s in prange(target.shape[0]):
        n = s // inner
        base = n * classes * inner + (s - n * inner)
        for c in range(classes):
            out[base + c * inner] = 0.0
        t = target[s]
        if t != ignore_index:
            out[base + t * inner] = -weight[t] * grad[s * grad_stride] * scale


def nll_loss_forward(
    logp: Array, target: Array, weight: Array | None, ignore_index: int, reduction: str
) -> tuple[Array, float]:
    """``-w[t] * logp[t]`` per sample, reduced; returns ``(loss, total_weight)``."""
    logp = np.asarray(logp, order="C")
    batch, classes, inner = class_layout(logp.shape)
    target = np.asarray(target, dtype=np.int64, order="C")
    _check_targets("nll_loss", target, classes, ignore_index)
    losses = np.empty(batch * inner, dtype=logp.dtype)
    sample_weights = np.empty(batch * inner, dtype=np.float64)
    _nll_loss_forward_kernel(
        logp.reshape(-1), target.reshape(-1), _weights(weight, classes, logp.dtype),
        ignore_index, classes, inner, losses, sample_weights,
    )  # fmt: skip
    total_weight = float(sample_weights.sum())
    return _reduce(losses, total_weight, reduction, target.shape), total_weight


def nll_loss_backward(
    grad: Array,
    logp: Array,
    target: Array,
    weight: Array | None,
    ignore_index: int,
    reduction: str,
    total_weight: float,
) -> Array:
    """Gradient of ``nll_loss_forward`` with respect to ``logp``: ``-w[t] * g`` at the target."""
    batch, classes, inner = class_layout(logp.shape)
    flat, stride, scale = _grad_scale(grad, total_weight, reduction)
    out = np.empty_like(logp)
    _nll_loss_backward_kernel(
        flat.astype(logp.dtype, copy=False), stride, scale,
        np.asarray(target, dtype=np.int64, order="C").reshape(-1),
        _weights(weight, classes, logp.dtype), ignore_index, classes, inner, out.reshape(-1),
    )  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# binary cross-entropy with logits


@threaded
def _bce_with_logits_forward_kernel(x, target, weight, pos_weight, losses):
    for i in prange(x.shape[0]):
        losses[i] = weight[i] * _bce_with_logits(x[i], target[i], pos_weight[i])


@threaded
def _bce_with_logits_backward_kernel(
    grad, grad_stride, scale, x, target, weight, pos_weight, out, out_target
):
    for i in prange(x.shape[0]):
        g = grad[i * grad_stride] * scale * weight[i]
        d_input, d_target = _bce_with_logits_grad(x[i], target[i], pos_weight[i])
        out[i] = g * d_input
        out_target[i] = g * d_target


def _broadcast_flat(value: Array | None, shape: tuple[int, ...], dtype) -> Array:
    if value is None:
        return np.ones(int(np.prod(shape)), dtype=dtype)
    return np.ascontiguousarray(np.broadcast_to(value.astype(dtype, copy=False), shape)).reshape(-1)


def bce_with_logits_forward(
    x: Array, target: Array, weight: Array | None, pos_weight: Array | None, reduction: str
) -> Array:
    """Binary cross-entropy on logits, elementwise over ``x``'s shape, then reduced.

    ``weight`` broadcasts to x's shape; ``pos_weight`` to x's shape along the last (class) dim.
    """
    x = np.asarray(x, order="C")
    losses = np.empty(x.size, dtype=x.dtype)
    _bce_with_logits_forward_kernel(
        x.reshape(-1), np.asarray(target, dtype=x.dtype, order="C").reshape(-1),
        _broadcast_flat(weight, x.shape, x.dtype), _broadcast_flat(pos_weight, x.shape, x.dtype),
        losses,
    )  # fmt: skip
    return _reduce(losses, float(x.size), reduction, x.shape)


def bce_with_logits_backward(
    grad: Array,
    x: Array,
    target: Array,
    weight: Array | None,
    pos_weight: Array | None,
    reduction: str,
) -> tuple[Array, Array]:
    """Gradients of ``bce_with_logits_forward``: ``(grad_x, grad_target)``, both x's shape."""
    flat, stride, scale = _grad_scale(grad, float(x.size), reduction)
    out = np.empty_like(x)
    out_target = np.empty_like(x)
    _bce_with_logits_backward_kernel(
        flat.astype(x.dtype, copy=False), stride, scale, x.reshape(-1),
        np.asarray(target, dtype=x.dtype, order="C").reshape(-1),
        _broadcast_flat(weight, x.shape, x.dtype), _broadcast_flat(pos_weight, x.shape, x.dtype),
        out.reshape(-1), out_target.reshape(-1),
    )  # fmt: skip
    return out, out_target
