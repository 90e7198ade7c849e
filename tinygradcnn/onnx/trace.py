"""Tracing: run a model's forward pass once and record every ``Function.apply`` it makes.

The model itself is the only implementation of its forward: the tracer sits in
``autograd._tracer`` while the pass runs, and ``Function.apply`` hands it each op (the
Function class, its input tensors, its keyword parameters, its output). Forward pre-hooks
and hooks on every submodule keep a stack of module paths, so each record (and each error)
names the layer it ran in. Reading a traced tensor's values from Python (``item()``,
``bool()``, ``numpy()``, ``tolist()``) is an error: the forward then depends on the data,
and the recorded graph would be one branch of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import autograd
from ..nn.module import Module
from ..tensor import Tensor


class ExportError(RuntimeError):
    """A model that cannot be exported faithfully: the message names the op and the layer."""


@dataclass
class Record:
    """One op of the traced forward: ``output = function.apply(*inputs, **params)``."""

    function: type
    inputs: tuple
    params: dict
    output: Tensor
    path: str

    @property
    def op(self) -> str:
        return self.function.__name__


def layer_name(path: str) -> str:
    """``"layer 'features.0'"`` for a record's module path, as errors print it."""
    return f"layer {path!r}" if path else "the model's own forward"


@dataclass
class Tracer:
    """Collects the records of one forward pass; ``autograd`` calls ``record`` and ``read``."""

    records: list[Record] = field(default_factory=list)
    # id(tensor) -> (tensor, version when made): the tensors computed from the inputs (the
    # tensor is kept so that its id stays unique while the trace lives)
    traced: dict[int, tuple[Tensor, int]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=lambda: [""])

    def add_input(self, tensor: Tensor) -> None:
        self.traced[id(tensor)] = (tensor, tensor._version)

    def check_unchanged(self, tensor: Tensor | None, reader: str) -> None:
        """Raise if an in-place op (which is not recorded) wrote ``tensor`` after it was
        traced: the graph would miss that write."""
        seen = None if tensor is None else self.traced.get(id(tensor))
        if seen is not None and seen[0]._version != seen[1]:
            raise ExportError(
                f"export: {reader} reads a tensor of shape {seen[0].shape} that an "
                f"in-place op changed after it was computed; in-place ops are not recorded, "
                f"so the graph would miss it: use the out-of-place op (x = x + y, not "
                f"x += y)"
            )

    def record(self, function: type, inputs: tuple, params: dict, output: Tensor) -> None:
        for tensor in inputs:
            self.check_unchanged(tensor, f"{function.__name__} in {layer_name(self.paths[-1])}")
        self.records.append(Record(function, tuple(inputs), dict(params), output,
                                   self.paths[-1]))
        self.traced[id(output)] = (output, output._version)

    def read(self, tensor: Tensor, what: str) -> None:
        if id(tensor) in self.traced:
            raise ExportError(
                f"export: {layer_name(self.paths[-1])} calls {what} on a tensor of shape "
                f"{tensor.shape} computed from the input: the forward depends on the data "
                f"(Python control flow on tensor values), so one traced graph cannot "
                f"represent it; compute it with tensor ops (tg.where, masks) instead"
            )


def trace(model: Module, inputs: tuple[Tensor, ...]) -> tuple[Tracer, Any]:
    """Run ``model(*inputs)`` once under a tracer; returns (the tracer, the output).

    The pass records the graph (grad on, inputs requiring grad) so that ``inplace=True``
    layers compute out of place and every op goes through ``Function.apply``.
    """
    if autograd._tracer is not None:
        raise ExportError("export: a trace is already running (export is not re-entrant)")
    tracer = Tracer()
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue

        def enter(module: Module, args: tuple, name: str = name) -> None:
            tracer.paths.append(name)

        def leave(module: Module, args: tuple, output: Any) -> None:
            tracer.paths.pop()

        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    for tensor in inputs:
        tracer.add_input(tensor)
    autograd._tracer = tracer
    try:
        with autograd.enable_grad():
            output = model(*inputs)
    finally:
        autograd._tracer = None
        for handle in handles:
            handle.remove()
    return tracer, output
