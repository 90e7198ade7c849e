"""Softmax and log-softmax along one dimension, numerically stable for large logits.

Both subtract the maximum before exponentiating (``softmax(x) = softmax(x - c)`` for any
constant ``c``), so ``exp`` never sees a positive argument: logits of 1e4 give exact one-hot
probabilities instead of ``inf / inf = nan``. Both backward passes need only the output.
"""

from __future__ import annotations

import warnings

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


def _implicit_dim(op: str, dim: int | None, ndim: int) -> int:
    """``dim``, or for ``dim=None`` PyTorch's old implicit choice (0 for 0-, 1- and 3-d
    input, else 1), with PyTorch's deprecation warning."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """Probabilities along ``dim``: ``softmax_i = exp(x_i - max) / sum_j exp(x_j - max)``.

    Any shape -> same shape; every slice along ``dim`` sums to 1.

    >>> softmax(tensor([1.0, 2.0, 3.0]), dim=0)   # tensor([0.0900, 0.2447, 0.6652])
    """
    float_tensor("softmax", "input", input)
    dim = _implicit_dim("softmax", dim, input.ndim)
    return Softmax.apply(input, dim=check_dim("softmax", dim, input.ndim))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """Log-probabilities along ``dim``: ``x_i - max - log(sum_j exp(x_j - max))``.

    Any shape -> same shape. More accurate than ``log(softmax(x))``: tiny probabilities keep
    their logarithm instead of underflowing to ``log(0) = -inf``.
    """
    float_tensor("log_softmax", "input", input)
    dim = _implicit_dim("log_softmax", dim, input.ndim)
    return LogSoftmax.apply(input, dim=check_dim("log_softmax", dim, input.ndim))
