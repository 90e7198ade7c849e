"""What the model-reading views share: finding a layer by name, running one image through
a model without side effects on it, and watching a layer's output on the way."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from ..nn.conv import Conv2d
from ..nn.module import Module
from ..tensor import Tensor


def layer_names(model: Module) -> list[str]:
    """Every named submodule of `model` (the root, whose name is "", left out)."""
    return [name for name, _ in model.named_modules() if name]


def find_layer(model: Module, layer: str | Module, who: str) -> tuple[str, Module]:
    """(name, module) of `layer`, given as a dotted name or as the module itself.

    An unknown name is a one-line ValueError listing the valid ones."""
    for name, module in model.named_modules():
        if (module is layer) if isinstance(layer, Module) else (name == layer):
            return name, module
    shown = layer if isinstance(layer, str) else type(layer).__name__
    raise ValueError(f"{who}: no layer {shown!r} in {type(model).__name__}; valid layers: "
                     f"{', '.join(layer_names(model))}")


def conv_layers(model: Module) -> list[tuple[str, Module]]:
    """(name, module) of every Conv2d, in registration order."""
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, Conv2d)]


def as_batch(x, model: Module, who: str, requires_grad: bool = False) -> Tensor:
    """One image (C, H, W) or a batch of one (1, C, H, W), array or Tensor, as a float32
    (1, C, H, W) leaf Tensor on the model's device."""
    array = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[0] != 1:
        raise ValueError(f"{who}: x must be one image (C, H, W) or a batch of one "
                         f"(1, C, H, W), got shape {array.shape}")
    first = next(model.parameters(), None)
    device = first.device if first is not None else "cpu"
    return Tensor(np.ascontiguousarray(array, dtype=np.float32), requires_grad=requires_grad,
                  device=device)


@contextlib.contextmanager
def probing(model: Module) -> Iterator[None]:
    """Eval mode and frozen parameters for the duration, then both as they were: a view
    asks for gradients with respect to inputs and activations only, so it must leave no
    `.grad` on the weights and run dropout and batch norm as at inference."""
    modes = {id(module): module.training for module in model.modules()}
    frozen = [(param, param.requires_grad) for param in model.parameters()]
    model.eval()
    for param, _ in frozen:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])
        for param, requires_grad in frozen:
            param.requires_grad_(requires_grad)


class Recorder:
    """Forward hooks that keep the output of each watched module (the last call's) and ask
    autograd to keep its gradient too; `order` lists the names in the order they ran."""

    def __init__(self, modules: list[tuple[str, Module]], keep_grad: bool = True) -> None:
        self.outputs: dict[str, Tensor] = {}
        self.order: list[str] = []
        self._handles = [module.register_forward_hook(self._hook(name, keep_grad))
                         for name, module in modules]

    def _hook(self, name: str, keep_grad: bool):
        def hook(module, inputs, output):
            if isinstance(output, Tensor):
                if keep_grad and output.requires_grad:
                    output.retain_grad()
                self.outputs[name] = output
                if name in self.order:
                    self.order.remove(name)
                self.order.append(name)
        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
