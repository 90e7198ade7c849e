"""RMSprop (Hinton), PyTorch's rule step for step: divide the gradient by the root of a
running average of its square. With gradient g (negated first when `maximize`), parameter p
and weight decay wd:

    g <- g + wd * p
    s <- alpha * s + (1 - alpha) * g^2                   (square_avg)
    d  = sqrt(s) + eps, or sqrt(s - a^2) + eps with a <- alpha * a + (1 - alpha) * g (centered)
    b <- momentum * b + g / d;  p <- p - lr * b          (momentum > 0)
    p <- p - lr * g / d                                  (otherwise)

Note eps is added outside the root (TensorFlow adds it inside).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..ops._checks import real
from .optimizer import Optimizer, check_hyperparameters


class RMSprop(Optimizer):
    """RMSprop with PyTorch's arguments and defaults; see the module docstring."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_hyperparameters("RMSprop", lr, eps, weight_decay)
        real("RMSprop", "alpha", alpha, low=0.0)
        real("RMSprop", "momentum", momentum, low=0.0)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = self._buffer(param)
        # made when first needed: a schedule (OneCycleLR) may turn momentum on later
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = self._buffer(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = self._buffer(param)
        state["step"] += 1
        grad_avg = state["grad_avg"] if group["centered"] else None
        buffer = state["momentum_buffer"] if group["momentum"] > 0 else None
        param.kernels.rmsprop_step(param.data, grad, state["square_avg"].data,
                                   None if grad_avg is None else grad_avg.data,
                                   None if buffer is None else buffer.data, group["lr"],
                                   group["alpha"], group["eps"], group["weight_decay"],
                                   group["momentum"], group["maximize"])
