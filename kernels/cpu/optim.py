"""Fused optimizer updates (CPU, Numba): one pass over a parameter, in place.

Each entry point takes the parameter, its gradient and its state buffers as contiguous
arrays of one shape and dtype and updates `param` and the buffers in place, following
PyTorch's update rules exactly (see `tinygradcnn/optim/` for the formulas); the update of
one element is written once, in `kernels/shared.py`, for this file and its CUDA twin. Scalars
that depend only on the step count (bias corrections, decayed learning rates) are computed
once in Python, in float64. A buffer that the chosen variant does not use is passed as an
empty array, so each kernel has one compiled signature per dtype.
The loops read each state value into a scalar, call the update and write the results back;
a buffer the variant lacks reads a zero instead (reading ``param[k]`` twice there kept LLVM
from vectorising the loop: Adam over 48k floats took 500 us, now 190 us).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .. import shared
from .launch import device_function, threaded

_sgd_update = device_function(shared.sgd_update)
_adam_update = device_function(shared.adam_update)
_nadam_update = device_function(shared.nadam_update)
_adadelta_update = device_function(shared.adadelta_update)
_adagrad_update = device_function(shared.adagrad_update)
_rmsprop_update = device_function(shared.rmsprop_update)

_EMPTY: dict[np.dtype, np.ndarray] = {
    np.dtype(np.float32): np.empty(0, np.float32),
    np.dtype(np.float64): np.empty(0, np.float64),
}


def _flat_or_empty(buffer: np.ndarray | None, dtype) -> np.ndarray:
    if buffer is None:
        return _EMPTY[np.dtype(dtype)]
    return buffer.reshape(-1)


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
    maximize: bool = False,
) -> None:
    """One SGD step in place. `momentum_buf` (same shape as param) is needed when momentum > 0;
    on `first_step` it is overwritten with the gradient, as PyTorch initialises it."""
    use_momentum = momentum != 0.0
    if use_momentum and momentum_buf is None:
        raise ValueError("sgd_step: momentum > 0 needs a momentum buffer")
    buf = _flat_or_empty(momentum_buf if use_momentum else None, param.dtype)
    _sgd_kernel(param.reshape(-1), grad.reshape(-1), buf, float(lr), float(momentum),
                float(dampening), float(weight_decay), bool(nesterov), use_momentum,
                bool(first_step), bool(maximize))


@threaded
def _sgd_kernel(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                use_momentum, first_step, maximize):
    unused = param.dtype.type(0)  # for the buffers a variant lacks
    for k in prange(param.size):
        b = buf[k] if use_momentum else unused
        param[k], b = _sgd_update(param[k], grad[k], b, lr, momentum, dampening, weight_decay,
                                  nesterov, use_momentum, first_step, maximize)
        if use_momentum:
            buf[k] = b


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
    maximize: bool = False,
) -> None:
    """One Adam (or AdamW with `decoupled_weight_decay`) step in place; `step` counts from 1.
    Passing `max_exp_avg_sq` selects the AMSGrad variant."""
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    _adam_kernel(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                 exp_avg_sq.reshape(-1), _flat_or_empty(max_exp_avg_sq, param.dtype),
                 float(lr), float(beta1), float(beta2), float(eps), float(weight_decay),
                 bool(decoupled_weight_decay), max_exp_avg_sq is not None,
                 lr / bias_correction1, bias_correction2_sqrt, bool(maximize))


@threaded
def _adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                 weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt, maximize):
    unused = param.dtype.type(0)  # for the buffers a variant lacks
    for k in prange(param.size):
        v_max = max_exp_avg_sq[k] if amsgrad else unused
        param[k], exp_avg[k], exp_avg_sq[k], v_max = _adam_update(
            param[k], grad[k], exp_avg[k], exp_avg_sq[k], v_max, lr, beta1, beta2, eps,
            weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt, maximize)
        if amsgrad:
            max_exp_avg_sq[k] = v_max


def nadam_step(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    mu: float,
    mu_next: float,
    mu_product: float,
    maximize: bool = False,
) -> None:
    """One NAdam step in place; `step` counts from 1, `mu` and `mu_next` are the momentum
    schedule at steps t and t + 1 and `mu_product` the product of mu up to step t."""
    # PyTorch's two addcdiv_ values: the step along g / denom and along m / denom
    grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
    exp_avg_coef = -lr * mu_next / (1.0 - mu_product * mu_next)
    _nadam_kernel(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                  exp_avg_sq.reshape(-1), float(lr), float(beta1), float(beta2), float(eps),
                  float(weight_decay), bool(decoupled_weight_decay), bool(maximize),
                  1.0 - beta2**step, grad_coef, exp_avg_coef)


@threaded
def _nadam_kernel(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                  decoupled, maximize, bias_correction2, grad_coef, exp_avg_coef):
    for k in prange(param.size):
        param[k], exp_avg[k], exp_avg_sq[k] = _nadam_update(
            param[k], grad[k], exp_avg[k], exp_avg_sq[k], lr, beta1, beta2, eps, weight_decay,
            decoupled, maximize, bias_correction2, grad_coef, exp_avg_coef)


def adadelta_step(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    acc_delta: np.ndarray,
    lr: float,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> None:
    """One Adadelta step in place (`square_avg`, `acc_delta`: running averages of the squared
    gradients and of the squared steps)."""
    _adadelta_kernel(param.reshape(-1), grad.reshape(-1), square_avg.reshape(-1),
                     acc_delta.reshape(-1), float(lr), float(rho), float(eps),
                     float(weight_decay), bool(maximize))


@threaded
def _adadelta_kernel(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    for k in prange(param.size):
        param[k], square_avg[k], acc_delta[k] = _adadelta_update(
            param[k], grad[k], square_avg[k], acc_delta[k], lr, rho, eps, weight_decay, maximize)


def adagrad_step(
    param: np.ndarray,
    grad: np.ndarray,
    state_sum: np.ndarray,
    step: int,
    lr: float,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> None:
    """One Adagrad step in place; `step` counts from 1 and decays the lr to
    lr / (1 + (step - 1) * lr_decay). `state_sum` is the sum of the squared gradients."""
    clr = lr / (1.0 + (step - 1) * lr_decay)
    _adagrad_kernel(param.reshape(-1), grad.reshape(-1), state_sum.reshape(-1), float(clr),
                    float(eps), float(weight_decay), bool(maximize))


@threaded
def _adagrad_kernel(param, grad, state_sum, clr, eps, weight_decay, maximize):
    for k in prange(param.size):
        param[k], state_sum[k] = _adagrad_update(param[k], grad[k], state_sum[k], clr, eps,
                                                 weight_decay, maximize)


def rmsprop_step(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg: np.ndarray | None,
    momentum_buf: np.ndarray | None,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    maximize: bool = False,
) -> None:
    """One RMSprop step in place. Passing `grad_avg` (the running mean of the gradients)
    selects the centered variant; `momentum_buf` is needed when momentum > 0."""
    if momentum > 0 and momentum_buf is None:
        raise ValueError("rmsprop_step: momentum > 0 needs a momentum buffer")
    _rmsprop_kernel(param.reshape(-1), grad.reshape(-1), square_avg.reshape(-1),
                    _flat_or_empty(grad_avg, param.dtype),
                    _flat_or_empty(momentum_buf if momentum > 0 else None, param.dtype),
                    float(lr), float(alpha), float(eps), float(weight_decay), float(momentum),
                    grad_avg is not None, bool(maximize))


@threaded
def _rmsprop_kernel(param, grad, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay,
                    momentum, centered, maximize):
    unused = param.dtype.type(0)  # for the buffers a variant lacks
    for k in prange(param.size):
        mean = grad_avg[k] if centered else unused
        b = buf[k] if momentum > 0.0 else unused
        param[k], square_avg[k], mean, b = _rmsprop_update(
            param[k], grad[k], square_avg[k], mean, b, lr, alpha, eps, weight_decay, momentum,
            centered, maximize)
        if centered:
            grad_avg[k] = mean
        if momentum > 0.0:
            buf[k] = b
