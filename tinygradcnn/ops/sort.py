"""Sorting: sort, argsort and topk along one dimension, with their indices.

``sort`` is one Function; ``topk`` is the first ``k`` of a sort (a slice, whose gradient the
slice op already scatters back), and ``argsort`` its indices. The gradient of a sort puts
each output gradient back where its value came from: an inverse permutation per line.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._checks import as_int, tensor_arg
from ._checks import dim as check_dim

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])

# the dtypes the sort kernels compile for; others are sorted as int64 and cast back
_SORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64))


class Sort(Function):
    """values, indices = sort of x along ``axis``;  dx[indices[j]] = dvalues[j] per line.

    The output is the values; the indices go on ``ctx`` for backward and into the caller's
    ``extras`` dict (the graph, and with it ``ctx``, is not kept under ``no_grad``).
    """

    @staticmethod
    def forward(ctx, x, *, axis, descending, extras):
        values, ctx.indices = ctx.kernels.sort_forward(x, axis, descending)
        ctx.axis = axis
        extras["indices"] = ctx.indices
        return values

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.sort_backward(grad, ctx.indices, ctx.axis)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` of ``input`` sorted along ``dim``; both of ``input``'s shape.

    [3, 1, 2] -> values [1, 2, 3], indices [1, 2, 0]. The sort is always stable (equal
    values keep their order, which ``stable=True`` asks for), NaN sorts as the largest
    value, and the values' gradient flows back to where each came from.
    """
    tensor_arg("sort", "input", input)
    axis = check_dim("sort", dim, input.ndim)
    if input.ndim == 0:
        values, indices = sort(input.reshape(1), 0, descending, stable)
        return ValuesIndices(values.reshape(()), indices.reshape(()))
    source = input if input.dtype in _SORTED_DTYPES else input.to(np.int64)
    extras: dict = {}
    values = Sort.apply(source, axis=axis, descending=bool(descending), extras=extras)
    indices = Tensor._make(extras["indices"])
    if source is not input:
        values = values.to(input.dtype)
    return ValuesIndices(values, indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """The int64 indices that sort ``input`` along ``dim`` (``sort(...).indices``)."""
    return sort(input, dim, descending, stable).indices


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim``: (N, C) with k=3 over dim 1 -> two (N, 3) tensors, largest first.

    ``sorted=False`` is accepted; the values come sorted anyway.
    """
    tensor_arg("topk", "input", input)
    axis = check_dim("topk", dim, input.ndim)
    size = input.shape[axis] if input.ndim else 1
    k = as_int("topk", "k", k, minimum=0)
    if k > size:
        raise ValueError(f"topk: k {k} is larger than dim {dim} of size {size} "
                         f"(input shape {input.shape})")
    values, indices = sort(input, axis, descending=largest)
    if input.ndim == 0:
        return ValuesIndices(values, indices)
    key = (slice(None),) * axis + (slice(0, k),)
    return ValuesIndices(values[key], indices[key])
