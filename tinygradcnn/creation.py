"""Making tensors: filled, ranged and random, on any device."""

from __future__ import annotations

import numpy as np

from .backend import kernels_for, normalize_device
from .random import next_seed
from .tensor import Tensor, _to_dtype, float32, int64


def _shape(size) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(f"tensor creation: negative dimension in size {shape}")
    return shape


def _kernels(device: str | None, caller: str):
    """The kernels of ``device``; ``None`` is the default device, "cpu", as in PyTorch."""
    return kernels_for(normalize_device("cpu" if device is None else device, caller))


def _make(array, requires_grad: bool) -> Tensor:
    tensor = Tensor._make(array)
    return tensor.requires_grad_(requires_grad) if requires_grad else tensor


def full(size, fill_value, dtype=None, device="cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``."""
    if dtype is None:
        integral = isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float)
        dtype = int64 if integral else float32
    kernels = _kernels(device, "full")
    return _make(kernels.full(tuple(size), fill_value, _to_dtype(dtype)), requires_grad)


def zeros(*size, dtype=float32, device="cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return full(_shape(size), 0, dtype, device, requires_grad)


def ones(*size, dtype=float32, device="cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return full(_shape(size), 1, dtype, device, requires_grad)


def empty(*size, dtype=float32, device="cpu", requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (its values are whatever the memory held)."""
    kernels = _kernels(device, "empty")
    return _make(kernels.empty(_shape(size), _to_dtype(dtype)), requires_grad)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape, dtype and device."""
    return full(input.shape, 0, dtype or input.dtype, input.device, requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape, dtype and device."""
    return full(input.shape, 1, dtype or input.dtype, input.device, requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` with ``input``'s shape, dtype and device."""
    return full(input.shape, fill_value, dtype or input.dtype, input.device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu",
           requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` below ``end``; ``arange(5)`` is 0..4 (int64)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if integral else float32
    kernels = _kernels(device, "arange")
    return _make(kernels.arange(start, end, step, _to_dtype(dtype)), requires_grad)


def rand(*size, dtype=float32, device="cpu", requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1); reproducible under ``manual_seed``."""
    kernels = _kernels(device, "rand")
    return _make(kernels.uniform(_shape(size), _to_dtype(dtype), next_seed()), requires_grad)


def randn(*size, dtype=float32, device="cpu", requires_grad: bool = False) -> Tensor:
    """Standard normal samples; reproducible under ``manual_seed``."""
    kernels = _kernels(device, "randn")
    return _make(kernels.normal(_shape(size), _to_dtype(dtype), next_seed()), requires_grad)


def randint(low: int, high: int, size, device="cpu") -> Tensor:
    """Integers uniform in [low, high) of ``size`` (int64); reproducible under ``manual_seed``."""
    uniform = rand(*size, dtype=np.float64, device=device)
    if not uniform.numel():
        return zeros(*size, dtype=int64, device=uniform.device)
    return (uniform * (high - low) + low).to(int64)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing ``array``'s memory when it is C-contiguous (copied otherwise)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(np.asarray(array, order="C"))
