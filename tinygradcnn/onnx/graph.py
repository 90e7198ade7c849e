"""Turning a trace into an ONNX model: value names, initializers, nodes, and ``export``.

``GraphBuilder`` gives every tensor of the trace a value name: the graph inputs by
``input_names``, Parameters and buffers by their ``state_dict`` names (they become
initializers), any other tensor the forward made from outside the trace (a Python number
in ``x * 2``, a constant table) an initializer of its own. Each record is then handed to
its exporter in ``exporters.EXPORTERS`` (one table, keyed by the Function's name), which
emits ONNX nodes through ``node``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..atomic import atomic_write_bytes
from ..nn.module import Module
from ..tensor import Tensor
from .trace import ExportError, Record, layer_name, trace


class GraphBuilder:
    """The ONNX graph under construction: ``node`` adds a node, ``name`` a tensor's value."""

    def __init__(self, model: Module, opset: int, fold_batchnorm: bool) -> None:
        self.opset = opset
        self.fold_batchnorm = fold_batchnorm
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.names: dict[int, str] = {}
        self.keep: list[Any] = []  # tensors named by id stay alive while the ids are keys
        self.used: set[str] = set()
        self.weight_names = {id(t): n for n, t in [*model.named_parameters(),
                                                    *model.named_buffers()]}
        self.record: Record | None = None  # the record being exported, for error messages
        self.uses: dict[int, int] = {}  # id(tensor) -> how many records read it
        self.producers: dict[int, Record] = {}
        self.aliases: dict[int, int] = {}  # a folded BatchNorm's output -> its conv's output
        self.folded: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(conv record) -> w, b

    # -- names ----------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A value or node name not used before, from ``hint``."""
        base = hint.replace("/", ".") or "value"
        name, count = base, 1
        while name in self.used:
            name, count = f"{base}_{count}", count + 1
        self.used.add(name)
        return name

    def bind(self, tensor: Tensor, name: str) -> None:
        self.names[id(tensor)] = name
        self.keep.append(tensor)

    def name(self, tensor: Tensor | None) -> str:
        """The value name of ``tensor`` ("" for an absent optional input); a tensor from
        outside the trace (a weight, a constant) becomes an initializer on first use."""
        if tensor is None:
            return ""
        key = self.aliases.get(id(tensor), id(tensor))
        if key in self.names:
            return self.names[key]
        hint = self.weight_names.get(id(tensor))
        if hint is None and self.record is not None:
            hint = f"{self.record.path or 'const'}.const"
        name = self.constant(tensor.kernels.to_numpy(tensor.data), hint or "const")
        self.bind(tensor, name)
        return name

    def constant(self, array: Any, hint: str = "const", dtype: Any = None) -> str:
        """A new initializer holding ``array`` (float64 is written as float32 unless
        ``dtype`` says otherwise); returns its name."""
        array = np.asarray(array, dtype=dtype)
        if dtype is None and array.dtype == np.float64:
            array = array.astype(np.float32)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, values: Sequence[int], hint: str = "shape") -> str:
        """An int64 1-d initializer (shapes, axes, pads given as inputs)."""
        return self.constant(np.asarray(list(values), dtype=np.int64), hint)

    # -- nodes ----------------------------------------------------------------------
    def node(self, op_type: str, inputs: Sequence[str], outputs: int | Sequence[str] = 1,
             **attributes: Any) -> str:
        """Add an ONNX node; returns its (first) output name. ``outputs``: a count of fresh
        names or the names themselves. Attributes that are None are left out."""
        path = self.record.path if self.record is not None else ""
        prefix = f"{path}/{op_type}" if path else op_type
        if isinstance(outputs, int):
            outputs = [self.fresh(prefix) for _ in range(outputs)]
        attributes = {key: value for key, value in attributes.items() if value is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs),
                                           name=self.fresh(prefix), **attributes))
        return outputs[0]

    def fail(self, why: str) -> ExportError:
        """An error naming the op being exported and its layer."""
        record = self.record
        op = record.op if record is not None else "export"
        where = layer_name(record.path) if record is not None else "the model"
        return ExportError(f"export: {op} in {where}: {why}")


