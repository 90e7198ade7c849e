"""Scans and products along dimensions: cumsum and prod.

``cumsum``'s gradient is the running sum taken the other way (each input element feeds every
output at or after it). ``prod``'s gradient is the product of the *other* elements, computed
without dividing by zero: a line with one zero sends the whole gradient to that zero, a line
with two or more sends none.
"""

from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor, int64
from ._checks import dim as check_dim
from ._checks import dims as check_dims
from ._checks import tensor_arg


class Cumsum(Function):
    """out[i] = x[0] + ... + x[i] along ``axis``;  dx[i] = dout[i] + ... + dout[n - 1]."""

    @staticmethod
    def forward(ctx, x, *, axis):
        ctx.axis = axis
        return ctx.kernels.cumsum(x, axis)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.cumsum(grad, ctx.axis, reverse=True)


def cumsum(input: Tensor, dim: int, dtype=None) -> Tensor:
    """Running sums along ``dim``: [1, 2, 3] -> [1, 3, 6]; same shape. Integer and bool inputs
    give int64, as in PyTorch (or ``dtype`` when given)."""
    tensor_arg("cumsum", "input", input)
    axis = check_dim("cumsum", dim, input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind != "f":
        input = input.to(int64)
    if input.ndim == 0:
        return input.reshape(1).cumsum(0).reshape(())
    return Cumsum.apply(input, axis=axis)


class Prod(Function):
    """out = product of x over ``axes``;  dx_i = dout * (product of the other elements).

    With no zero in a line that is out / x_i; with exactly one zero, the zero's gradient is
    the product of the non-zeros and the rest get 0; with more zeros every gradient is 0.
    """

    @staticmethod
    def forward(ctx, x, *, axes, keepdim):
        out = ctx.kernels.reduce("prod", x, axes, keepdim=True)
        ctx.axes = axes
        ctx.save_for_backward(x)
        return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        k = ctx.kernels
        zero, one = k.full((), 0, x.dtype), k.full((), 1, x.dtype)
        is_zero = k.binary("eq", x, zero)
        zeros = k.reduce("sum", k.astype(is_zero, x.dtype), ctx.axes, keepdim=True)
        nonzero_product = k.reduce("prod", k.where(is_zero, one, x), ctx.axes, keepdim=True)
        grad = grad.reshape(nonzero_product.shape)
        no_zero = k.binary("div", nonzero_product, x)  # never read where x is 0
        one_zero = k.where(is_zero, nonzero_product, zero)
        others = k.where(k.binary("eq", zeros, zero), no_zero,
                         k.where(k.binary("eq", zeros, one), one_zero, zero))
        return k.binary("mul", others, grad)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, dtype=None) -> Tensor:
    """Product over ``dim`` (None: all elements -> 0-d): (2, 3) over dim 1 -> (2,), or (2, 1)
    with keepdim. Integer and bool inputs give int64, as in PyTorch."""
    tensor_arg("prod", "input", input)
    if dim is not None:
        check_dim("prod", dim, input.ndim)
    axes = check_dims("prod", dim, input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind != "f":
        input = input.to(int64)
    return Prod.apply(input, axes=axes, keepdim=keepdim)
