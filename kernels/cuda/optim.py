"""Fused optimizer updates on the GPU: one grid-stride pass over a parameter, in place.

The twins of ``kernels/cpu/optim.py``: same arguments, the same per-element update rules
(PyTorch's, written once in ``kernels/shared.py``). One thread updates elements t, t + T, ...
of the parameter and its state buffers, reading each once and writing each once; scalars that
depend only on the step count are computed in Python and passed as launch arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .. import shared
from .launch import device_function, flat, grid_1d

_sgd_update = device_function(shared.sgd_update)
_adam_update = device_function(shared.adam_update)
_nadam_update = device_function(shared.nadam_update)
_adadelta_update = device_function(shared.adadelta_update)
_adagrad_update = device_function(shared.adagrad_update)
_rmsprop_update = device_function(shared.rmsprop_update)


def _flat_or_placeholder(buffer, dtype):
    """``buffer`` flat, or a one-element array for a buffer the chosen variant does not use."""
    return cuda.device_array(1, dtype=np.dtype(dtype)) if buffer is None else flat(buffer)


def sgd_step(param, grad, momentum_buf, lr: float, momentum: float = 0.0, dampening: float = 0.0,
             weight_decay: float = 0.0, nesterov: bool = False, first_step: bool = False,
             maximize: bool = False) -> None:
    """One SGD step in place. ``momentum_buf`` (param's shape) is needed when momentum > 0;
    on ``first_step`` it is overwritten with the gradient, as PyTorch initialises it."""
    use_momentum = momentum != 0.0
    if use_momentum and momentum_buf is None:
        raise ValueError("sgd_step: momentum > 0 needs a momentum buffer")
    buf = _flat_or_placeholder(momentum_buf if use_momentum else None, param.dtype)
    if param.size:
        blocks, threads = grid_1d(param.size)
        _sgd_kernel[blocks, threads](
            flat(param), flat(grad), buf, float(lr), float(momentum), float(dampening),
            float(weight_decay), bool(nesterov), use_momentum, bool(first_step), bool(maximize),
        )  # fmt: skip


@cuda.jit(cache=True)
def _sgd_kernel(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                use_momentum, first_step, maximize):
    """One thread updates its elements of ``param`` (and the momentum buffer)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    unused = param.dtype.type(0)  # for the buffers a variant lacks
    for k in range(start, param.size, stride):
        b = buf[k] if use_momentum else unused
        param[k], b = _sgd_update(param[k], grad[k], b, lr, momentum, dampening, weight_decay,
                                  nesterov, use_momentum, first_step, maximize)
        if use_momentum:
            buf[k] = b


def adam_step(param, grad, exp_avg, exp_avg_sq, step: int, lr: float, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              decoupled_weight_decay: bool = False, max_exp_avg_sq=None,
              maximize: bool = False) -> None:
    """One Adam (or AdamW with ``decoupled_weight_decay``) step in place; ``step`` counts from
    1. Passing ``max_exp_avg_sq`` selects the AMSGrad variant."""
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    amsgrad = max_exp_avg_sq is not None
    if param.size:
        blocks, threads = grid_1d(param.size)
        _adam_kernel[blocks, threads](
            flat(param), flat(grad), flat(exp_avg), flat(exp_avg_sq),
            _flat_or_placeholder(max_exp_avg_sq, param.dtype), float(lr), float(beta1),
            float(beta2), float(eps), float(weight_decay), bool(decoupled_weight_decay),
            amsgrad, lr / bias_correction1, bias_correction2_sqrt, bool(maximize),
        )  # fmt: skip


@cuda.jit(cache=True)
def _adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                 weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt, maximize):
    """One thread updates its elements of ``param``, ``exp_avg`` and ``exp_avg_sq``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    unused = param.dtype.type(0)  # for the buffers a variant lacks
    for k in range(start, param.size, stride):
        v_max = max_exp_avg_sq[k] if amsgrad else unused
        param[k], exp_avg[k], exp_avg_sq[k], v_max = _adam_update(
            param[k], grad[k], exp_avg[k], exp_avg_sq[k], v_max, lr, beta1, beta2, eps,
            weight_decay, decoupled, amsgrad, step_size, bias_correction2_sqrt, maximize)
        if amsgrad:
            max_exp_avg_sq[k] = v_max


def nadam_step(param, grad, exp_avg, exp_avg_sq, step: int, lr: float, beta1: float,
               beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
               mu: float, mu_next: float, mu_product: float, maximize: bool = False) -> None:
    """One NAdam step in place; ``step`` counts from 1, ``mu`` and ``mu_next`` are the momentum
    schedule at steps t and t + 1 and ``mu_product`` the product of mu up to step t."""
    # PyTorch's two addcdiv_ values: the step along g / denom and along m / denom
    grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
    exp_avg_coef = -lr * mu_next / (1.0 - mu_product * mu_next)
    if param.size:
        blocks, threads = grid_1d(param.size)
        _nadam_kernel[blocks, threads](
            flat(param), flat(grad), flat(exp_avg), flat(exp_avg_sq), float(lr), float(beta1),
            float(beta2), float(eps), float(weight_decay), bool(decoupled_weight_decay),
            bool(maximize), 1.0 - beta2**step, grad_coef, exp_avg_coef,
        )  # fmt: skip


@cuda.jit(cache=True)
def _nadam_kernel(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                  decoupled, maximize, bias_correction2, grad_coef, exp_avg_coef):
    """One thread updates its elements of ``param``, ``exp_avg`` and ``exp_avg_sq``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, param.size, stride):
        param[k], exp_avg[k], exp_avg_sq[k] = _nadam_update(
            param[k], grad[k], exp_avg[k], exp_avg_sq[k], lr, beta1, beta2, eps, weight_decay,
            decoupled, maximize, bias_correction2, grad_coef, exp_avg_coef)


