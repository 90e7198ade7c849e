"""Loss functions with PyTorch's semantics: cross-entropy, NLL, MSE, L1, BCE with logits.

Cross-entropy is one fused kernel (log-softmax and the class pick in one pass over the
logits); its gradient is ``softmax(x) - target`` scaled by the reduction, with no softmax
tensor kept in between. Reductions: ``"none"`` keeps one loss per sample, ``"sum"`` adds them,
``"mean"`` divides by the summed class weights of the non-ignored samples (integer targets)
or by the number of elements (everything else), as PyTorch does.
"""

from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor, int64
from ._checks import (
    as_int,
    broadcast_shape,
    float_tensor,
    one_of,
    real,
    shape_is,
    tensor_arg,
    warn_if_broadcast,
)

REDUCTIONS = ("none", "mean", "sum")


def _class_weight(op: str, weight, input: Tensor) -> Tensor | None:
    """``weight`` as a (C,) tensor of the input's dtype, or None."""
    if weight is None:
        return None
    float_tensor(op, "weight", weight)
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    shape_is(op, "weight", weight, (classes,), f"(one per class) for input {input.shape}")
    return weight if weight.dtype == input.dtype else weight.to(input.dtype)


def _class_target(op: str, input: Tensor, target: Tensor) -> Tensor:
    """Check an integer class target against (C,), (N, C) or (N, C, d1, ...) scores."""
    expected = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
    shape_is(op, "target", target, expected, f"for input {input.shape}")
    return target if target.dtype == int64 else target.long()


def _check_scores(op: str, input: Tensor) -> None:
    float_tensor(op, "input", input)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    if classes == 0:
        raise ValueError(f"{op}: input {input.shape} has no classes (dimension 1 is 0)")


