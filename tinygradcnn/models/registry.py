"""The model registry: a name for every builder, and the arguments each model was built with.

    @register_model("resnet18")
    def resnet18(*, weights=None, progress=True, **kwargs): ...

    model = get_model("resnet18", num_classes=10)     # or models.resnet18(num_classes=10)
    model._model_name, model._build_args             # "resnet18", {"num_classes": 10}

Whichever way a registered model is built, through `get_model` or by calling its builder,
the registry records the name and the constructor arguments on the model, so that
`tg.save_model` can write a file that rebuilds it (`models/files.py`). `weights` and
`progress` are not recorded: the saved file carries the weights themselves. A builder whose
weights change other arguments (googlenet turns `transform_input` on for torchvision's
weights) sets those on `model._build_args` itself; they win over the call's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..nn.module import Module

MODELS: dict[str, Callable[..., Module]] = {}
# the (C, H, W) input each model is made for: the default of the CLI's `summary`
INPUT_SIZES: dict[str, tuple[int, int, int]] = {}

# arguments that say where weights come from, not what the model is
_NOT_RECORDED = ("weights", "progress")


def _recorded_arguments(factory: Callable[..., Module], args: tuple, kwargs: dict
                        ) -> dict[str, Any] | None:
    """The call's arguments as keywords (None when they cannot be: *args, say)."""
    try:
        bound = inspect.signature(factory).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return None
    recorded: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                return None
        elif kind is inspect.Parameter.VAR_KEYWORD:
            recorded.update(value)
        else:
            recorded[name] = value
    return {name: value for name, value in recorded.items() if name not in _NOT_RECORDED}


def register_model(name: str, factory: Callable[..., Module] | None = None, *,
                   input_size: tuple[int, ...] = (3, 224, 224)):
    """Make `get_model(name, ...)` (and the CLI's --model) build `factory(...)`.

    `register_model("lenet5", LeNet5)` registers a class or function; `@register_model(name)`
    decorates a builder. Either way the builder returned (and registered) records `name` and
    its arguments on every model it builds. `input_size` is the (C, H, W) the model is made
    for (ImageNet's 3x224x224 by default; `summary` uses it), (C, T) for a sequence model."""
    if factory is None:
        return functools.partial(register_model, name, input_size=input_size)

    @functools.wraps(factory)
    def build(*args, **kwargs) -> Module:
        model = factory(*args, **kwargs)
        recorded = _recorded_arguments(factory, args, kwargs)
        if recorded is not None:
            recorded.update(model.__dict__.get("_build_args") or {})
        object.__setattr__(model, "_model_name", name)
        object.__setattr__(model, "_build_args", recorded)
        return model

    MODELS[name] = build
    INPUT_SIZES[name] = tuple(input_size)  # type: ignore[assignment]
    return build


def list_models() -> list[str]:
    """The registered names, sorted: what `get_model` and the CLI's --model accept."""
    return sorted(MODELS)


def _check_name(name: str, who: str) -> None:
    if name not in MODELS:
        raise ValueError(f"{who}: unknown model {name!r}; available: "
                         f"{', '.join(list_models())}")


def model_arguments(name: str) -> set[str]:
    """The keyword arguments that model `name`'s builder names in its signature (those it
    takes through **kwargs are not listed)."""
    _check_name(name, "model_arguments")
    parameters = inspect.signature(MODELS[name]).parameters.values()
    return {p.name for p in parameters
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def get_model(name: str, **kwargs) -> Module:
    """Build a registered model: `get_model("resnet18", num_classes=10)`,
    `get_model("resnet18", weights="resnet18.safetensors")`."""
    _check_name(name, "get_model")
    return MODELS[name](**kwargs)
