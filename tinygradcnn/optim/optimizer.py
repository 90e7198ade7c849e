"""The optimizer base class: parameter groups, per-parameter state, `step`, `zero_grad`,
and `state_dict()` / `load_state_dict()` in PyTorch's layout.

An optimizer holds `param_groups` (dicts with "params" and the hyper-parameters) and
`state` (a dict keyed by parameter: buffers as Tensors on the parameter's device, counters
as numbers). A subclass says how one parameter is updated (`_update`); the update itself is
one fused kernel per parameter (`kernels/<device>/optim.py`), whose per-element math is
written once in `kernels/shared.py`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import enable_grad
from ..ops._checks import real
from ..tensor import Tensor


class Optimizer(abc.ABC):
    """Base class: holds `param_groups` and the per-parameter `state`. Subclasses
    implement `_update(param, grad, group, state)`.

    `params` is an iterable of Parameters, or of dicts `{"params": [...], "lr": ...}` whose
    missing hyper-parameters come from the optimizer's defaults (parameter groups).
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
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

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place. `closure` (optional, as in
        PyTorch) re-evaluates the model and returns the loss; `step` returns that loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad.data
                if tuple(grad.shape) != param.shape or grad.dtype != param.dtype:
                    raise ValueError(f"{type(self).__name__}: gradient {tuple(grad.shape)} "
                                     f"{grad.dtype} does not match parameter {param.shape} "
                                     f"{param.dtype}")
                self._update(param, grad, group, self.state.setdefault(param, {}))
                param._bump_version()  # as PyTorch's: a graph that saved it now fails loudly
        return loss

    @abc.abstractmethod
    def _update(self, param: Tensor, grad, group: dict, state: dict) -> None:
        """Update `param.data` in place from `grad` (a device array), the group's
        hyper-parameters and the parameter's `state` (a dict the subclass fills on the
        first step: buffers from `_buffer`, counters as numbers)."""

    @staticmethod
    def _buffer(param: Tensor, fill: float = 0.0) -> Tensor:
        """A state buffer: a Tensor of `param`'s shape, dtype and device, filled with `fill`."""
        return Tensor._make(param.kernels.full(param.shape, fill, param.dtype))

    # -- saving and restoring ---------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """`{"state": {index: {name: Tensor or number}}, "param_groups": [{..., "params":
        [indices]}]}`, PyTorch's layout: parameters are replaced by their position across
        the groups. The state Tensors are copies on the parameters' device (a snapshot,
        where PyTorch hands out references), so a checkpoint kept in memory stays as it was
        while training goes on."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            saved = {key: value for key, value in group.items() if key != "params"}
            saved["params"] = []
            for param in group["params"]:
                index_of[id(param)] = len(index_of)
                saved["params"].append(index_of[id(param)])
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                param_state = self.state.get(param)
                if param_state:
                    state[index_of[id(param)]] = {
                        key: (Tensor._make(value.kernels.copy(value.data))
                              if isinstance(value, Tensor) else value)
                        for key, value in param_state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by `state_dict` (as is, or
        after `tg.save`/`tg.load`, which gives its Tensors back as NumPy arrays). Buffers
        are moved to each parameter's device and cast to its dtype, as PyTorch does."""
        name = f"{type(self).__name__}.load_state_dict"
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the saved state has {len(saved_groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}")
        params_by_index = {}
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}: a saved group has {len(saved['params'])} "
                                 f"parameters, this one has {len(group['params'])}")
            for index, param in zip(saved["params"], group["params"], strict=True):
                params_by_index[int(index)] = param
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if key == "betas" else value
        self.state = {}
        for index, param_state in state_dict["state"].items():
            param = params_by_index[int(index)]
            self.state[param] = {key: _restored(name, key, value, param)
                                 for key, value in param_state.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items())
                      if key != "params"]
        return "\n".join(lines) + "\n)"


def _restored(name: str, key: str, value: Any, param: Tensor) -> Any:
    """One saved state entry as the optimizer keeps it: a buffer Tensor on `param`'s device
    and in its dtype, or a Python number (the step count stays an int)."""
    if isinstance(value, Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not isinstance(value, np.ndarray):
        return int(value) if key == "step" else float(value)
    if tuple(value.shape) != param.shape:
        raise ValueError(f"{name}: state {key!r} has shape {value.shape}, the parameter has "
                         f"{param.shape}")
    return Tensor._make(param.kernels.from_numpy(np.array(value, dtype=param.dtype)))


def check_hyperparameters(optimizer: str, lr: float, eps: float | None = None,
                          weight_decay: float = 0.0) -> None:
    """PyTorch's checks shared by every optimizer: lr, eps and weight_decay are >= 0."""
    real(optimizer, "lr", lr, low=0.0)
    if eps is not None:
        real(optimizer, "eps", eps, low=0.0)
    real(optimizer, "weight_decay", weight_decay, low=0.0)


def check_betas(optimizer: str, betas: tuple[float, float]) -> tuple[float, float]:
    """`betas` as a tuple of two floats in [0, 1), as PyTorch requires."""
    values = tuple(betas)
    if len(values) != 2 or not all(0.0 <= beta < 1.0 for beta in values):
        raise ValueError(f"{optimizer}: betas must be two numbers in [0, 1), got {values}")
    return (float(values[0]), float(values[1]))
