"""Stochastic gradient descent, PyTorch's rule step for step. With gradient g, parameter p,
learning rate lr and weight decay wd:

    g <- -g                                     (maximize)
    g <- g + wd * p
    b <- g on the first step, else momentum * b + (1 - dampening) * g
    g <- g + momentum * b (nesterov) or b
    p <- p - lr * g
"""

from __future__ import annotations

from collections.abc import Iterable

from ..ops._checks import real
from .optimizer import Optimizer, check_hyperparameters


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and
    L2 weight decay; see the module docstring for the rule."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_hyperparameters("SGD", lr, weight_decay=weight_decay)
        real("SGD", "momentum", momentum, low=0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        momentum = group["momentum"]
        buffer = state.get("momentum_buffer")
        first_step = momentum != 0 and buffer is None
        if first_step:
            buffer = state["momentum_buffer"] = self._buffer(param)
        param.kernels.sgd_step(param.data, grad, None if buffer is None else buffer.data,
                               group["lr"], momentum, group["dampening"],
                               group["weight_decay"], group["nesterov"], first_step,
                               group["maximize"])
