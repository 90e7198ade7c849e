"""Fused optimizer updates (CPU, Numba): one pass over a parameter, in place.

Each entry point takes the parameter, its gradient and its state buffers as contiguous
arrays of one shape and dtype and updates `param` and the buffers in place, following
PyTorch's update rules exactly (see `tinygradcnn/optim.py` for the formulas); the update of
one element is written once, in `kernels/shared.py`, for this file and its CUDA twin. Scalars that
depend only on the step count (bias corrections) are computed once in Python, in float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .. import shared
from .launch import device_function, threaded

_sgd_update = device_function(shared.sgd_update)
_adam_update = device_function(shared.adam_update)

_EMPTY = {np.dtype(np.float32): np.empty(0, np.float32),
          np.dtype(np.float64): np.empty(0, np.float64)}


def sgd_step(
    param: np.ndarray,
    grad: np.ndarray,
    momentum_buf: np.ndarray | None,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    first_step: bool = False,
) -> None:
    """One SGD step in place. `momentum_buf` (same shape as param) is needed when momentum > 0;
    on `first_step` it is overwritten with the gradient, as PyTorch initialises it."""
    use_momentum = momentum != 0.0
    if use_momentum and momentum_buf is None:
        raise ValueError("sgd_step: momentum > 0 needs a momentum buffer")
    buf = _EMPTY[param.dtype]
    if use_momentum and momentum_buf is not None:
        buf = momentum_buf.reshape(-1)
    _sgd_kernel(param.reshape(-1), grad.reshape(-1), buf, float(lr), float(momentum),
                float(dampening), float(weight_decay), bool(nesterov), use_momentum,
                bool(first_step))


@threaded
def _sgd_kernel(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                use_momentum, first_step):
    for k in prange(param.size):
        _sgd_update(param, grad, buf, k, lr, momentum, dampening, weight_decay, nesterov,
                    use_momentum, first_step)


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    step: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
    max_exp_avg_sq: np.ndarray | None = None,
) -> None:
    """One Adam (or AdamW with `decoupled_weight_decay`) step in place; `step` counts from 1.
    Passing `max_exp_avg_sq` selects the AMSGrad variant."""
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    amsgrad = max_exp_avg_sq is not None
    max_sq = max_exp_avg_sq.reshape(-1) if max_exp_avg_sq is not None else _EMPTY[param.dtype]
    _adam_kernel(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                 exp_avg_sq.reshape(-1), max_sq, float(lr), float(beta1), float(beta2),
                 float(eps), float(weight_decay), bool(decoupled_weight_decay), amsgrad,
                 lr / bias_correction1, bias_correction2_sqrt)


@threaded
def _adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                 weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt):
    for k in prange(param.size):
        _adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, k, lr, beta1, beta2, eps,
                     weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt)
