"""Optimizers (SGD, Adam, AdamW), an L1 penalty and learning-rate schedules.

The update rules are PyTorch's, step for step, so a model trains the same here and there.
With gradient g, parameter p, learning rate lr and weight decay wd:

SGD            g <- g + wd * p
               b <- g on the first step, else momentum * b + (1 - dampening) * g
               g <- g + momentum * b (nesterov) or b
               p <- p - lr * g
Adam           g <- g + wd * p                   (AdamW instead: p <- p * (1 - lr * wd))
               m <- beta1 * m + (1 - beta1) * g
               v <- beta2 * v + (1 - beta2) * g^2
               p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

Each update is one fused in-place kernel per parameter (`kernels/<device>/optim.py`).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .backend import kernels_for
from .tensor import Tensor


class Optimizer(abc.ABC):
    """Base class: holds `param_groups` (dicts with "params" and hyper-parameters) and a
    per-parameter `state`. Subclasses implement `_update(param, grad, group, state)`.

    `params` is an iterable of Parameters, or of dicts `{"params": [...], "lr": ...}` whose
    missing hyper-parameters come from the optimizer's defaults (parameter groups).
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}  # keyed by id(param)
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. a smaller lr)."""
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for param in group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, "
                                f"got {type(param).__name__}")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in group["params"]):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none or param.grad is None:
                    param.grad = None
                else:
                    param.grad.data = param.kernels.zeros(param.shape, param.dtype)

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad.data
                if tuple(grad.shape) != param.shape or grad.dtype != param.dtype:
                    raise ValueError(f"{type(self).__name__}: gradient {tuple(grad.shape)} "
                                     f"{grad.dtype} does not match parameter {param.shape} "
                                     f"{param.dtype}")
                self._update(param, grad, group, self.state.setdefault(id(param), {}))
                param._bump_version()  # as PyTorch's: a graph that saved it now fails loudly

    @abc.abstractmethod
    def _update(self, param: Tensor, grad, group: dict, state: dict) -> None:
        """Update `param.data` in place from `grad`, the group's hyper-parameters and the
        parameter's `state` (a dict the subclass fills on the first step)."""

    # -- saving and restoring ---------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {name: NumPy array or number}}, "param_groups": [...]}, with
        parameters replaced by their position across groups (as PyTorch does)."""
        index_of, groups, position = {}, [], 0
        for group in self.param_groups:
            saved = {key: value for key, value in group.items() if key != "params"}
            saved["params"] = list(range(position, position + len(group["params"])))
            for param in group["params"]:
                index_of[id(param)] = position
                position += 1
            groups.append(saved)
        state = {}
        for param_id, param_state in self.state.items():
            if param_id in index_of and param_state:
                state[index_of[param_id]] = {
                    key: (np.array(kernels_for(_device_of(value)).to_numpy(value), copy=True)
                          if _is_array(value) else value)
                    for key, value in param_state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by `state_dict`."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has "
                             f"{len(saved_groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        params_by_index = {}
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: a saved group has "
                                 f"{len(saved['params'])} parameters, this one has "
                                 f"{len(group['params'])}")
            for index, param in zip(saved["params"], group["params"], strict=True):
                params_by_index[int(index)] = param
            for key, value in saved.items():
                if key != "params":
                    group[key] = value
        self.state = {}
        for index, param_state in state_dict["state"].items():
            param = params_by_index[int(index)]
            restored = {}
            for key, value in param_state.items():
                if key == "step":
                    value = int(value)
                else:
                    value = np.asarray(value)
                    if tuple(value.shape) != param.shape:
                        raise ValueError(f"{type(self).__name__}.load_state_dict: state "
                                         f"{key!r} has shape {value.shape}, the parameter "
                                         f"has {param.shape}")
                    value = param.kernels.from_numpy(np.array(value, dtype=param.dtype))
                restored[key] = value
            self.state[id(param)] = restored

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items())
                      if key != "params"]
        return "\n".join(lines) + "\n)"


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _device_of(array) -> str:
    return "cpu" if isinstance(array, np.ndarray) else "cuda"


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
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr ({lr}), momentum ({momentum}) and weight_decay "
                             f"({weight_decay}) must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, param, grad, group, state):
        momentum = group["momentum"]
        buffer = state.get("momentum_buffer")
        first_step = momentum != 0 and buffer is None
        if first_step:
            buffer = param.kernels.zeros(param.shape, param.dtype)
            state["momentum_buffer"] = buffer
        param.kernels.sgd_step(param.data, grad, buffer, group["lr"], momentum,
                               group["dampening"], group["weight_decay"], group["nesterov"],
                               first_step)


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
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: lr ({lr}), eps ({eps}) and weight_decay "
                             f"({weight_decay}) must be >= 0")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def _update(self, param, grad, group, state):
        if not state:
            state["step"] = 0
            state["exp_avg"] = param.kernels.zeros(param.shape, param.dtype)
            state["exp_avg_sq"] = param.kernels.zeros(param.shape, param.dtype)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = param.kernels.zeros(param.shape, param.dtype)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        param.kernels.adam_step(param.data, grad, state["exp_avg"], state["exp_avg_sq"],
                                state["step"], group["lr"], beta1, beta2, group["eps"],
                                group["weight_decay"], self.decoupled_weight_decay,
                                state.get("max_exp_avg_sq"))


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
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


def l1_penalty(params, weight: float) -> Tensor:
    """weight * sum(|p|) over `params` (a Module or an iterable of Parameters), as a scalar
    Tensor to add to the loss: L1 regularisation, which pushes weights to exactly zero.
    (L2 regularisation is the optimizers' `weight_decay`.)"""
    params = params.parameters() if hasattr(params, "parameters") else params
    total = None
    for param in params:
        if not param.requires_grad:
            continue
        term = param.abs().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l1_penalty: no parameters that require grad")
    return total * weight


# --------------------------------------------------------------------------- schedules


class LRScheduler(abc.ABC):
    """Base class: sets each group's lr from its initial lr and the epoch count. Call
    `scheduler.step()` once per epoch, after the optimizer's steps."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    @abc.abstractmethod
    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate of a group whose initial lr is `base_lr`, at `epoch`."""

    def step(self) -> None:
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size): divide by 10 every step_size epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2: a half
    cosine from the initial lr down to eta_min over T_max epochs."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (
            1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
