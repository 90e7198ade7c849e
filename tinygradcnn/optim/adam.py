"""Adam, AdamW and NAdam, PyTorch's rules step for step. With gradient g (negated first when
`maximize`), parameter p, learning rate lr, weight decay wd and step t = 1, 2, ...:

Adam     g <- g + wd * p                 (AdamW instead: p <- p * (1 - lr * wd))
         m <- beta1 * m + (1 - beta1) * g
         v <- beta2 * v + (1 - beta2) * g^2        (amsgrad: v_max <- max(v_max, v), used below)
         p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
NAdam    m, v as in Adam (decoupled_weight_decay: AdamW's decay)
         mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)),  M_t = mu_1 * ... * mu_t
         d = sqrt(v / (1 - beta2^t)) + eps
         p <- p - lr * (1 - mu_t) / (1 - M_t) * g / d - lr * mu_{t+1} / (1 - M_t * mu_{t+1}) * m / d
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..ops._checks import real
from .optimizer import Optimizer, check_betas, check_hyperparameters


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction; `weight_decay` adds wd * p to the
    gradient (L2). `amsgrad=True` keeps the running maximum of v."""

    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        check_hyperparameters(name, lr, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=check_betas(name, betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._buffer(param)
            state["exp_avg_sq"] = self._buffer(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = self._buffer(param)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        max_exp_avg_sq = state["max_exp_avg_sq"] if group["amsgrad"] else None
        param.kernels.adam_step(param.data, grad, state["exp_avg"].data,
                                state["exp_avg_sq"].data, state["step"], group["lr"], beta1,
                                beta2, group["eps"], group["weight_decay"],
                                self.decoupled_weight_decay,
                                None if max_exp_avg_sq is None else max_exp_avg_sq.data,
                                group["maximize"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p <- p * (1 - lr * wd)
    before the Adam step, instead of adding wd * p to the gradient."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat), with the momentum schedule mu_t of PyTorch's
    NAdam (`momentum_decay`); `decoupled_weight_decay=True` decays as AdamW does."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_hyperparameters("NAdam", lr, eps, weight_decay)
        real("NAdam", "momentum_decay", momentum_decay, low=0.0)
        super().__init__(params, dict(lr=lr, betas=check_betas("NAdam", betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = self._buffer(param)
            state["exp_avg_sq"] = self._buffer(param)
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = group["betas"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * group["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * group["momentum_decay"]))
        # PyTorch keeps the product in a float32 scalar tensor (multiplied by mu in float32)
        state["mu_product"] = float(np.float32(state["mu_product"]) * np.float32(mu))
        param.kernels.nadam_step(param.data, grad, state["exp_avg"].data,
                                 state["exp_avg_sq"].data, step, group["lr"], beta1, beta2,
                                 group["eps"], group["weight_decay"],
                                 group["decoupled_weight_decay"], mu, mu_next,
                                 state["mu_product"], group["maximize"])
