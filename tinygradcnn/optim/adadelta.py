"""Adadelta (Zeiler), PyTorch's rule step for step: a per-element step size from the ratio of
two running averages, so that the step has the units of the parameter. With gradient g
(negated first when `maximize`), parameter p and weight decay wd:

    g     <- g + wd * p
    s     <- rho * s + (1 - rho) * g^2                      (square_avg)
    delta <- sqrt(u + eps) / sqrt(s + eps) * g
    u     <- rho * u + (1 - rho) * delta^2                  (acc_delta)
    p     <- p - lr * delta

lr = 1.0 is the method as published; the PyTorch MNIST example pairs it with StepLR.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..ops._checks import real
from .optimizer import Optimizer, check_hyperparameters


class Adadelta(Optimizer):
    """Adadelta with PyTorch's arguments and defaults; see the module docstring."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        check_hyperparameters("Adadelta", lr, eps, weight_decay)
        real("Adadelta", "rho", rho, low=0.0, high=1.0)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = self._buffer(param)
            state["acc_delta"] = self._buffer(param)
        state["step"] += 1
        param.kernels.adadelta_step(param.data, grad, state["square_avg"].data,
                                    state["acc_delta"].data, group["lr"], group["rho"],
                                    group["eps"], group["weight_decay"], group["maximize"])
