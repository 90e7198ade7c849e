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


def _like(input: Tensor, fill_value, dtype, device, requires_grad: bool) -> Tensor:
    return full(input.shape, fill_value, dtype or input.dtype,
                input.device if device is None else device, requires_grad)


def zeros_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape (and its dtype and device unless given)."""
    return _like(input, 0, dtype, device, requires_grad)


def ones_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape (and its dtype and device unless given)."""
    return _like(input, 1, dtype, device, requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` with ``input``'s shape (and its dtype and device unless given)."""
    return _like(input, fill_value, dtype, device, requires_grad)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor with ``input``'s shape (and its dtype and device unless given)."""
    return empty(input.shape, dtype=dtype or input.dtype,
                 device=input.device if device is None else device, requires_grad=requires_grad)


def rand_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) with ``input``'s shape (its dtype and device unless given)."""
    return rand(input.shape, dtype=dtype or input.dtype,
                device=input.device if device is None else device, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples with ``input``'s shape (its dtype and device unless given)."""
    return randn(input.shape, dtype=dtype or input.dtype,
                 device=input.device if device is None else device, requires_grad=requires_grad)


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


def randint(low, high=None, size=None, *, dtype=int64, device="cpu",
            requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high) of ``size`` (int64); ``randint(high, size)`` starts at 0,
    as in PyTorch. Reproducible under ``manual_seed``."""
    if size is None:
        low, high, size = 0, low, high
    if size is None or high is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low, high = int(low), int(high)
    if low >= high:
        raise ValueError(f"randint: low {low} must be below high {high}")
    shape = _shape(size if isinstance(size, (tuple, list)) else (size,))
    uniform = rand(shape, dtype=np.float64, device=device)
    # u * (high - low) is never negative, so the cast truncates it down: a floor
    draws = (uniform * (high - low)).to(int64) + low
    return _make(draws.to(dtype).data, requires_grad)


def randperm(n: int, dtype=int64, device="cpu", requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1: the order that sorts n uniform draws (so the CPU and
    the GPU give the same one for the same seed). Reproducible under ``manual_seed``."""
    from .ops.sort import argsort

    if int(n) < 0:
        raise ValueError(f"randperm: n must be >= 0, got {n}")
    order = argsort(rand(int(n), dtype=np.float64, device=device))
    return _make(order.to(dtype).data, requires_grad)


def linspace(start, end, steps: int, dtype=None, device="cpu",
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included:
    ``linspace(0, 1, 5)`` is 0, 0.25, 0.5, 0.75, 1 (float32)."""
    if int(steps) < 0:
        raise ValueError(f"linspace: steps must be >= 0, got {steps}")
    values = np.linspace(float(start), float(end), int(steps))
    return _host(values, dtype, device, "linspace", requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device="cpu",
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``: ``logspace(0, 2, 3)`` is 1, 10, 100."""
    if int(steps) < 0:
        raise ValueError(f"logspace: steps must be >= 0, got {steps}")
    values = float(base) ** np.linspace(float(start), float(end), int(steps))
    return _host(values, dtype, device, "logspace", requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device="cpu",
        requires_grad: bool = False) -> Tensor:
    """The (n, m) identity: ones on the diagonal (m defaults to n)."""
    return _host(np.eye(int(n), None if m is None else int(m)), dtype, device, "eye",
                 requires_grad)


def _host(values: np.ndarray, dtype, device, caller: str, requires_grad: bool) -> Tensor:
    """A tensor of values computed on the host in float64 (float32 unless ``dtype``)."""
    array = values.astype(_to_dtype(float32 if dtype is None else dtype))
    return _make(_kernels(device, caller).from_numpy(array), requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing ``array``'s memory when it is C-contiguous (copied otherwise)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(np.asarray(array, order="C"))
