"""Allocation, fills, casts and host transfer on the GPU.

Device arrays (numba ``DeviceNDArray``) are the storage. Filling and casting run as kernels
on the device, so making ``zeros`` or converting a dtype never moves data over the bus; only
``from_numpy`` (host -> device) and ``to_numpy`` (device -> host) cross it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .launch import SIMULATOR, flat, grid_1d


@cuda.jit(cache=True)
def _fill_kernel(out, value):
    """One thread writes ``value`` to elements t, t + T, ... of ``out`` (grid-stride)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        out[i] = value


@cuda.jit(cache=True)
def _arange_kernel(out, start, step):
    """One thread writes ``start + i * step`` for its indices i (grid-stride)."""
    first, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(first, out.size, stride):
        out[i] = start + i * step


@cuda.jit(cache=True)
def _cast_kernel(source, out):
    """One thread converts elements t, t + T, ... of ``source`` to ``out``'s dtype."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        out[i] = source[i]


def empty(shape: tuple[int, ...], dtype):
    """An uninitialised C-contiguous device array of ``shape``."""
    return cuda.device_array(tuple(shape), dtype=np.dtype(dtype))


def full(shape: tuple[int, ...], value, dtype):
    """A device array of ``shape`` filled with ``value`` by a kernel (no host copy)."""
    out = empty(shape, dtype)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _fill_kernel[blocks, threads](flat(out), _scalar(value, out.dtype))
    return out


def zeros(shape: tuple[int, ...], dtype):
    """A device array of zeros of ``shape``."""
    return full(shape, 0, dtype)


def arange(start, stop, step, dtype):
    """``start, start + step, ...`` up to but excluding ``stop`` (NumPy's length rule)."""
    count = max(0, math.ceil((stop - start) / step))
    out = empty((count,), dtype)
    if count:
        kind = np.dtype(dtype).kind
        cast = float if kind == "f" else int
        blocks, threads = grid_1d(count)
        _arange_kernel[blocks, threads](out, cast(start), cast(step))
    return out


def from_numpy(array: np.ndarray):
    """A device array holding ``array``'s values (one host -> device copy)."""
    return cuda.to_device(np.asarray(array, order="C"))


def to_numpy(array) -> np.ndarray:
    """The values of a device array as a NumPy array (one device -> host copy)."""
    return array.copy_to_host()


def astype(array, dtype):
    """A copy of ``array`` converted to ``dtype`` (the array itself if the dtype matches)."""
    dtype = np.dtype(dtype)
    if array.dtype == dtype:
        return array
    out = empty(array.shape, dtype)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _cast_kernel[blocks, threads](flat(array), flat(out))
    return out


def copy(array):
    """A fresh C-contiguous copy on the device (a device-to-device memcpy)."""
    out = cuda.device_array_like(array)
    if array.size:
        out.copy_to_device(array)
    return out


def storage(array) -> object:
    """The object owning ``array``'s memory: the same for an array and all its reshapes, so
    the autograd core can tell that two arrays are one storage (under the simulator, the
    host array behind the fake device array)."""
    if SIMULATOR:
        host = array._ary
        return host if host.base is None else host.base
    return array.gpu_data


def copy_into(destination, source) -> None:
    """Write ``source`` into ``destination`` in place (same shape; dtypes may differ)."""
    if not destination.size:
        return
    if destination.dtype == source.dtype:
        destination.copy_to_device(source)
    else:
        blocks, threads = grid_1d(destination.size)
        _cast_kernel[blocks, threads](flat(source), flat(destination))


def from_cuda_array(obj):
    """A device array sharing the memory of any object exposing ``__cuda_array_interface__``
    (a CuPy array, a PyTorch CUDA tensor, another tinygradcnn tensor): no copy.

    A non-contiguous source is copied into a contiguous array (tensors are always contiguous).
    """
    if SIMULATOR:
        array = _simulated_view(obj)
    else:
        array = cuda.as_cuda_array(obj)
    if not array.is_c_contiguous():
        # Rare (a transposed torch tensor, say): tensors must be contiguous, so take a copy.
        # It goes through the host once; interop of strided views is not a hot path.
        return from_numpy(array.copy_to_host())
    return array


def cuda_array_interface(array) -> dict:
    """The ``__cuda_array_interface__`` (version 3) describing a device array's memory."""
    if not SIMULATOR:
        return array.__cuda_array_interface__
    # The simulator keeps "device" arrays in host memory; describing that memory gives a
    # faithful zero-copy round trip (the consumer reads the very same bytes).
    host = array._ary
    return {
        "shape": tuple(host.shape),
        "strides": None if host.flags.c_contiguous else tuple(host.strides),
        "typestr": host.dtype.str,
        "data": (host.__array_interface__["data"][0], False),
        "version": 3,
        "stream": None,
    }


class _HostView:
    """Adapter exposing a simulated ``__cuda_array_interface__`` as NumPy's array interface."""

    def __init__(self, obj, interface: dict):
        self.owner = obj  # keeps the memory alive while the view lives
        self.__array_interface__ = {
            "shape": tuple(interface["shape"]),
            "typestr": interface["typestr"],
            "data": interface["data"],
            "strides": interface.get("strides"),
            "version": 3,
        }


def _simulated_view(obj):
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    if isinstance(obj, FakeCUDAArray):
        return obj
    host = np.asarray(_HostView(obj, obj.__cuda_array_interface__))
    return FakeCUDAArray(host)


def _scalar(value, dtype: np.dtype):
    """``value`` as the Python scalar type a kernel argument of ``dtype`` needs."""
    if dtype.kind == "f":
        return float(value)
    if dtype.kind == "b":
        return bool(value)
    return int(value)

