"""Batch normalization and layer normalization.

Both compute ``y = (x - mean) / sqrt(var + eps) * weight + bias``; they differ in what the
statistics are taken over. Batch norm: per channel, over the batch and the spatial positions
of ``(N, C, *)`` (in training; the running averages at evaluation). Layer norm: per sample,
over the trailing ``normalized_shape``; its channels-first form (ConvNeXt's ``LayerNorm2d``),
per pixel over the channel axis of ``(N, C, *)``. All use the biased variance to normalise.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._checks import float_tensor, int_sequence, real


class BatchNorm(Function):
    """Training: batch statistics, whose dependence on x enters the gradient
    (``dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat))``). Evaluation: the running
    statistics are constants (``dx = w * invstd * g``).

    The running statistics are inputs like the others (so they must be on the input's
    device) that never get a gradient; training mode updates them here and nowhere else.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, num_batches_tracked, training,
                momentum, eps):
        k = ctx.kernels
        ctx.training = training
        ctx.empty = x.size == 0
        if training:
            if num_batches_tracked is not None:
                k.batch_norm_count(num_batches_tracked)
            if ctx.empty:  # as PyTorch: an empty batch leaves the running statistics alone
                ctx.channels = x.shape[1]
                return k.copy(x)
            if num_batches_tracked is not None:
                if momentum is None:  # cumulative average: batch b weighs 1 / b
                    momentum = 1.0 / float(k.to_numpy(num_batches_tracked))
            y, mean, invstd = k.batch_norm_forward_train(
                x, weight, bias, eps, running_mean, running_var,
                0.0 if momentum is None else momentum,
            )  # fmt: skip
            ctx.save_for_backward(x, weight, mean, invstd)
            return y
        # Copies: the running statistics may be updated in place before backward runs.
        ctx.save_for_backward(x, weight, k.copy(running_mean), k.copy(running_var))
        ctx.eps = eps
        return k.batch_norm_forward_eval(x, running_mean, running_var, weight, bias, eps)

    @staticmethod
    def backward(ctx, grad):
        k = ctx.kernels
        if ctx.training and ctx.empty:
            zeros = k.zeros((ctx.channels,), grad.dtype)
            grad_x, grad_weight, grad_bias = grad, zeros, k.copy(zeros)
        elif ctx.training:
            x, weight, mean, invstd = ctx.saved_arrays
            grad_x, grad_weight, grad_bias = k.batch_norm_backward(grad, x, mean, invstd, weight)
        else:
            x, weight, running_mean, running_var = ctx.saved_arrays
            grad_x, grad_weight, grad_bias = k.batch_norm_backward_eval(
                grad, x, running_mean, running_var, weight, ctx.eps
            )
        needs = ctx.needs_input_grad
        return (grad_x, grad_weight if needs[1] else None, grad_bias if needs[2] else None,
                None, None, None)


