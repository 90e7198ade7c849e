"""Allocation and host transfer on the CPU: NumPy arrays are the storage, so these are thin."""

import numpy as np


def empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape``."""
    return np.empty(shape, dtype=dtype)


def zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An array of zeros of ``shape``."""
    return np.zeros(shape, dtype=dtype)


def full(shape: tuple[int, ...], value, dtype) -> np.ndarray:
    """An array of ``shape`` filled with ``value``."""
    return np.full(shape, value, dtype=dtype)


def arange(start, stop, step, dtype) -> np.ndarray:
    """``start, start + step, ...`` up to but excluding ``stop``."""
    return np.arange(start, stop, step, dtype=dtype)


def from_numpy(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array on this device holding ``array``'s values (copied if needed)."""
    return np.asarray(array, order="C")


def to_numpy(array: np.ndarray) -> np.ndarray:
    """The values of a device array as a NumPy array (no copy on the CPU)."""
    return array


def astype(array: np.ndarray, dtype) -> np.ndarray:
    """A copy of ``array`` converted to ``dtype`` (the array itself if the dtype matches)."""
    return array if array.dtype == dtype else array.astype(dtype)


def copy(array: np.ndarray) -> np.ndarray:
    """A fresh C-contiguous copy."""
    return np.array(array, copy=True, order="C")


def storage(array: np.ndarray) -> object:
    """The object owning ``array``'s memory: the same for an array and all its reshapes, so
    the autograd core can tell that two arrays are one storage."""
    base = array.base
    return array if base is None else base


def copy_into(destination: np.ndarray, source: np.ndarray) -> None:
    """Write ``source`` into ``destination`` in place (same shape)."""
    destination[...] = source
