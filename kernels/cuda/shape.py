"""Layout kernels on the GPU: permute, indexing, concatenation, padding.

Every kernel is a grid-stride loop over the elements it writes, so stores are coalesced;
where an output element comes from is computed per thread from small tuples of shape and
strides passed with the launch.

Indexing has two paths. A *basic* key (ints, slices, None, ``...``) selects a strided view
``offset + sum(i_d * stride_d)`` of the input: NumPy computes that view's offset and strides
on the host from the shape alone (on a dummy of 1-byte elements, never reading memory), and
a kernel gathers through them. Any other key (integer or boolean arrays) is turned into
the flat source index of every selected element by NumPy on the host (``arange(size)[key]``);
the index array is copied to the device and the kernels gather from it, or scatter-add
into it with atomics, so a repeated index receives every gradient.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from ..broadcast import MAX_DIMS
from .elementwise import expand
from .launch import flat, grid_1d, pad_dims, strided_offset
from .memory import astype, zeros


def _contiguous_strides(shape) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


@cuda.jit(cache=True)
def _gather_strided_kernel(x, offset, shape, strides, out):
    """One thread copies its output elements from ``x[offset + strided position]``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        out[i] = x[offset + strided_offset(i, shape, strides)]


@cuda.jit(cache=True)
def _scatter_strided_kernel(values, offset, shape, strides, out, accumulate):
    """One thread writes (or adds) its ``values`` into ``out`` at strided positions; the
    positions of a basic index are distinct, so no two threads touch one element."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, values.size, stride):
        k = offset + strided_offset(i, shape, strides)
        if accumulate:
            out[k] += values[i]
        else:
            out[k] = values[i]


@cuda.jit(cache=True)
def _gather_kernel(x, index, out):
    """One thread copies ``out[i] = x[index[i]]`` for its elements."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        out[i] = x[index[i]]


@cuda.jit(cache=True)
def _scatter_add_kernel(values, index, out):
    """One thread adds ``values[i]`` into ``out[index[i]]`` atomically (indices may repeat)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, values.size, stride):
        cuda.atomic.add(out, index[i], values[i])


@cuda.jit(cache=True)
def _scatter_kernel(values, index, out):
    """One thread writes ``out[index[i]] = values[i]`` (a repeated index: one write wins)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, values.size, stride):
        out[index[i]] = values[i]


@cuda.jit(cache=True)
def _concat_kernel(x, out, block, out_block, start_offset):
    """One thread copies elements of ``x`` (viewed as rows of ``block``) into ``out`` (rows of
    ``out_block``), starting ``start_offset`` into each row."""
    first, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(first, x.size, stride):
        row = i // block
        out[row * out_block + start_offset + (i - row * block)] = x[i]