class LayerNorm(Function):
    """Per row of D = prod(normalized_shape) values:
    ``dx = invstd * (g w - mean(g w) - xhat * mean(g w xhat))``."""

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape, eps):
        size = 1
        for extent in normalized_shape:
            size *= extent
        y, mean, invstd = ctx.kernels.layer_norm_forward(x, size, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.normalized_shape = normalized_shape
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, mean, invstd = ctx.saved_arrays
        grad_x, grad_weight, grad_bias = ctx.kernels.layer_norm_backward(
            grad, x, mean, invstd, weight
        )
        needs = ctx.needs_input_grad
        shape = ctx.normalized_shape
        return (
            grad_x,
            grad_weight.reshape(shape) if needs[1] else None,
            grad_bias.reshape(shape) if needs[2] else None,
        )


class LayerNorm2d(Function):
    """Per pixel (n, s), over the C channels, with the layer-norm gradient
    ``dx = invstd * (g w - mean_c(g w) - xhat * mean_c(g w xhat))``; the kernels read the
    channels in place (no permuted copies)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        y, mean, invstd = ctx.kernels.layer_norm2d_forward(x, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, mean, invstd = ctx.saved_arrays
        grad_x, grad_weight, grad_bias = ctx.kernels.layer_norm2d_backward(
            grad, x, mean, invstd, weight
        )
        needs = ctx.needs_input_grad
        return grad_x, grad_weight if needs[1] else None, grad_bias if needs[2] else None


def _affine(op: str, name: str, value, shape: tuple[int, ...], input: Tensor) -> Tensor | None:
    """A weight/bias/statistic of ``shape`` in the input's dtype, or None."""
    if value is None:
        return None
    float_tensor(op, name, value)
    if value.shape != shape:
        raise ValueError(
            f"{op}: {name} has shape {value.shape}, expected {shape} for input {input.shape}"
        )
    return value if value.dtype == input.dtype else value.to(input.dtype)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    *,
    num_batches_tracked: Tensor | None = None,
) -> Tensor:
    """Normalise each channel of ``input`` (N, C, *) -> same shape.

    ``y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c``. In training, mean and
    (biased) var are the batch's, over N and *, and the running statistics (C,), when given,
    are updated in place: ``r = (1 - momentum) * r + momentum * stat``, with the unbiased
    variance ``var * M / (M - 1)`` (M = N * prod(*)) for ``running_var``. Otherwise the
    running statistics are used and left alone.

    ``num_batches_tracked`` (a 0-d integer tensor, as ``nn.BatchNorm2d`` keeps) is
    incremented by each training call; ``momentum=None`` then makes the running statistics
    the cumulative average of all batches (``momentum = 1 / num_batches_tracked``).
    """
    op = "batch_norm"
    float_tensor(op, "input", input)
    if input.ndim < 2:
        raise ValueError(
            f"{op}: input must be (N, C, *) with at least 2 dimensions, got {input.shape}"
        )
    channels = input.shape[1]
    if momentum is None:
        if training and num_batches_tracked is None and (
            running_mean is not None or running_var is not None
        ):
            raise ValueError(f"{op}: momentum=None (a cumulative average) needs "
                             f"num_batches_tracked")
    elif not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{op}: momentum must be in [0, 1], got {momentum}")
    if eps < 0:
        raise ValueError(f"{op}: eps must be non-negative, got {eps}")
    if training:
        per_channel = input.numel() // channels if channels else 0
        if per_channel <= 1 and input.shape[0] != 0:  # an empty batch passes through
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, "
                f"got input of shape {input.shape}"
            )
    elif running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are required when not training")
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is not None:
            float_tensor(op, name, value)
            if value.shape != (channels,):
                raise ValueError(
                    f"{op}: {name} has shape {value.shape}, expected ({channels},) "
                    f"for input {input.shape}"
                )
            if value.requires_grad:
                raise ValueError(f"{op}: {name} must not require grad (it is updated in place)")
    if num_batches_tracked is not None and (
        num_batches_tracked.shape != () or np.dtype(num_batches_tracked.dtype).kind not in "iu"
    ):
        raise ValueError(f"{op}: num_batches_tracked must be a 0-d integer tensor, got shape "
                         f"{num_batches_tracked.shape} and dtype {num_batches_tracked.dtype}")
    weight = _affine(op, "weight", weight, (channels,), input)
    bias = _affine(op, "bias", bias, (channels,), input)
    return BatchNorm.apply(
        input, weight, bias, running_mean, running_var, num_batches_tracked,
        training=bool(training), momentum=None if momentum is None else float(momentum),
        eps=float(eps),
    )  # fmt: skip


def layer_norm(
    input: Tensor,
    normalized_shape: int | tuple[int, ...] | list[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions of ``input`` -> same shape.

    For input (*, *normalized_shape), each of the prod(*) groups gets its own mean and biased
    variance; ``weight`` and ``bias`` have shape ``normalized_shape``.
    """
    op = "layer_norm"
    float_tensor(op, "input", input)
    shape = int_sequence(op, "normalized_shape", (normalized_shape,)
                         if not isinstance(normalized_shape, (tuple, list)) else normalized_shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"{op}: normalized_shape must be positive ints, got {normalized_shape}")
    if input.shape[input.ndim - len(shape) :] != shape or input.ndim < len(shape):
        raise ValueError(
            f"{op}: normalized_shape {shape} does not match the trailing dimensions of "
            f"input {input.shape}"
        )
    eps = real(op, "eps", eps, 0)
    weight = _affine(op, "weight", weight, shape, input)
    bias = _affine(op, "bias", bias, shape, input)
    return LayerNorm.apply(input, weight, bias, normalized_shape=shape, eps=eps)


def layer_norm2d(
    input: Tensor,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer norm over the channel axis of ``input`` (N, C, *) -> same shape: each pixel's C
    values get their own mean and biased variance, ``weight`` and ``bias`` are (C,).

    The same numbers as ``layer_norm(x.permute(0, 2, 3, 1), C).permute(0, 3, 1, 2)`` (what
    torchvision's ``LayerNorm2d`` computes), without the two permuted copies. No PyTorch
    functional twin.
    """
    op = "layer_norm2d"
    float_tensor(op, "input", input)
    if input.ndim < 2 or input.shape[1] == 0:
        raise ValueError(f"{op}: input must be (N, C, *) with C >= 1, got shape {input.shape}")
    eps = real(op, "eps", eps, 0)
    channels = (input.shape[1],)
    weight = _affine(op, "weight", weight, channels, input)
    bias = _affine(op, "bias", bias, channels, input)
    return LayerNorm2d.apply(input, weight, bias, eps=eps)
