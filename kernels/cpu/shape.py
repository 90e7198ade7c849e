"""Layout kernels on the CPU: copies that move elements without arithmetic.

Tensors are always C-contiguous, so permuting or indexing produces a new contiguous array;
NumPy's strided copy is already the fastest way to do that on the CPU.
"""

import numpy as np


def permute(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """A contiguous copy of ``x`` with its axes reordered: out.shape[i] = x.shape[axes[i]]."""
    return np.array(np.transpose(x, axes), order="C")


def getitem(x: np.ndarray, key) -> np.ndarray:
    """A contiguous copy of ``x[key]`` (NumPy basic and integer-array indexing)."""
    return np.array(x[key], order="C")


def getitem_backward(grad: np.ndarray, shape: tuple[int, ...], key) -> np.ndarray:
    """Scatter-add ``grad`` (shaped like ``x[key]``) into zeros of ``shape``.

    Adds rather than assigns, so an index that appears twice receives both gradients.
    """
    out = np.zeros(shape, dtype=grad.dtype)
    np.add.at(out, key, grad)
    return out


def setitem(x: np.ndarray, key, value: np.ndarray) -> None:
    """In place: ``x[key] = value`` (``value`` broadcast to the selection)."""
    x[key] = value


def cat(arrays: list[np.ndarray], axis: int) -> np.ndarray:
    """Join arrays along an existing ``axis``: sizes along it add up."""
    return np.concatenate(arrays, axis=axis)


def pad(x: np.ndarray, widths: list[tuple[int, int]], value: float) -> np.ndarray:
    """Constant padding: ``widths[d] = (before, after)`` for every axis d."""
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, widths, strict=True))
    out = np.full(shape, value, dtype=x.dtype)
    out[tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape, widths, strict=True))] = x
    return out
