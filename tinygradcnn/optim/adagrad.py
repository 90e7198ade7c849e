"""Adagrad (Duchi et al.), PyTorch's rule step for step: each element's step shrinks with the
sum of all its past squared gradients, so rarely-updated weights keep large steps. With
gradient g (negated first when `maximize`), parameter p, weight decay wd and step t = 1, 2, ...:

    g   <- g + wd * p
    clr  = lr / (1 + (t - 1) * lr_decay)
    s   <- s + g^2                        (s starts at initial_accumulator_value)
    p   <- p - clr * g / (sqrt(s) + eps)
"""

from __future__ import annotations

from collections.abc import Iterable

from ..ops._checks import real
from .optimizer import Optimizer, check_hyperparameters


class Adagrad(Optimizer):
    """Adagrad with PyTorch's arguments and defaults; see the module docstring."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        check_hyperparameters("Adagrad", lr, eps, weight_decay)
        real("Adagrad", "lr_decay", lr_decay, low=0.0)
        real("Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0.0)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        # PyTorch fills the state at construction, so a fresh state_dict already holds it
        for group in self.param_groups:
            for param in group["params"]:
                self._init_state(param, group, self.state.setdefault(param, {}))

    def _init_state(self, param, group, state):
        state["step"] = 0
        state["sum"] = self._buffer(param, group["initial_accumulator_value"])

    def _update(self, param, grad, group, state):
        if not state:  # a group added after construction
            self._init_state(param, group, state)
        state["step"] += 1
        param.kernels.adagrad_step(param.data, grad, state["sum"].data, state["step"],
                                   group["lr"], group["lr_decay"], group["eps"],
                                   group["weight_decay"], group["maximize"])
