"""Ops that rearrange elements without arithmetic: flip, roll, repeat, chunk, split.

All are compositions of the indexing, concatenation and broadcasting ops of ``shape.py``,
so their gradients come from those ops: a slice scatters its gradient back, a ``cat`` hands
each piece its part, an ``expand`` is summed back. Every result is a copy (PyTorch's
``chunk`` and ``split`` return views; storage here is always contiguous).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._checks import as_int, int_sequence, is_int, tensor_arg
from ._checks import dim as check_dim
from .shape import cat


def _dims(op: str, dims, ndim: int) -> tuple[int, ...]:
    values = (dims,) if is_int(dims) else int_sequence(op, "dims", dims)
    axes = tuple(check_dim(op, d, ndim, "dims") for d in values)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dims {tuple(values)} repeat a dimension")
    return axes


def flip(input: Tensor, dims) -> Tensor:
    """The order of the elements reversed along each of ``dims``; same shape:
    [[1, 2], [3, 4]] flipped over dim 1 -> [[2, 1], [4, 3]]."""
    tensor_arg("flip", "input", input)
    axes = _dims("flip", dims, input.ndim)
    if input.ndim == 0:
        return input[...]
    key = tuple(slice(None, None, -1) if axis in axes else slice(None)
                for axis in range(input.ndim))
    return input[key]


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Elements shifted ``shifts`` places along ``dims``, wrapping around; same shape:
    [1, 2, 3, 4] rolled by 1 -> [4, 1, 2, 3]. With ``dims=None`` the flattened tensor rolls.
    """
    tensor_arg("roll", "input", input)
    if dims is None:
        shift = as_int("roll", "shifts", shifts) if is_int(shifts) else None
        if shift is None:
            raise ValueError(f"roll: shifts {shifts!r} must be one int when dims is None")
        return roll(input.reshape(-1), shift, 0).reshape(input.shape)
    shift_list = (shifts,) if is_int(shifts) else int_sequence("roll", "shifts", shifts)
    axes = (dims,) if is_int(dims) else int_sequence("roll", "dims", dims)
    if len(shift_list) != len(axes):
        raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must have the same length")
    out = input
    for shift, dim in zip(shift_list, axes, strict=True):
        axis = check_dim("roll", dim, input.ndim, "dims")
        size = input.shape[axis] if input.ndim else 1
        shift = int(shift) % size if size else 0
        if shift and input.ndim:
            before = (slice(None),) * axis
            out = cat([out[before + (slice(size - shift, None),)],
                       out[before + (slice(0, size - shift),)]], axis)
    return out if out is not input else input[...]


def repeat(input: Tensor, *sizes) -> Tensor:
    """The tensor tiled ``sizes[d]`` times along each dim (new leading dims when ``sizes`` is
    longer): (2, 3).repeat(2, 1, 2) -> (2, 2, 6), as ``torch.Tensor.repeat``."""
    tensor_arg("repeat", "input", input)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    repeats = int_sequence("repeat", "sizes", sizes)
    if len(repeats) < input.ndim:
        raise ValueError(f"repeat: {len(repeats)} sizes {repeats} for a tensor with "
                         f"{input.ndim} dimensions; give at least one per dimension")
    if any(r < 0 for r in repeats):
        raise ValueError(f"repeat: sizes {repeats} must not be negative")
    shape = (1,) * (len(repeats) - input.ndim) + input.shape
    # (s0, s1) -> (1, s0, 1, s1) -> expand to (r0, s0, r1, s1) -> (r0 * s0, r1 * s1)
    spread = [size for s in shape for size in (1, s)]
    tiled = [size for r, s in zip(repeats, shape, strict=True) for size in (r, s)]
    out = input.reshape(*spread).expand(*tiled)
    return out.reshape(*[r * s for r, s in zip(repeats, shape, strict=True)])


def split(input: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the sizes
    in a list: a (5, 2) split by 2 -> (2, 2), (2, 2), (1, 2); by [1, 4] -> (1, 2), (4, 2)."""
    tensor_arg("split", "input", input)
    axis = check_dim("split", dim, input.ndim, scalar_ok=False)
    size = input.shape[axis]
    if is_int(split_size_or_sections):
        step = as_int("split", "split_size", split_size_or_sections, minimum=0)
        if step == 0:
            if size:
                raise ValueError(f"split: split_size 0 cannot split dim {dim} of size {size}")
            return (input[...],)
        sections = [min(step, size - start) for start in range(0, size, step)] or [0]
    else:
        sections = list(int_sequence("split", "split_size_or_sections",
                                     split_size_or_sections))
        if sum(sections) != size or any(s < 0 for s in sections):
            raise ValueError(f"split: sizes {sections} must be non-negative and add up to "
                             f"{size}, the size of dim {dim} (input shape {input.shape})")
    starts = np.cumsum([0, *sections])
    before = (slice(None),) * axis
    return tuple(input[before + (slice(int(lo), int(hi)),)]
                 for lo, hi in zip(starts[:-1], starts[1:], strict=True))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces of equal size ceil(size / chunks) along ``dim`` (the last
    may be smaller): a (5,) in 3 chunks -> (2,), (2,), (1,), as ``torch.chunk``."""
    tensor_arg("chunk", "input", input)
    chunks = as_int("chunk", "chunks", chunks, minimum=1)
    axis = check_dim("chunk", dim, input.ndim, scalar_ok=False)
    size = input.shape[axis]
    if size == 0:  # PyTorch gives ``chunks`` empty pieces
        return tuple(input[...] for _ in range(chunks))
    return split(input, -(-size // chunks), axis)
