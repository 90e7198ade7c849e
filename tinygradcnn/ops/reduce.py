"""Reductions over dimensions: sum, mean, max/min (and their argmax/argmin), var, std, norm,
any and all."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, float32
from ._checks import dim as check_dim
from ._checks import dims as check_dims
from ._checks import is_int

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _keepdim_shape(shape, axes) -> tuple[int, ...]:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """out = sum of x over ``axes``; each input element gets the gradient of its sum."""

    @staticmethod
    def forward(ctx, x, *, axes, keepdim):
        ctx.input_shape, ctx.axes = x.shape, axes
        return ctx.kernels.reduce("sum", x, axes, keepdim)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.reshape(_keepdim_shape(ctx.input_shape, ctx.axes))
        return ctx.kernels.expand(grad, ctx.input_shape)


class Extreme(Function):
    """out = max (or min) of x over ``axes``.

    The gradient goes to the elements equal to the extreme, split evenly among ties
    (as ``torch.amax``): d out / d x_i = [x_i == out] / count.
    """

    @staticmethod
    def forward(ctx, x, *, op, axes, keepdim):
        k = ctx.kernels
        out = k.reduce(op, x, axes, keepdim=True)
        ctx.axes = axes
        ctx.save_for_backward(x, out)
        return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_arrays
        k = ctx.kernels
        mask = k.astype(k.binary("eq", x, out), x.dtype)
        count = k.reduce("sum", mask, ctx.axes, keepdim=True)
        return k.binary("mul", mask, k.binary("div", grad.reshape(out.shape), count))


def _float(x: Tensor) -> Tensor:
    return x if x.dtype.kind == "f" else x.to(float32)


def sum(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (None: all; an int or a tuple of ints, negatives from the end).

    Shapes: (d0, ..., dn) -> the reduced dims removed, or kept as 1 with ``keepdim``:
    (2, 3) summed over dim 1 -> (2,), or (2, 1) with keepdim; over None -> ().
    """
    return Sum.apply(input, axes=check_dims("sum", dim, input.ndim), keepdim=keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Arithmetic mean over ``dim`` (None: all); shapes as ``sum``. Integer inputs give float32."""
    axes = check_dims("mean", dim, input.ndim)
    count = int(np.prod([input.shape[a] for a in axes]))
    return sum(_float(input), axes, keepdim) / count


def _correction(op: str, dim, unbiased, correction):
    """PyTorch's overloads: ``var(dim, unbiased, keepdim)``, ``var(unbiased)`` (a bool first)
    and ``var(dim, correction=c)``: (dim, correction), the default correction 1."""
    if isinstance(dim, (bool, np.bool_)):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: give unbiased or correction, not both")
    if unbiased is not None:
        return dim, 1 if unbiased else 0
    return dim, 1 if correction is None else correction


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance over ``dim``: sum((x - mean)^2) / (n - correction); shapes as ``sum``.

    As in PyTorch, the second positional argument is ``unbiased`` (False: ``correction=0``),
    and ``var(False)`` is the biased variance of all elements.
    """
    dim, correction = _correction("var", dim, unbiased, correction)
    axes = check_dims("var", dim, input.ndim)
    count = int(np.prod([input.shape[a] for a in axes]))
    centred = _float(input) - mean(input, axes, keepdim=True)
    return sum(centred * centred, axes, keepdim) / builtins.max(count - correction, 0)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation over ``dim``: sqrt(var); arguments and shapes as ``var``."""
    dim, correction = _correction("std", dim, unbiased, correction)
    check_dims("std", dim, input.ndim)
    return var(input, dim, keepdim=keepdim, correction=correction).sqrt()


def _extreme(op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    axes = check_dims(op, dim, input.ndim)
    if builtins.any(input.shape[a] == 0 for a in axes) or (input.numel() == 0 and dim is None):
        raise ValueError(f"{op}: cannot reduce an empty dimension of a tensor of shape "
                         f"{input.shape}")
    return Extreme.apply(input, op=op, axes=axes, keepdim=keepdim)


def amax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Largest value over ``dim`` (int or tuple; None: all); shapes as ``sum``."""
    return _extreme("max", input, dim, keepdim)


def amin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim`` (int or tuple; None: all); shapes as ``sum``."""
    return _extreme("min", input, dim, keepdim)


def _first_largest(op: str, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    # an empty reduction has no index to return (the kernel would read past the end)
    empty = ValueError(f"{op}: cannot reduce an empty dimension of a tensor of shape "
                       f"{input.shape}")
    if dim is None:
        if input.numel() == 0:
            raise empty
        return _first_largest(op, input.reshape(-1), 0, False)
    axis = check_dim(op, dim, input.ndim)
    if input.ndim == 0:
        return Tensor._make(input.kernels.full((), 0, np.int64))
    if input.shape[axis] == 0:
        raise empty
    return Tensor._make(input.kernels.argmax(input.data, axis, keepdim))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first largest value along ``dim`` (None: of the flattened tensor), int64.

    Shapes: (d0, ..., dn) -> ``dim`` removed (kept as 1 with ``keepdim``); dim=None -> ().
    """
    return _first_largest("argmax", input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first smallest value along ``dim``, int64; shapes as ``argmax``."""
    return _first_largest("argmin", -_float(input), dim, keepdim)


def max(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """Largest value: over all elements (dim=None) -> 0-d tensor; over an int ``dim`` ->
    ``(values, indices)`` as in PyTorch, each with ``dim`` removed ((2, 3) over dim 1 -> two
    (2,) tensors); over a tuple ``dim`` -> values (as ``amax``). ``max(input, other)`` with
    a tensor ``other`` is the elementwise ``maximum``, as in PyTorch."""
    if isinstance(dim, Tensor):
        return input.maximum(dim)
    if is_int(dim):
        return ValuesIndices(amax(input, dim, keepdim), argmax(input, dim, keepdim))
    return amax(input, dim, keepdim)


def min(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """Smallest value; same forms and shapes as ``max`` (a tensor ``dim``: ``minimum``)."""
    if isinstance(dim, Tensor):
        return input.minimum(dim)
    if is_int(dim):
        return ValuesIndices(amin(input, dim, keepdim), argmin(input, dim, keepdim))
    return amin(input, dim, keepdim)


class PNorm(Function):
    """out = (sum |x|^p)^(1/p) over ``axes``;  dx = dout * sign(x) |x|^(p-1) / out^(p-1).

    Where ``out`` is 0 the gradient is 0 (PyTorch's subgradient), not the 0/0 of the formula.
    """

    @staticmethod
    def forward(ctx, x, *, p, axes, keepdim):
        k = ctx.kernels
        power = k.full((), p, x.dtype)
        magnitude = k.unary("abs", x)
        total = k.reduce("sum", k.binary("pow", magnitude, power), axes, keepdim=True)
        out = k.binary("pow", total, k.full((), 1.0 / p, x.dtype))
        ctx.p = p
        ctx.save_for_backward(x, out)
        return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_arrays
        k = ctx.kernels
        exponent = k.full((), ctx.p - 1.0, x.dtype)
        zero = k.full((), 0, x.dtype)
        ratio = k.binary("pow", k.binary("div", k.unary("abs", x), out), exponent)
        ratio = k.where(k.binary("eq", out, zero), zero, ratio)
        return k.binary("mul", k.binary("mul", k.unary("sign", x), ratio),
                        grad.reshape(out.shape))


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector p-norm over ``dim`` (None: all elements): p = 2 or "fro" sqrt(sum x^2),
    1 sum |x|, inf max |x|, -inf min |x|, 0 the count of non-zeros, any other p
    (sum |x|^p)^(1/p). Shapes as ``sum``: (2, 3) over dim 1 -> (2,)."""
    if dtype is not None:
        input = input.to(dtype)
    input = _float(input)
    if p == "fro":
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float, np.number)):
        raise ValueError(f"norm: p must be a number, inf or 'fro', got {p!r} (matrix norms "
                         f"such as 'nuc' are not supported)")
    p = float(p)
    axes = check_dims("norm", dim, input.ndim)
    if p == math.inf:
        return amax(input.abs(), axes, keepdim)
    if p == -math.inf:
        return amin(input.abs(), axes, keepdim)
    if p == 0:
        return sum(input.ne(0).to(input.dtype), axes, keepdim)
    if p == 1:
        return sum(input.abs(), axes, keepdim)
    return PNorm.apply(input, p=p, axes=axes, keepdim=keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any element over ``dim`` (None: all) is non-zero (bool); shapes as ``sum``."""
    axes = check_dims("any", dim, input.ndim)
    return sum(input.ne(0).to(np.int64), axes, keepdim).gt(0)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element over ``dim`` (None: all) is non-zero (bool); shapes as ``sum``."""
    axes = check_dims("all", dim, input.ndim)
    return sum(input.eq(0).to(np.int64), axes, keepdim).eq(0)