def adadelta_step(param, grad, square_avg, acc_delta, lr: float, rho: float = 0.9,
                  eps: float = 1e-6, weight_decay: float = 0.0, maximize: bool = False) -> None:
    """One Adadelta step in place (``square_avg``, ``acc_delta``: running averages of the
    squared gradients and of the squared steps)."""
    if param.size:
        blocks, threads = grid_1d(param.size)
        _adadelta_kernel[blocks, threads](
            flat(param), flat(grad), flat(square_avg), flat(acc_delta), float(lr), float(rho),
            float(eps), float(weight_decay), bool(maximize),
        )  # fmt: skip


@cuda.jit(cache=True)
def _adadelta_kernel(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """One thread updates its elements of ``param``, ``square_avg`` and ``acc_delta``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, param.size, stride):
        param[k], square_avg[k], acc_delta[k] = _adadelta_update(
            param[k], grad[k], square_avg[k], acc_delta[k], lr, rho, eps, weight_decay, maximize)


def adagrad_step(param, grad, state_sum, step: int, lr: float, lr_decay: float = 0.0,
                 eps: float = 1e-10, weight_decay: float = 0.0, maximize: bool = False) -> None:
    """One Adagrad step in place; ``step`` counts from 1 and decays the lr to
    lr / (1 + (step - 1) * lr_decay). ``state_sum`` is the sum of the squared gradients."""
    clr = lr / (1.0 + (step - 1) * lr_decay)
    if param.size:
        blocks, threads = grid_1d(param.size)
        _adagrad_kernel[blocks, threads](
            flat(param), flat(grad), flat(state_sum), float(clr), float(eps),
            float(weight_decay), bool(maximize),
        )  # fmt: skip


@cuda.jit(cache=True)
def _adagrad_kernel(param, grad, state_sum, clr, eps, weight_decay, maximize):
    """One thread updates its elements of ``param`` and ``state_sum``."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, param.size, stride):
        param[k], state_sum[k] = _adagrad_update(param[k], grad[k], state_sum[k], clr, eps,
                                                 weight_decay, maximize)


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, lr: float,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, maximize: bool = False) -> None:
    """One RMSprop step in place. Passing ``grad_avg`` (the running mean of the gradients)
    selects the centered variant; ``momentum_buf`` is needed when momentum > 0."""
    if momentum > 0 and momentum_buf is None:
        raise ValueError("rmsprop_step: momentum > 0 needs a momentum buffer")
    if param.size:
        blocks, threads = grid_1d(param.size)
        _rmsprop_kernel[blocks, threads](
            flat(param), flat(grad), flat(square_avg),
            _flat_or_placeholder(grad_avg, param.dtype),
            _flat_or_placeholder(momentum_buf if momentum > 0 else None, param.dtype),
            float(lr), float(alpha), float(eps), float(weight_decay), float(momentum),
            grad_avg is not None, bool(maximize),
        )  # fmt: skip


@cuda.jit(cache=True)
def _rmsprop_kernel(param, grad, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay,
                    momentum, centered, maximize):
    """One thread updates its elements of ``param``, ``square_avg`` and the buffers in use."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    unused = param.dtype.type(0)  # for the buffers a variant lacks
    for k in range(start, param.size, stride):
        mean = grad_avg[k] if centered else unused
        b = buf[k] if momentum > 0.0 else unused
        param[k], square_avg[k], mean, b = _rmsprop_update(
            param[k], grad[k], square_avg[k], mean, b, lr, alpha, eps, weight_decay, momentum,
            centered, maximize)
        if centered:
            grad_avg[k] = mean
        if momentum > 0.0:
            buf[k] = b
