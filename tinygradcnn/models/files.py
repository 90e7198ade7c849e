"""Whole-model files: `tg.save_model(model, "model.npz")`, `tg.load_model("model.npz")`.

One file holds what rebuilds the model and its weights, as Keras's `model.save` does:

    {"format": "tinygradcnn.model", "version": 1,
     "model": "resnet20",                               # the registry name
     "arguments": {"num_classes": 10, "in_channels": 1},  # what the builder was called with
     "training": False,                                 # the mode it was saved in
     "input_size": [1, 28, 28],                         # (C, H, W) it was trained on, or None
     "state_dict": {"conv1.weight": array, ...}}

It is written with `tg.save` (atomically; `.safetensors` or `.npz` by the extension), so
nothing is pickled and loading runs no code from the file: the model is rebuilt by the
builder registered under its name here, and the weights are loaded into it strictly.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..nn.module import Module
from ..serialization import load, save
from .registry import MODELS, get_model, list_models

FORMAT = "tinygradcnn.model"
FORMAT_VERSION = 1


def save_model(model: Module, path: str | os.PathLike,
               input_size: tuple[int, ...] | None = None) -> None:
    """Write `model` (built by a registered builder: `get_model(...)`, `models.resnet18()`)
    to `path`: its registry name, constructor arguments, mode and weights, and the
    (C, H, W) `input_size` of its images ((C, T) of its series) when given (`load_model`
    puts it back as `model._input_size`; `summary --model-file` and the teaching views
    default to it)."""
    name = getattr(model, "_model_name", None)
    arguments = getattr(model, "_build_args", None)
    kind = type(model).__name__
    if name is None:
        raise ValueError(f"save_model: this {kind} was not built by a registered builder, so "
                         "no file can rebuild it; register it (tg.models.register_model("
                         f"'mynet', {kind})) and build it with tg.models.get_model, or save "
                         "only its weights with tg.save(model.state_dict(), path)")
    if arguments is None:
        raise ValueError(f"save_model: {name} was built with positional *args that cannot "
                         "be recorded; build it with keyword arguments")
    for argument, value in arguments.items():
        try:
            json.dumps(value)
        except TypeError:
            raise ValueError(f"save_model: {name}'s argument {argument}={value!r} cannot be "
                             "stored in a model file (numbers, strings, bools, None, lists "
                             "and dicts of them only)") from None
    save({"format": FORMAT, "version": FORMAT_VERSION, "model": name,
          "arguments": dict(arguments), "training": bool(model.training),
          "input_size": None if input_size is None else [int(n) for n in input_size],
          "state_dict": model.state_dict()}, path)


def read_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """The checked contents of a model file (as `save_model` describes), weights included."""
    path = os.fspath(path)
    content = load(path)
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(f"load_model: {path} is not a tinygradcnn model file (tg.save_model "
                         "writes them; a bare state dict loads with "
                         "model.load_state_dict(tg.load(path)))")
    version = content.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"load_model: {path} has model-file format version {version}, newer "
                         f"than this tinygradcnn reads (up to {FORMAT_VERSION}); upgrade "
                         "tinygradcnn to load it")
    name = content.get("model")
    if name not in MODELS:
        raise ValueError(f"load_model: {path} holds a {name!r} model, which is not registered "
                         f"here (available: {', '.join(list_models())}); import the module "
                         "that registers it first")
    return content


def load_model(path: str | os.PathLike, device: str = "cpu") -> Module:
    """Rebuild the model saved in `path` by `save_model`, with its weights, on `device`,
    in the mode it was saved in; `model._input_size` is the saved (C, H, W) or None."""
    content = read_model_file(path)
    name, arguments = content["model"], content["arguments"]
    model = get_model(name, **arguments)
    try:
        model.load_state_dict(content["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"load_model: the weights in {os.fspath(path)} do not fit "
                         f"{name}(**{arguments}) (was the model changed after it was built, "
                         f"a new head, say? Build it with those arguments instead): {err}"
                         ) from err
    model.train(bool(content.get("training", False)))
    input_size = content.get("input_size")
    object.__setattr__(model, "_input_size", None if input_size is None else tuple(input_size))
    return model.to(device)
