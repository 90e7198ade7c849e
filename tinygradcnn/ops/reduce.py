"""Reductions over dimensions: sum, mean, max/min (and their argmax/argmin), var, std."""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, float32

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def normalize_dims(name: str, dim, ndim: int) -> tuple[int, ...]:
    """``dim`` (None, int or tuple, negatives allowed) as sorted non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    result, bound = [], builtins.max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1
    for d in dims:
        if not -bound <= d < bound:
            raise IndexError(f"{name}: dim {d} out of range for a tensor with {ndim} dimensions")
        result.append(int(d) % bound)
    if len(set(result)) != len(result):
        raise ValueError(f"{name}: dim {dim} repeats a dimension")
    return tuple(sorted(a for a in result if a < ndim))


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
    """Sum over ``dim`` (None: all). (d0, .., dn) -> reduced dims removed (or 1 if keepdim)."""
    return Sum.apply(input, axes=normalize_dims("sum", dim, input.ndim), keepdim=keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Arithmetic mean over ``dim`` (None: all)."""
    axes = normalize_dims("mean", dim, input.ndim)
    count = int(np.prod([input.shape[a] for a in axes]))
    return sum(_float(input), axes, keepdim) / count


def var(input: Tensor, dim=None, keepdim: bool = False, *, correction: int = 1, unbiased=None):
    """Variance over ``dim``: sum((x - mean)^2) / (n - correction).

    ``unbiased=False`` is the older spelling of ``correction=0``.
    """
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_dims("var", dim, input.ndim)
    count = int(np.prod([input.shape[a] for a in axes]))
    centred = _float(input) - mean(input, axes, keepdim=True)
    return sum(centred * centred, axes, keepdim) / builtins.max(count - correction, 0)


def std(input: Tensor, dim=None, keepdim: bool = False, *, correction: int = 1, unbiased=None):
    """Standard deviation over ``dim``: sqrt(var)."""
    return var(input, dim, keepdim, correction=correction, unbiased=unbiased).sqrt()


def _extreme(op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    axes = normalize_dims(op, dim, input.ndim)
    if any(input.shape[a] == 0 for a in axes) or (input.numel() == 0 and dim is None):
        raise ValueError(f"{op}: cannot reduce an empty dimension of a tensor of shape "
                         f"{input.shape}")
    return Extreme.apply(input, op=op, axes=axes, keepdim=keepdim)


def amax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Largest value over ``dim`` (int or tuple; None: all)."""
    return _extreme("max", input, dim, keepdim)


def amin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim`` (int or tuple; None: all)."""
    return _extreme("min", input, dim, keepdim)


def _first_largest(op: str, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    # an empty reduction has no index to return (the kernel would read past the end)
    empty = ValueError(f"{op}: cannot reduce an empty dimension of a tensor of shape "
                       f"{input.shape}")
    if dim is None:
        if input.numel() == 0:
            raise empty
        return _first_largest(op, input.reshape(-1), 0, False)
    (axis,) = normalize_dims(op, dim, input.ndim) or (0,)
    if input.ndim == 0:
        return Tensor._make(input.kernels.full((), 0, np.int64))
    if input.shape[axis] == 0:
        raise empty
    return Tensor._make(input.kernels.argmax(input.data, axis, keepdim))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first largest value along ``dim`` (None: of the flattened tensor), int64."""
    return _first_largest("argmax", input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first smallest value along ``dim``, int64."""
    return _first_largest("argmin", -_float(input), dim, keepdim)


def max(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """Largest value: over all elements (dim=None) -> 0-d tensor; over an int ``dim`` ->
    ``(values, indices)`` as in PyTorch; over a tuple ``dim`` -> values (as ``amax``)."""
    if isinstance(dim, (int, np.integer)):
        return ValuesIndices(amax(input, dim, keepdim), argmax(input, dim, keepdim))
    return amax(input, dim, keepdim)


def min(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """Smallest value; same forms as ``max``."""
    if isinstance(dim, (int, np.integer)):
        return ValuesIndices(amin(input, dim, keepdim), argmin(input, dim, keepdim))
    return amin(input, dim, keepdim)
