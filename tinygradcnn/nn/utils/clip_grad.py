"""Gradient clipping, as in `torch.nn.utils.clip_grad`.

`clip_grad_norm_` rescales all gradients together so that their joint p-norm (the norm of
the vector of every gradient element) is at most `max_norm`:

    total = || (||g_1||_p, ||g_2||_p, ...) ||_p        coef = min(1, max_norm / (total + 1e-6))
    g_i <- coef * g_i

The norms, the coefficient and the scaling all run on the gradients' device as tensor ops:
nothing is fetched to the host unless `error_if_nonfinite=True` asks to look at the total.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ...autograd import no_grad
from ...ops._checks import real
from ...ops.elementwise import clamp
from ...ops.shape import stack
from ...tensor import Tensor

Tensors = Tensor | Iterable[Tensor]


def _as_list(caller: str, tensors: Tensors) -> list[Tensor]:
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{caller}: element {index} is a {type(tensor).__name__}, "
                            "not a Tensor")
    return tensors


def _grads(caller: str, parameters: Tensors) -> list[Tensor]:
    return [p.grad for p in _as_list(caller, parameters) if p.grad is not None]


def _norm_order(caller: str, norm_type: float | str) -> float:
    try:
        order = float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"{caller}: norm_type must be a number or 'inf', got "
                         f"{norm_type!r}") from None
    if math.isnan(order) or order < 0 and order != -math.inf:
        raise ValueError(f"{caller}: norm_type must be >= 0, inf or -inf, got {norm_type!r}")
    return order


def _vector_norm(x: Tensor, order: float) -> Tensor:
    """The p-norm of all elements of `x`, a 0-d tensor on its device (torch.linalg.vector_norm)."""
    if x.numel() == 0:
        return Tensor._make(x.kernels.zeros((), x.dtype))
    if order == math.inf:
        return x.abs().amax()
    if order == -math.inf:
        return x.abs().amin()
    if order == 0:  # how many elements are non-zero
        return (x != 0).to(x.dtype).sum()
    if order == 1:
        return x.abs().sum()
    if order == 2:
        return (x * x).sum().sqrt()
    return (x.abs() ** order).sum() ** (1.0 / order)


def get_total_norm(tensors: Tensors, norm_type: float | str = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The p-norm of all elements of `tensors` together (a 0-d tensor; 0.0 for none), as if
    they were one vector. `norm_type` may be `inf` (the largest absolute value).

    `foreach` is accepted for PyTorch's signature; the norms are always per tensor, then
    combined."""
    order = _norm_order("get_total_norm", norm_type)
    tensors = _as_list("get_total_norm", tensors)
    if not tensors:
        return Tensor(0.0)
    first = tensors[0]
    dtype = np.result_type(*[t.dtype for t in tensors])
    with no_grad():
        norms = [_vector_norm(t, order).to(first.device).to(dtype) for t in tensors]
        total = _vector_norm(stack(norms), order)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {order} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale the gradients of `parameters` in place by min(1, max_norm / (total_norm + 1e-6))
    (the second half of `clip_grad_norm_`, for a `total_norm` computed elsewhere)."""
    max_norm = real("clip_grads_with_norm_", "max_norm", max_norm)
    grads = _grads("clip_grads_with_norm_", parameters)
    if not grads:
        return
    with no_grad():
        coef = clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for grad in grads:
            grad.mul_(coef.to(grad.device).to(grad.dtype))


def clip_grad_norm_(parameters: Tensors, max_norm: float, norm_type: float | str = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients of `parameters` (a Tensor or an iterable) in place so that their
    joint `norm_type`-norm is at most `max_norm`; returns the norm before clipping (a 0-d
    tensor). Call it between `loss.backward()` and `optimizer.step()`.

    With `error_if_nonfinite=True` a NaN or infinite total norm is a RuntimeError instead of
    NaN gradients. Parameters without a gradient are skipped."""
    parameters = _as_list("clip_grad_norm_", parameters)
    grads = _grads("clip_grad_norm_", parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element of `parameters` to [-clip_value, clip_value], in place."""
    clip_value = real("clip_grad_value_", "clip_value", clip_value)
    with no_grad():
        for grad in _grads("clip_grad_value_", parameters):
            grad.copy_(clamp(grad, -clip_value, clip_value))
