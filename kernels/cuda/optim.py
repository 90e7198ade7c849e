"""Fused optimizer updates on the GPU: one grid-stride pass over a parameter, in place.

The twins of ``kernels/cpu/optim.py``: same arguments, the same per-element update rules
(PyTorch's, written once in ``kernels/shared.py``). One
thread updates elements t, t + T, ... of the parameter and its state buffers, reading each
once and writing each once; scalars that depend only on the step count are computed in
Python and passed as launch arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .. import shared
from .launch import device_function, flat, grid_1d

_sgd_update = device_function(shared.sgd_update)
_adam_update = device_function(shared.adam_update)


def _placeholder(dtype):
    """A one-element array for a state buffer the chosen variant does not use."""
    return cuda.device_array(1, dtype=np.dtype(dtype))


def sgd_step(param, grad, momentum_buf, lr: float, momentum: float = 0.0, dampening: float = 0.0,
             weight_decay: float = 0.0, nesterov: bool = False, first_step: bool = False) -> None:
    """One SGD step in place. ``momentum_buf`` (param's shape) is needed when momentum > 0;
    on ``first_step`` it is overwritten with the gradient, as PyTorch initialises it."""
    use_momentum = momentum != 0.0
    if use_momentum and momentum_buf is None:
        raise ValueError("sgd_step: momentum > 0 needs a momentum buffer")
    buf = flat(momentum_buf) if use_momentum else _placeholder(param.dtype)
    if param.size:
        blocks, threads = grid_1d(param.size)
        _sgd_kernel[blocks, threads](
            flat(param), flat(grad), buf, float(lr), float(momentum), float(dampening),
            float(weight_decay), bool(nesterov), use_momentum, bool(first_step),
        )  # fmt: skip


@cuda.jit(cache=True)
def _sgd_kernel(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                use_momentum, first_step):
    """One thread updates its elements of ``param`` (and the momentum buffer)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, param.size, stride):
        _sgd_update(param, grad, buf, k, lr, momentum, dampening, weight_decay, nesterov,
                    use_momentum, first_step)


def adam_step(param, grad, exp_avg, exp_avg_sq, step: int, lr: float, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              decoupled_weight_decay: bool = False, max_exp_avg_sq=None) -> None:
    """One Adam (or AdamW with ``decoupled_weight_decay``) step in place; ``step`` counts from
    1. Passing ``max_exp_avg_sq`` selects the AMSGrad variant."""
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    amsgrad = max_exp_avg_sq is not None
    max_sq = flat(max_exp_avg_sq) if amsgrad else _placeholder(param.dtype)
    if param.size:
        blocks, threads = grid_1d(param.size)
        _adam_kernel[blocks, threads](
            flat(param), flat(grad), flat(exp_avg), flat(exp_avg_sq), max_sq, float(lr),
            float(beta1), float(beta2), float(eps), float(weight_decay),
            bool(decoupled_weight_decay), amsgrad, lr / bias_correction1, bias_correction2_sqrt,
        )  # fmt: skip


@cuda.jit(cache=True)
def _adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                 weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt):
    """One thread updates its elements of ``param``, ``exp_avg`` and ``exp_avg_sq``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, param.size, stride):
        _adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, k, lr, beta1, beta2, eps,
                     weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt)