class CrossEntropy(Function):
    """loss = -sum_c q_c log softmax(x)_c;  dx = g * (softmax(x) * sum_c q_c - q) (see
    kernels/cpu/loss.py for q, the smoothed and weighted target distribution)."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        loss, logp, total_weight = ctx.kernels.cross_entropy_forward(
            x, target, weight, ignore_index, label_smoothing, reduction
        )
        ctx.save_for_backward(logp, target, weight)
        ctx.params = (ignore_index, label_smoothing, reduction, total_weight)
        return loss

    @staticmethod
    def backward(ctx, grad):
        logp, target, weight = ctx.saved_arrays
        ignore_index, label_smoothing, reduction, total_weight = ctx.params
        grad_x = ctx.kernels.cross_entropy_backward(
            grad, logp, target, weight, ignore_index, label_smoothing, reduction, total_weight
        )
        return grad_x, None, None


class CrossEntropyProbs(Function):
    """Cross-entropy against class probabilities; differentiable in the logits and the target."""

    @staticmethod
    def forward(ctx, x, target, weight, label_smoothing, reduction):
        loss, logp = ctx.kernels.cross_entropy_probs_forward(
            x, target, weight, label_smoothing, reduction
        )
        ctx.save_for_backward(logp, target, weight)
        ctx.params = (label_smoothing, reduction)
        return loss

    @staticmethod
    def backward(ctx, grad):
        logp, target, weight = ctx.saved_arrays
        grad_x, grad_target = ctx.kernels.cross_entropy_probs_backward(
            grad, logp, target, weight, *ctx.params
        )
        return grad_x, (grad_target if ctx.needs_input_grad[1] else None), None


class NLLLoss(Function):
    """loss = -w[t] * x[t] per sample;  dx is -w[t] * g at the target class, 0 elsewhere."""

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        loss, total_weight = ctx.kernels.nll_loss_forward(
            logp, target, weight, ignore_index, reduction
        )
        ctx.save_for_backward(logp, target, weight)
        ctx.params = (ignore_index, reduction, total_weight)
        return loss

    @staticmethod
    def backward(ctx, grad):
        logp, target, weight = ctx.saved_arrays
        grad_logp = ctx.kernels.nll_loss_backward(grad, logp, target, weight, *ctx.params)
        return grad_logp, None, None


class BCEWithLogits(Function):
    """loss = w * ((1 - t) x + (1 + (pw - 1) t) softplus(-x));
    dx = w * ((1 + (pw - 1) t) sigmoid(x) - pw t),  dt = w * ((pw - 1) softplus(-x) - x)."""

    @staticmethod
    def forward(ctx, x, target, weight, pos_weight, reduction):
        ctx.save_for_backward(x, target, weight, pos_weight)
        ctx.reduction = reduction
        return ctx.kernels.bce_with_logits_forward(x, target, weight, pos_weight, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight, pos_weight = ctx.saved_arrays
        grad_x, grad_target = ctx.kernels.bce_with_logits_backward(
            grad, x, target, weight, pos_weight, ctx.reduction
        )
        return grad_x, (grad_target if ctx.needs_input_grad[1] else None), None, None


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits and classes: ``-log softmax(input)[target]`` per sample.

    Shapes: ``input`` (C,), (N, C) or (N, C, d1, ...) holds logits; ``target`` is either
    class indices (int64) of shape (), (N,) or (N, d1, ...), or class probabilities of the
    input's shape. ``weight`` (C,) rescales each class; samples whose target is
    ``ignore_index`` add nothing. With ``label_smoothing`` = eps the target becomes
    ``(1 - eps) * onehot + eps / C``. Returns a 0-d tensor, or the target's per-sample shape
    for ``reduction="none"``.

    >>> cross_entropy(tensor([[2.0, 0.0]]), tensor([0]))   # -log(e^2 / (e^2 + 1)) = 0.1269
    """
    op = "cross_entropy"
    _check_scores(op, input)
    one_of(op, "reduction", reduction, REDUCTIONS)
    label_smoothing = real(op, "label_smoothing", label_smoothing, 0, 1)
    ignore_index = as_int(op, "ignore_index", ignore_index)
    tensor_arg(op, "target", target)
    weight = _class_weight(op, weight, input)
    if target.dtype.kind == "f":
        shape_is(op, "probability target", target, input.shape, "(the input's shape)")
        target = target if target.dtype == input.dtype else target.to(input.dtype)
        return CrossEntropyProbs.apply(
            input, target, weight, label_smoothing=label_smoothing, reduction=reduction
        )
    target = _class_target(op, input, target)
    return CrossEntropy.apply(
        input, target, weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
        reduction=reduction,
    )  # fmt: skip


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: ``-weight[t] * input[t]`` per sample, from log-probabilities.

    Shapes as ``cross_entropy`` with integer targets; ``nll_loss(log_softmax(x, 1), t)``
    equals ``cross_entropy(x, t)``.
    """
    op = "nll_loss"
    _check_scores(op, input)
    one_of(op, "reduction", reduction, REDUCTIONS)
    ignore_index = as_int(op, "ignore_index", ignore_index)
    if not isinstance(target, Tensor) or target.dtype.kind not in "iu":
        kind = target.dtype if isinstance(target, Tensor) else type(target).__name__
        raise TypeError(f"{op}: target must be an integer Tensor of class indices, got {kind}")
    weight = _class_weight(op, weight, input)
    target = _class_target(op, input, target)
    return NLLLoss.apply(input, target, weight, ignore_index=ignore_index, reduction=reduction)


def _pair(op: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Two float tensors, the target cast to the input's dtype."""
    float_tensor(op, "input", input)
    float_tensor(op, "target", target)
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    return input, target


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _elementwise_pair(op: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """``_pair`` for losses that broadcast, with PyTorch's warning when the shapes differ."""
    input, target = _pair(op, input, target)
    broadcast_shape(op, input, target)
    warn_if_broadcast(op, input, target, stacklevel=4)
    return input, target


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input - target)^2``, elementwise then reduced.

    Shapes: input (*), target (*) -> () (or the broadcast shape for ``reduction="none"``).
    Shapes that differ still broadcast, with PyTorch's UserWarning: a (N, 1) prediction
    against a (N,) target gives (N, N) differences, almost never what was meant.

    >>> mse_loss(tensor([1.0, 2.0]), tensor([1.0, 4.0]))   # ((1-1)^2 + (2-4)^2) / 2 = 2.0
    """
    one_of("mse_loss", "reduction", reduction, REDUCTIONS)
    input, target = _elementwise_pair("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input - target|``, elementwise then reduced (gradient
    ``sign(input - target)``, 0 where they are equal).

    Shapes as ``mse_loss`` (including the warning for shapes that differ).
    """
    one_of("l1_loss", "reduction", reduction, REDUCTIONS)
    input, target = _elementwise_pair("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)`` against ``target`` in [0, 1], computed from
    the logits in the stable form ``max(x, 0) - x t + log(1 + exp(-|x|))``.

    Shapes: input (*), target (*) the same -> () (or (*) for ``reduction="none"``);
    ``weight`` broadcasts to the input (per element);
    ``pos_weight`` broadcasts along the last (class) dimension and scales the positive term:
    ``-w * (pw * t * log sigmoid(x) + (1 - t) * log(1 - sigmoid(x)))``.
    """
    op = "binary_cross_entropy_with_logits"
    one_of(op, "reduction", reduction, REDUCTIONS)
    input, target = _pair(op, input, target)
    shape_is(op, "target", target, input.shape, "(the input's shape)")
    extras = []
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is not None:
            float_tensor(op, name, value)
            if not _broadcasts_to(value.shape, input.shape):
                raise ValueError(
                    f"{op}: {name} of shape {value.shape} does not broadcast to input {input.shape}"
                )
            value = value if value.dtype == input.dtype else value.to(input.dtype)
        extras.append(value)
    return BCEWithLogits.apply(input, target, *extras, reduction=reduction)


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if len(shape) > len(target):
        return False
    return all(
        size in (1, full) for size, full in zip(reversed(shape), reversed(target), strict=False)
    )
