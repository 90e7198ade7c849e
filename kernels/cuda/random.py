"""Counter-based random numbers on the GPU: element ``i`` of a draw with seed ``s`` is
``hash(s, i)``, the one SplitMix64 of ``kernels/shared.py`` that ``kernels/cpu/random.py``
also calls, so both devices give bit-identical uniforms (and the same dropout masks) for the
same seed.

No generator state lives on the device: a thread hashes its own element index, which is why
any grid shape produces the same numbers.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import shared
from .launch import device_function, flat, grid_1d

_hash_to_unit = device_function(shared.hash_to_unit)
_standard_normal = device_function(shared.standard_normal)


@cuda.jit(cache=True)
def _uniform_kernel(out, seed, low, high):
    """One thread draws elements t, t + T, ... (grid-stride): ``low + (high - low) * u``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        out[i] = low + (high - low) * _hash_to_unit(seed, i)


@cuda.jit(cache=True)
def _normal_kernel(out, seed, mean, std):
    """One thread draws its elements by Box-Muller on counters 2i and 2i + 1."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        out[i] = mean + std * _standard_normal(seed, i)


@cuda.jit(cache=True)
def _dropout_mask_kernel(out, seed, p):
    """One thread writes ``1 / (1 - p)`` or 0 for each of its elements."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
    for i in range(start, out.size, stride):
        out[i] = scale if _hash_to_unit(seed, i) >= p else 0.0


def _draw(kernel, shape, dtype, seed, a, b):
    out = cuda.device_array(tuple(shape), dtype=np.dtype(dtype))
    if out.size:
        blocks, threads = grid_1d(out.size)
        kernel[blocks, threads](flat(out), np.uint64(seed), float(a), float(b))
    return out


def uniform(shape: tuple[int, ...], dtype, seed: int, low: float = 0.0, high: float = 1.0):
    """Uniform samples in ``[low, high)`` of ``shape``; the same seed gives the same numbers."""
    return _draw(_uniform_kernel, shape, dtype, seed, low, high)


def normal(shape: tuple[int, ...], dtype, seed: int, mean: float = 0.0, std: float = 1.0):
    """Gaussian samples ``N(mean, std^2)`` of ``shape``; the same seed gives the same numbers."""
    return _draw(_normal_kernel, shape, dtype, seed, mean, std)


def dropout_mask(shape: tuple[int, ...], p: float, dtype, seed: int):
    """Inverted-dropout mask: ``1 / (1 - p)`` with probability ``1 - p``, else 0."""
    out = cuda.device_array(tuple(shape), dtype=np.dtype(dtype))
    if out.size:
        blocks, threads = grid_1d(out.size)
        _dropout_mask_kernel[blocks, threads](flat(out), np.uint64(seed), float(p))
    return out
