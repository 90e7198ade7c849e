"""Shape ops: reshape, permute, indexing, concatenation, padding, casting, moving devices.

Storage is always contiguous: ``reshape`` shares it, everything else copies (see DESIGN.md).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import kernels_for
from ..kernels.broadcast import broadcast_shapes
from ..tensor import Tensor
from ._checks import dim as check_dim
from ._checks import int_sequence, one_of


def _dims(op: str, name: str, args) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape (2, 3); floats are refused."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return int_sequence(op, name, args)


class Reshape(Function):
    """Same elements in a new shape; the gradient is reshaped back."""

    output_is_view = True  # a reshape of a contiguous array shares its storage

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in ``shape`` (one entry may be -1: inferred). Also ``view``.

    (2, 3, 4) -> (6, 4) for ``reshape(6, 4)`` or ``reshape(-1, 4)``; the element count stays.
    """
    sizes = list(_dims("reshape", "shape", shape))
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {tuple(sizes)}")
    if -1 in sizes:
        if known == 0 or input.numel() % known:
            raise ValueError(f"reshape: cannot reshape {input.shape} ({input.numel()} elements) "
                             f"into {tuple(sizes)}")
        sizes[sizes.index(-1)] = input.numel() // known
    if int(np.prod(sizes)) != input.numel():
        raise ValueError(f"reshape: cannot reshape {input.shape} ({input.numel()} elements) "
                         f"into {tuple(sizes)}")
    if tuple(sizes) == input.shape:
        return input
    return Reshape.apply(input, shape=tuple(sizes))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) for start_dim=1."""
    if input.ndim == 0:
        return input.reshape(1)
    start = check_dim("flatten", start_dim, input.ndim, "start_dim", scalar_ok=False)
    end = check_dim("flatten", end_dim, input.ndim, "end_dim", scalar_ok=False)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = input.shape
    return input.reshape(*shape[:start], int(np.prod(shape[start : end + 1])), *shape[end + 1 :])


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove size-1 dims (all, or those in ``dim``): (1, 3, 1) -> (3,); with dim 0 -> (3, 1)."""
    if dim is None:
        return input.reshape(*[s for s in input.shape if s != 1])
    dims = {check_dim("squeeze", d, input.ndim, scalar_ok=False)
            for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    return input.reshape(*[s for i, s in enumerate(input.shape) if not (i in dims and s == 1)])


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``: (3, 4) -> (1, 3, 4) for dim 0, (3, 4, 1) for dim -1."""
    dim = check_dim("unsqueeze", dim, input.ndim + 1)
    shape = list(input.shape)
    shape.insert(dim, 1)
    return input.reshape(*shape)


class Clone(Function):
    """A copy with its own storage; the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x):
        return ctx.kernels.copy(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(input: Tensor) -> Tensor:
    """A copy of ``input`` in new storage, still in the graph (unlike ``detach``); same shape."""
    return Clone.apply(input)


class Permute(Function):
    """Reorder the axes; the gradient is permuted back by the inverse order."""

    @staticmethod
    def forward(ctx, x, *, axes):
        ctx.inverse = tuple(np.argsort(axes))
        return ctx.kernels.permute(x, axes)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.permute(grad, ctx.inverse)


def permute(input: Tensor, *dims) -> Tensor:
    """Axes reordered: out.shape[i] = input.shape[dims[i]]; (N, H, W, C) -> (N, C, H, W)
    for ``permute(0, 3, 1, 2)``."""
    dims = _dims("permute", "dims", dims)
    axes = tuple(check_dim("permute", d, input.ndim, scalar_ok=False) for d in dims)
    if sorted(axes) != list(range(input.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of {input.ndim} dimensions")
    if axes == tuple(range(input.ndim)):
        return input
    return Permute.apply(input, axes=axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims: (A, B, C) -> (C, B, A) for dims 0 and 2."""
    axes = list(range(input.ndim))
    a = check_dim("transpose", dim0, input.ndim, "dim0", scalar_ok=False)
    b = check_dim("transpose", dim1, input.ndim, "dim1", scalar_ok=False)
    axes[a], axes[b] = axes[b], axes[a]
    return permute(input, *axes)


def t(input: Tensor) -> Tensor:
    """Transpose a matrix: (A, B) -> (B, A); a 0-d or 1-d tensor is returned as it is."""
    if input.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape "
                         f"{input.shape}; use transpose(dim0, dim1) or mT")
    return input if input.ndim < 2 else transpose(input, 0, 1)


class Expand(Function):
    """Broadcast to a larger shape; the engine sums the gradient back (sum_to_shape)."""

    @staticmethod
    def forward(ctx, x, *, shape):
        return ctx.kernels.expand(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad


def expand(input: Tensor, *sizes) -> Tensor:
    """``input`` broadcast to ``sizes`` (-1 keeps a dim): (3, 1) -> (2, 3, 4)."""
    sizes = _dims("expand", "sizes", sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand {input.shape} to fewer dims {sizes}")
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(sizes))
    if broadcast_shapes(input.shape, shape) != shape:
        raise ValueError(f"expand: cannot expand shape {input.shape} to {sizes}")
    return Expand.apply(input, shape=shape)


def normalize_index(key, shape: tuple[int, ...], device: str):
    """An indexing key with tensors turned into NumPy integer/bool arrays, checked in range."""
    items = key if isinstance(key, tuple) else (key,)
    normalized = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.numpy()
        if isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype.kind not in "biu":
            raise IndexError(f"getitem: index arrays must be integer or bool, got {item.dtype}")
        normalized.append(item)
    key = tuple(normalized)
    try:
        np.empty(shape, dtype=np.bool_)[key]  # validates the key against the shape cheaply
    except IndexError as error:
        raise IndexError(f"getitem: index {key!r} is invalid for shape {shape}: {error}") from None
    return key


class GetItem(Function):
    """out = x[key];  the gradient is scatter-added back (repeated indices accumulate)."""

    @staticmethod
    def forward(ctx, x, *, key):
        ctx.key, ctx.input_shape = key, x.shape
        return ctx.kernels.getitem(x, key)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.getitem_backward(grad, ctx.input_shape, ctx.key)


def getitem(input: Tensor, key) -> Tensor:
    """``input[key]``: ints, slices, None, Ellipsis, integer and bool arrays, as NumPy.

    Shapes as NumPy's: (4, 5)[1] -> (5,), (4, 5)[:, 1:3] -> (4, 2), (4, 5)[mask (4,)] ->
    (count, 5).
    """
    return GetItem.apply(input, key=normalize_index(key, input.shape, input.device))


class Cat(Function):
    """Join along ``axis``; each input gets its slice of the gradient."""

    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis, ctx.sizes = axis, [a.shape[axis] for a in arrays]
        return ctx.kernels.cat(list(arrays), axis)

    @staticmethod
    def backward(ctx, grad):
        grads, start = [], 0
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad, strict=True):
            key = (slice(None),) * ctx.axis + (slice(start, start + size),)
            grads.append(ctx.kernels.getitem(grad, key) if needed else None)
            start += size
        return tuple(grads)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing ``dim``: (2, 3) and (4, 3) -> (6, 3) for dim 0."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    first = tensors[0]
    axis = check_dim("cat", dim, first.ndim, scalar_ok=False)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or any(
            a != b for j, (a, b) in enumerate(zip(t.shape, first.shape, strict=True)) if j != axis
        ):
            raise ValueError(
                f"cat: tensor {i} has shape {t.shape}, which does not match {first.shape} "
                f"outside dim {dim}"
            )
    dtype = np.result_type(*[t.dtype for t in tensors])
    return Cat.apply(*[t if t.dtype == dtype else t.to(dtype) for t in tensors], axis=axis)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new ``dim``: three (2, 3) -> (3, 2, 3) for dim 0."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has "
                             f"{tensors[0].shape}")
    axis = check_dim("stack", dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, axis) for t in tensors], dim=axis)


class Pad(Function):
    """Constant padding; the gradient is the un-padded window of the output gradient."""

    @staticmethod
    def forward(ctx, x, *, widths, value):
        ctx.window = tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape, widths, strict=True))
        return ctx.kernels.pad(x, widths, value)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.getitem(grad, ctx.window)


def pad(input: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with a constant, PyTorch's order: ``pad = (left, right)`` for the last dim, then
    ``(top, bottom)`` for the one before, ... (2, 3) padded by (1, 1) -> (2, 5)."""
    one_of("pad", "mode", mode, ("constant",))
    pad = int_sequence("pad", "pad", pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: pad {pad} must have an even length of at most 2 * {input.ndim}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(input, widths=widths, value=value)


class Cast(Function):
    """A dtype conversion; the gradient is converted back."""

    @staticmethod
    def forward(ctx, x, *, dtype):
        ctx.input_dtype = x.dtype
        return ctx.kernels.astype(x, dtype)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.astype(grad, ctx.input_dtype)


def cast(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype`` (differentiable between float types); same shape."""
    if np.dtype(dtype).kind != "f" or input.dtype.kind != "f":
        return Tensor._make(input.kernels.astype(input.data, dtype))
    return Cast.apply(input, dtype=np.dtype(dtype))


class ToDevice(Function):
    """A copy on another device; the gradient travels back to the input's device."""

    @staticmethod
    def forward(ctx, x, *, device):
        ctx.target = kernels_for(device)
        return ctx.target.from_numpy(ctx.kernels.to_numpy(x))

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.from_numpy(ctx.target.to_numpy(grad))


def to_device(input: Tensor, device: str) -> Tensor:
    """``input`` copied to ``device`` ("cpu" or "cuda"); itself if already there. Same shape."""
    if input.device == device:
        return input
    return ToDevice.apply(input, device=device)


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor",
               "int32": "IntTensor", "bool": "BoolTensor", "uint8": "ByteTensor"}


def tensor_type(input: Tensor, dtype=None):
    """``Tensor.type``: without ``dtype`` the type's name as PyTorch writes it
    ("tinygradcnn.FloatTensor", "tinygradcnn.cuda.LongTensor"); with one, ``input.to(dtype)``
    (a dtype, or such a name: "torch.FloatTensor" works too)."""
    if dtype is None:
        where = "" if input.device == "cpu" else "cuda."
        return f"tinygradcnn.{where}{_TYPE_NAMES[input.dtype.name]}"
    if isinstance(dtype, str) and dtype.rpartition(".")[2] in _TYPE_NAMES.values():
        name = dtype.rpartition(".")[2]
        dtype = next(key for key, value in _TYPE_NAMES.items() if value == name)
    return input.to(dtype=dtype)
