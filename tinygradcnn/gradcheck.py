"""``gradcheck``: analytic gradients against central finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradients against central differences, for every element of every
    input that requires grad (use float64 inputs).

    The output is projected on a fixed random tensor ``v``, so one backward pass gives
    d(sum(fn(x) * v))/dx, compared with ``(f(x + eps) - f(x - eps)) / (2 eps)`` element by
    element. Returns True, or raises ``GradcheckError`` naming the input, the worst element
    and both values.
    """
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {x.dtype}; use float64")
    out = fn(*inputs)
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    for x in inputs:
        if isinstance(x, Tensor):
            x.grad = None
    (out * Tensor(projection, dtype=out.dtype, device=out.device)).sum().backward()

    def projected(args) -> float:
        with no_grad():
            return float(np.sum(fn(*args).numpy().astype(np.float64) * projection))

    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.numpy().astype(np.float64)
        values = x.numpy().astype(np.float64)
        numeric = np.zeros(x.shape)
        for index in np.ndindex(*x.shape):
            original = values[index]
            estimates = []
            for delta in (eps, -eps):
                values[index] = original + delta
                args = list(inputs)
                args[i] = Tensor(values, dtype=x.dtype, device=x.device)
                estimates.append(projected(args))
            values[index] = original
            numeric[index] = (estimates[0] - estimates[1]) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and (np.max(error) > 0 or not np.all(np.isfinite(analytic))):
            flat = np.nanargmax(np.where(np.isfinite(error), error, np.inf))
            worst = tuple(int(i) for i in np.unravel_index(flat, x.shape))
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) gradient mismatch at index {worst}: "
                f"analytic {float(analytic[worst])!r}, numeric {float(numeric[worst])!r} "
                f"(atol={atol}, rtol={rtol}; {int(np.sum(error > 0))} of {error.size} elements off)"
            )
    return True
