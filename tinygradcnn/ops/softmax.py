"""Softmax and log-softmax along one dimension, numerically stable for large logits.

Both subtract the maximum before exponentiating (``softmax(x) = softmax(x - c)`` for any
constant ``c``), so ``exp`` never sees a positive argument: logits of 1e4 give exact one-hot
probabilities instead of ``inf / inf = nan``. Both backward passes need only the output.
"""

from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._checks import dim as check_dim
from ._checks import float_tensor


class Softmax(Function):
    """y = softmax(x) along dim;  dx = y * (g - sum(g * y))."""

    @staticmethod
    def forward(ctx, x, dim):
        y = ctx.kernels.softmax_forward(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return ctx.kernels.softmax_backward(y, grad, ctx.dim)


class LogSoftmax(Function):
    """y = log_softmax(x) along dim;  dx = g - exp(y) * sum(g)."""

    @staticmethod
    def forward(ctx, x, dim):
        y = ctx.kernels.log_softmax_forward(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return ctx.kernels.log_softmax_backward(y, grad, ctx.dim)


def softmax(input: Tensor, dim: int) -> Tensor:
    """Probabilities along ``dim``: ``softmax_i = exp(x_i - max) / sum_j exp(x_j - max)``.

    Any shape -> same shape; every slice along ``dim`` sums to 1.

    >>> softmax(tensor([1.0, 2.0, 3.0]), dim=0)   # tensor([0.0900, 0.2447, 0.6652])
    """
    float_tensor("softmax", "input", input)
    return Softmax.apply(input, dim=check_dim("softmax", dim, input.ndim))


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """Log-probabilities along ``dim``: ``x_i - max - log(sum_j exp(x_j - max))``.

    Any shape -> same shape. More accurate than ``log(softmax(x))``: tiny probabilities keep
    their logarithm instead of underflowing to ``log(0) = -inf``.
    """
    float_tensor("log_softmax", "input", input)
    return LogSoftmax.apply(input, dim=check_dim("log_softmax", dim, input.ndim))
