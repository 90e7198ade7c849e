"""Counter-based random numbers on the GPU: element ``i`` of a draw with seed ``s`` is
``hash(s, i)``, the same SplitMix64 as ``kernels/cpu/random.py``, so both devices give
bit-identical uniforms (and the same dropout masks) for the same seed.

No generator state lives on the device: a thread hashes its own element index, which is why
any grid shape produces the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .launch import SIMULATOR, flat, grid_1d

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO_PI = 6.283185307179586
_MASK64 = (1 << 64) - 1

if not SIMULATOR:

    @cuda.jit(device=True, inline=True, cache=True)
    def _hash_to_unit(seed, counter):
        """SplitMix64 of ``seed + (counter + 1) * golden``, mapped to a float64 in [0, 1)."""
        z = seed + (np.uint64(counter) + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
        return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)

else:

    @cuda.jit(device=True, cache=True)
    def _hash_to_unit(seed, counter):
        """The same SplitMix64 in Python integers: the simulator runs kernels as Python, and
        NumPy's uint64 scalars warn on the wrap-around the hash relies on."""
        z = (int(seed) + (int(counter) + 1) * 0x9E3779B97F4A7C15) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z = z ^ (z >> 31)
        return float(z >> 11) * (1.0 / 9007199254740992.0)


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
        u1 = _hash_to_unit(seed, 2 * i)
        u2 = _hash_to_unit(seed, 2 * i + 1)
        radius = math.sqrt(-2.0 * math.log(1.0 - u1))
        out[i] = mean + std * radius * math.cos(_TWO_PI * u2)


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
