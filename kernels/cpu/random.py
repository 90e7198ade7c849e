"""Counter-based random numbers: element ``i`` of a draw with seed ``s`` is ``hash(s, i)``.

A counter-based generator needs no state per thread, so the CPU and the GPU kernels
(``kernels/cuda/random.py``) produce bit-identical numbers for the same seed, in any order
and with any number of threads.
"""

import numpy as np
from numba import njit, prange

from .launch import threaded

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO_PI = 6.283185307179586


@njit(cache=True, inline="always")
def _hash_to_unit(seed, counter):
    """SplitMix64 of ``seed + (counter + 1) * golden``, mapped to a float64 in [0, 1)."""
    z = seed + (np.uint64(counter) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@threaded
def _uniform_kernel(out, seed, low, high):
    for i in prange(out.size):
        out[i] = low + (high - low) * _hash_to_unit(seed, i)


@threaded
def _normal_kernel(out, seed, mean, std):
    # Box-Muller on two independent counters per element; 1 - u keeps log away from 0.
    for i in prange(out.size):
        u1 = _hash_to_unit(seed, 2 * i)
        u2 = _hash_to_unit(seed, 2 * i + 1)
        radius = np.sqrt(-2.0 * np.log(1.0 - u1))
        out[i] = mean + std * radius * np.cos(_TWO_PI * u2)


@threaded
def _dropout_mask_kernel(out, seed, p):
    scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
    for i in prange(out.size):
        out[i] = scale if _hash_to_unit(seed, i) >= p else 0.0


def uniform(shape: tuple[int, ...], dtype, seed: int, low: float = 0.0, high: float = 1.0):
    """Uniform samples in ``[low, high)`` of ``shape``; the same seed gives the same numbers."""
    out = np.empty(shape, dtype=dtype)
    _uniform_kernel(out.reshape(-1), np.uint64(seed), float(low), float(high))
    return out


def normal(shape: tuple[int, ...], dtype, seed: int, mean: float = 0.0, std: float = 1.0):
    """Gaussian samples ``N(mean, std^2)`` of ``shape``; the same seed gives the same numbers."""
    out = np.empty(shape, dtype=dtype)
    _normal_kernel(out.reshape(-1), np.uint64(seed), float(mean), float(std))
    return out


def dropout_mask(shape: tuple[int, ...], p: float, dtype, seed: int):
    """Inverted-dropout mask: ``1 / (1 - p)`` with probability ``1 - p``, else 0."""
    out = np.empty(shape, dtype=dtype)
    _dropout_mask_kernel(out.reshape(-1), np.uint64(seed), float(p))
    return out
