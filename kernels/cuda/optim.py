"""Fused optimizer updates on the GPU: one grid-stride pass over a parameter, in place.

The twins of ``kernels/cpu/optim.py``: same arguments, same update rules (PyTorch's). One
thread updates elements t, t + T, ... of the parameter and its state buffers, reading each
once and writing each once; scalars that depend only on the step count are computed in
Python and passed as launch arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .launch import flat, grid_1d


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
        g = grad[k] + weight_decay * param[k]
        if use_momentum:
            if first_step:
                b = g
            else:
                b = momentum * buf[k] + (1.0 - dampening) * g
            buf[k] = b
            if nesterov:
                g = g + momentum * buf[k]
            else:
                g = buf[k]
        param[k] = param[k] - lr * g


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
    dtype = param.dtype.type
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, param.size, stride):
        p = param[k]
        g = grad[k]
        if decoupled:
            p = dtype(p * (1.0 - lr * weight_decay))
        else:
            g = dtype(g + weight_decay * p)
        # rounded to the parameter dtype at every stage, as PyTorch's in-place ops are
        m = dtype(exp_avg[k] + (1.0 - beta1) * (g - exp_avg[k]))
        v = dtype(beta2 * exp_avg_sq[k] + (1.0 - beta2) * g * g)
        exp_avg[k] = m
        exp_avg_sq[k] = v
        if amsgrad:
            v = max(max_exp_avg_sq[k], v)
            max_exp_avg_sq[k] = v
        denom = dtype(dtype(math.sqrt(v)) / bias_correction2_sqrt + eps)
        param[k] = dtype(p - step_size * (m / denom))
