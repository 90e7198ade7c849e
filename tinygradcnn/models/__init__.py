"""Ready-made models and a registry: `get_model("lenet5", input_size=8)`."""

from __future__ import annotations

from collections.abc import Callable

from ..nn.module import Module
from .lenet import FashionCNN as FashionCNN
from .lenet import LeNet5 as LeNet5

MODELS: dict[str, Callable[..., Module]] = {
    "lenet5": LeNet5,
    "fashion-cnn": FashionCNN,
}


def register_model(name: str, factory: Callable[..., Module]) -> None:
    """Make `get_model(name, ...)` (and the CLI's --model) build `factory(...)`."""
    MODELS[name] = factory


def list_models() -> list[str]:
    return sorted(MODELS)


def get_model(name: str, **kwargs) -> Module:
    """Build a registered model: `get_model("lenet5", num_classes=10, dropout=0.2)`."""
    if name not in MODELS:
        raise ValueError(f"get_model: unknown model {name!r}; available: "
                         f"{', '.join(list_models())}")
    return MODELS[name](**kwargs)