def _plan_batchnorm_folding(builder: GraphBuilder, records: list[Record]) -> None:
    """For ``fold_batchnorm``: each eval BatchNorm right after a conv that nothing else reads
    disappears into that conv's weight and bias (``w' = w * s``, ``b' = (b - mean) * s +
    beta``, ``s = gamma / sqrt(var + eps)``)."""
    for record in records:
        if record.op != "BatchNorm" or record.params.get("training"):
            continue
        conv = builder.producers.get(id(record.inputs[0]))
        if conv is None or conv.op != "Conv2d" or builder.uses.get(id(conv.output)) != 1:
            continue
        x, weight, bias, mean, var, _ = record.inputs
        to_numpy = record.output.kernels.to_numpy
        channels = record.output.shape[1]
        gamma = np.ones(channels) if weight is None else to_numpy(weight.data).astype(np.float64)
        beta = np.zeros(channels) if bias is None else to_numpy(bias.data).astype(np.float64)
        scale = gamma / np.sqrt(to_numpy(var.data).astype(np.float64) + record.params["eps"])
        conv_weight = to_numpy(conv.inputs[1].data).astype(np.float64)
        conv_bias = np.zeros(channels) if conv.inputs[2] is None else \
            to_numpy(conv.inputs[2].data).astype(np.float64)
        dtype = to_numpy(conv.inputs[1].data).dtype
        builder.folded[id(conv)] = (
            (conv_weight * scale[:, None, None, None]).astype(dtype),
            ((conv_bias - to_numpy(mean.data)) * scale + beta).astype(dtype),
        )
        builder.aliases[id(record.output)] = id(conv.output)


def _value_info(name: str, tensor: Tensor, dynamic_batch: bool) -> onnx.ValueInfoProto:
    shape: list[Any] = list(tensor.shape)
    if dynamic_batch and shape:
        shape[0] = "batch"
    element = helper.np_dtype_to_tensor_dtype(np.dtype(tensor.dtype))
    return helper.make_tensor_value_info(name, element, shape)


def _as_tuple(value: Any, what: str) -> tuple:
    values = value if isinstance(value, (tuple, list)) else (value,)
    for item in values:
        if not isinstance(item, Tensor):
            raise ExportError(f"export: the model's {what} must be Tensors, got "
                              f"{type(item).__name__}")
    return tuple(values)


