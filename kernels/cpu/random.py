"""Counter-based random numbers: element ``i`` of a draw with seed ``s`` is ``hash(s, i)``.

A counter-based generator needs no state per thread, so the CPU and the GPU kernels
(``kernels/cuda/random.py``) produce bit-identical numbers for the same seed, in any order
and with any number of threads: both call the one hash in ``kernels/shared.py``.
"""

import numpy as np
from numba import prange

from .. import shared
from .launch import device_function, threaded

_hash_to_unit = device_function(shared.hash_to_unit)
_standard_normal = device_function(shared.standard_normal)


@threaded
def _uniform_kernel(out, seed, low, high):
    for i in prange(out.size):
        out[i] = low + (high - low) * _hash_to_unit(seed, i)


@threaded
def _normal_kernel(out, seed, mean, std):
    for i in prange(out.size):
        out[i] = mean + std * _standard_normal(seed, i)


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