@cuda.jit(cache=True)
def _pad_kernel(x, x_shape, out_shape, lows, value, out):
    """One thread writes its output elements: the input's value inside the window, else
    ``value``. The coordinates are peeled off the flat index one axis at a time."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        rest = i
        source = 0
        step = 1
        inside = True
        for axis in range(MAX_DIMS - 1, -1, -1):
            coordinate = rest % out_shape[axis] - lows[axis]
            rest //= out_shape[axis]
            if coordinate < 0 or coordinate >= x_shape[axis]:
                inside = False
            source += coordinate * step
            step *= x_shape[axis]
        out[i] = x[source] if inside else value


def _launch_1d(n: int):
    return grid_1d(n)


def _gather_strided(x, offset: int, shape, strides):
    out = cuda.device_array(tuple(shape), dtype=x.dtype)
    if out.size:
        blocks, threads = _launch_1d(out.size)
        _gather_strided_kernel[blocks, threads](
            flat(x), offset, pad_dims(shape, 1), pad_dims(strides, 0), flat(out)
        )
    return out


def permute(x, axes: tuple[int, ...]):
    """A contiguous copy of ``x`` with its axes reordered: out.shape[i] = x.shape[axes[i]]."""
    strides = _contiguous_strides(x.shape)
    return _gather_strided(
        x, 0, tuple(x.shape[a] for a in axes), tuple(strides[a] for a in axes)
    )


def _is_basic(key) -> bool:
    return all(
        item is None or item is Ellipsis or isinstance(item, slice)
        or (isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)))
        for item in (key if isinstance(key, tuple) else (key,))
    )  # fmt: skip


def _basic_view(shape, key):
    """(offset, shape, strides) in elements of the view ``x[key]`` of a contiguous ``x``."""
    probe = np.lib.stride_tricks.as_strided(
        np.zeros(1, np.int8), shape=tuple(shape), strides=_contiguous_strides(shape)
    )
    key = key if isinstance(key, tuple) else (key,)
    if not any(item is Ellipsis for item in key):
        key = key + (Ellipsis,)  # so an all-integer key gives a 0-d view, not a copied scalar
    view = probe[key]
    offset = view.__array_interface__["data"][0] - probe.__array_interface__["data"][0]
    return offset, view.shape, view.strides


def _flat_index(shape, key):
    """Flat source index (int64, on the device) of every element of ``x[key]``."""
    index = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)[key]
    return cuda.to_device(np.asarray(index, order="C"))


def _strided_path(shape, key):
    if not _is_basic(key):
        return None
    offset, view_shape, view_strides = _basic_view(shape, key)
    return (offset, view_shape, view_strides) if len(view_shape) <= MAX_DIMS else None


def getitem(x, key):
    """A contiguous copy of ``x[key]`` (NumPy basic and integer-array indexing)."""
    strided = _strided_path(tuple(x.shape), key)
    if strided is not None:
        return _gather_strided(x, *strided)
    index = _flat_index(tuple(x.shape), key)
    out = cuda.device_array(index.shape, dtype=x.dtype)
    if out.size:
        blocks, threads = _launch_1d(out.size)
        _gather_kernel[blocks, threads](flat(x), flat(index), flat(out))
    return out


def getitem_backward(grad, shape: tuple[int, ...], key):
    """Scatter-add ``grad`` (shaped like ``x[key]``) into zeros of ``shape``.

    Adds rather than assigns, so an index that appears twice receives both gradients.
    """
    out = zeros(tuple(shape), grad.dtype)
    if not grad.size:
        return out
    blocks, threads = _launch_1d(grad.size)
    strided = _strided_path(tuple(shape), key)
    if strided is not None:
        offset, view_shape, view_strides = strided
        _scatter_strided_kernel[blocks, threads](
            flat(grad), offset, pad_dims(view_shape, 1), pad_dims(view_strides, 0), flat(out), True
        )
    else:
        index = _flat_index(tuple(shape), key)
        _scatter_add_kernel[blocks, threads](flat(grad), flat(index), flat(out))
    return out


def setitem(x, key, value) -> None:
    """In place: ``x[key] = value`` (``value`` broadcast to the selection)."""
    strided = _strided_path(tuple(x.shape), key)
    if strided is not None:
        offset, view_shape, view_strides = strided
        index = None
    else:
        index = _flat_index(tuple(x.shape), key)
        view_shape = index.shape
    if not int(np.prod(view_shape, dtype=np.int64)):
        return
    if value.dtype != x.dtype:
        value = astype(value, x.dtype)
    if tuple(value.shape) != tuple(view_shape):
        value = expand(value, tuple(view_shape))
    blocks, threads = _launch_1d(value.size)
    if index is None:
        _scatter_strided_kernel[blocks, threads](
            flat(value), offset, pad_dims(view_shape, 1), pad_dims(view_strides, 0), flat(x), False
        )
    else:
        _scatter_kernel[blocks, threads](flat(value), flat(index), flat(x))


def cat(arrays: list, axis: int):
    """Join arrays along an existing ``axis``: sizes along it add up."""
    first = arrays[0]
    total = sum(a.shape[axis] for a in arrays)
    shape = tuple(first.shape[:axis]) + (total,) + tuple(first.shape[axis + 1 :])
    out = cuda.device_array(shape, dtype=np.result_type(*[a.dtype for a in arrays]))
    inner = int(np.prod(first.shape[axis + 1 :], dtype=np.int64))
    start = 0
    for a in arrays:
        if a.size:
            blocks, threads = _launch_1d(a.size)
            _concat_kernel[blocks, threads](
                flat(a), flat(out), a.shape[axis] * inner, total * inner, start * inner
            )
        start += a.shape[axis]
    return out


def pad(x, widths: list[tuple[int, int]], value: float):
    """Constant padding: ``widths[d] = (before, after)`` for every axis d."""
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, widths, strict=True))
    out = cuda.device_array(shape, dtype=x.dtype)
    if out.size:
        blocks, threads = _launch_1d(out.size)
        fill = float(value) if x.dtype.kind == "f" else int(value)
        _pad_kernel[blocks, threads](
            flat(x), pad_dims(x.shape, 1), pad_dims(shape, 1),
            pad_dims([lo for lo, _ in widths], 0), fill, flat(out),
        )  # fmt: skip
    return out