def build_model(model: Module, example_input: Any, opset: int = 17, dynamic_batch: bool = True,
                input_names: Sequence[str] = ("input",),
                output_names: Sequence[str] = ("output",),
                fold_batchnorm: bool = False) -> onnx.ModelProto:
    """The ONNX model of ``model``'s eval forward on ``example_input`` (a Tensor or a tuple
    of them); see ``export``."""
    from .exporters import EXPORTERS

    if not 13 <= opset <= 21:
        raise ValueError(f"export: opset must be in 13..21, got {opset}")
    inputs = _as_tuple(example_input, "inputs")
    if len(input_names) != len(inputs):
        raise ValueError(f"export: {len(inputs)} inputs but input_names={tuple(input_names)}")
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        # fresh leaf copies: the trace records a graph through them, the caller's stay as is
        traced_inputs = tuple(Tensor._make(t.kernels.copy(t.data)) for t in inputs)
        for tensor in traced_inputs:
            if tensor.dtype.kind == "f":
                tensor.requires_grad_(True)
        tracer, output = trace(model, traced_inputs)
    finally:  # each module's own flag back (a fine-tuned model may keep some in eval)
        for module, training in modes:
            object.__setattr__(module, "training", training)
    if isinstance(output, Mapping):  # a dict of heads (a detector's): named by its keys
        if tuple(output_names) == ("output",):
            output_names = tuple(output)
        output = tuple(output.values())
    outputs = _as_tuple(output, "outputs")
    for tensor in outputs:
        tracer.check_unchanged(tensor, "the model's output")
    if len(output_names) != len(outputs):
        raise ValueError(f"export: the model returns {len(outputs)} outputs but "
                         f"output_names={tuple(output_names)}")
    builder = GraphBuilder(model, opset, fold_batchnorm)
    for tensor, name in zip(traced_inputs, input_names, strict=True):
        builder.used.add(name)
        builder.bind(tensor, name)
    for record in tracer.records:
        builder.producers[id(record.output)] = record
        for tensor in record.inputs:
            if tensor is not None:
                builder.uses[id(tensor)] = builder.uses.get(id(tensor), 0) + 1
    for tensor in outputs:
        builder.uses[id(tensor)] = builder.uses.get(id(tensor), 0) + 1
    if fold_batchnorm:
        _plan_batchnorm_folding(builder, tracer.records)
    for record in tracer.records:
        builder.record = record
        if id(record.output) in builder.aliases:
            continue
        exporter = EXPORTERS.get(record.op)
        if exporter is None:
            raise builder.fail(f"no ONNX exporter for this op (the table in "
                               f"tinygradcnn/onnx/exporters.py has {len(EXPORTERS)})")
        builder.bind(record.output, exporter(builder, record))
    builder.record = None
    for name in output_names:
        builder.used.add(name)
    for tensor, name in zip(outputs, output_names, strict=True):
        builder.node("Identity", [builder.name(tensor)], [name])
    graph = helper.make_graph(
        builder.nodes, type(model).__name__,
        [_value_info(n, t, dynamic_batch) for n, t in zip(input_names, traced_inputs,
                                                          strict=True)],
        [_value_info(n, t, dynamic_batch) for n, t in zip(output_names, outputs, strict=True)],
        builder.initializers,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                   producer_name="tinygradcnn")
    # the oldest IR version that has this opset: onnxruntime refuses IR versions newer than
    # it knows, and the onnx package writes its own newest by default
    onnx_model.ir_version = helper.find_min_ir_version_for(list(onnx_model.opset_import))
    return onnx_model


def export(model: Module, example_input: Any, path: str, opset: int = 17,
           dynamic_batch: bool = True, input_names: Sequence[str] = ("input",),
           output_names: Sequence[str] = ("output",), fold_batchnorm: bool = False) -> dict:
    """Write ``model`` as an ONNX file that onnxruntime runs with the same outputs.

    One eval-mode forward pass on ``example_input`` ((N, C, H, W) for a CNN; a tuple for
    several inputs) records the ops (``trace``); Parameters and buffers become initializers
    named as in ``state_dict``; the batch axis is the symbolic ``"batch"`` unless
    ``dynamic_batch=False``. BatchNorm exports as ``BatchNormalization``, or with
    ``fold_batchnorm=True`` folded into the conv before it. The model's training flag is
    restored afterwards. A forward that returns a dict of Tensors (a detector's heads)
    exports one output per entry, named by its keys unless ``output_names`` is given.

    Raises ``ExportError`` naming the op and the layer for an op with no exporter, an op
    that only makes sense in training (dropout with ``training=True``), or a forward whose
    Python code reads tensor values (``item()``, ``if tensor:``).

    Returns ``{"seconds": export time, "bytes": file size, "nodes": node count}``.
    """
    start = time.perf_counter()
    onnx_model = build_model(model, example_input, opset, dynamic_batch, input_names,
                             output_names, fold_batchnorm)
    payload = onnx_model.SerializeToString()
    atomic_write_bytes(path, payload)
    info = {"seconds": time.perf_counter() - start, "nodes": len(onnx_model.graph.node),
            "bytes": len(payload)}
    return info

