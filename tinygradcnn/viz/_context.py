"""What several explain views need from a model: its logits, a layer by name (with the error
that lists the valid names), the layer a view works on, the input and output of a layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


def model_logits(model, x: Tensor) -> np.ndarray:
    """model(x) in eval mode without gradients, as a NumPy array; the mode is restored."""
    modes = {id(module): module.training for module in model.modules()}
    try:
        model.eval()
        with no_grad():
            return model(x).numpy()
    finally:
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])


def named_layer(model, name: str, who: str = "explain"):
    """The sub-module called `name` (as in model.named_modules()); a one-line ValueError
    listing the valid names when there is none."""
    layers = dict(model.named_modules())
    layers.pop("", None)
    if name not in layers:
        raise ValueError(f"{who}: no layer named {name!r}; the layers are: "
                         f"{', '.join(layers) or '(none)'}")
    return layers[name]


def layer_io(model, layer, x: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(input, output) arrays of `layer` when `model` runs on `x` (eval mode, no gradients)."""
    seen: list[np.ndarray] = []

    def hook(module, inputs, output):
        seen[:] = [inputs[0].numpy(), output.numpy()]

    handle = layer.register_forward_hook(hook)
    try:
        model_logits(model, x)
    finally:
        handle.remove()
    if not seen:
        raise ValueError(f"explain: layer {type(layer).__name__} did not run in the forward pass")
    return seen[0], seen[1]


def layers_of(model, kinds: tuple[str, ...]) -> list[tuple[str, Any]]:
    """(name, module) of every sub-module whose class name is in `kinds`, in model order."""
    return [(name, module) for name, module in model.named_modules()
            if type(module).__name__ in kinds]


def pick_layer(model, chosen: str | None, kinds: tuple[str, ...], view: str
               ) -> tuple[str, Any]:
    """The layer a view works on: `chosen` (which must be one of `kinds`), else the first
    of `kinds`. One-line ValueErrors list the valid names."""
    candidates = layers_of(model, kinds)
    if chosen is None:
        if not candidates:
            raise ValueError(f"{view}: the model has no {' or '.join(kinds)} layer")
        return candidates[0]
    layer = named_layer(model, chosen, view)
    if type(layer).__name__ not in kinds:
        raise ValueError(f"{view}: layer {chosen!r} is a {type(layer).__name__}, not a "
                         f"{' or '.join(kinds)}; choose one of: "
                         f"{', '.join(name for name, _ in candidates) or '(none)'}")
    return chosen, layer
