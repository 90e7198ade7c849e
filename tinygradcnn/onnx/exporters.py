"""The exporter table: for each op (keyed by its ``Function``'s name, as in ``tinygradcnn/ops``)
the ONNX nodes that compute it.

An exporter is ``fn(builder, record) -> name of the output value``: ``record.inputs`` are the
op's input tensors (``builder.name(t)`` gives their values; weights become initializers),
``record.params`` its keyword parameters, ``record.output`` the traced output (its shape
and dtype). Ops with no ONNX twin export as their composition (sum pooling is a depthwise
convolution with a kernel of ones). ``builder.fail(why)`` makes the error that names the
op and its layer. The pooling and resizing exporters are in ``spatial.py``, in this table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import helper

from .graph import GraphBuilder
from .trace import Record

Exporter = Callable[[GraphBuilder, Record], str]
EXPORTERS: dict[str, Exporter] = {}

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def exporter(*names: str) -> Callable[[Exporter], Exporter]:
    """Register the decorated function as the exporter of the Functions ``names``."""

    def register(fn: Exporter) -> Exporter:
        for name in names:
            EXPORTERS[name] = fn
        return fn

    return register


def _onnx_pads(padding: tuple[int, ...]) -> list[int]:
    """Our (top, bottom, left, right) as ONNX's [top, left, bottom, right]."""
    top, bottom, left, right = padding
    return [top, left, bottom, right]


# -- linear algebra and convolution -----------------------------------------------------
@exporter("Conv2d")
def conv2d(b: GraphBuilder, r: Record) -> str:
    x, weight, bias = r.inputs
    stride, padding, dilation, groups = (r.params[k] for k in
                                         ("stride", "padding", "dilation", "groups"))
    if id(r) in b.folded:  # a BatchNorm folded into this conv
        folded_weight, folded_bias = b.folded[id(r)]
        inputs = [b.name(x), b.constant(folded_weight, f"{r.path}.weight_folded"),
                  b.constant(folded_bias, f"{r.path}.bias_folded")]
    else:
        inputs = [b.name(x), b.name(weight)] + ([b.name(bias)] if bias is not None else [])
    return b.node("Conv", inputs, kernel_shape=list(weight.shape[2:]), strides=list(stride),
                  pads=_onnx_pads(padding), dilations=list(dilation), group=groups)


@exporter("Linear")
def linear(b: GraphBuilder, r: Record) -> str:
    x, weight, bias = r.inputs
    if x.ndim == 2:  # y = x W^T + b in one Gemm
        inputs = [b.name(x), b.name(weight)] + ([b.name(bias)] if bias is not None else [])
        return b.node("Gemm", inputs, transB=1)
    out = b.node("MatMul", [b.name(x), b.node("Transpose", [b.name(weight)], perm=[1, 0])])
    return out if bias is None else b.node("Add", [out, b.name(bias)])


@exporter("MatMul")
def matmul(b: GraphBuilder, r: Record) -> str:
    return b.node("MatMul", [b.name(t) for t in r.inputs])


# -- elementwise -------------------------------------------------------------------------
_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div"}


@exporter(*_BINARY)
def binary(b: GraphBuilder, r: Record) -> str:
    return b.node(_BINARY[r.op], [b.name(t) for t in r.inputs])


@exporter("BinaryWithDerivative")
def binary_with_derivative(b: GraphBuilder, r: Record) -> str:
    op = {"pow": "Pow", "maximum": "Max", "minimum": "Min"}.get(r.params["op"])
    if op is None:
        raise b.fail(f"no ONNX twin for the binary op {r.params['op']!r}")
    return b.node(op, [b.name(t) for t in r.inputs])


@exporter("Compare")
def compare(b: GraphBuilder, r: Record) -> str:
    op = r.params["op"]
    inputs = [b.name(t) for t in r.inputs]
    if op == "ne":
        return b.node("Not", [b.node("Equal", inputs)])
    names = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
             "ge": "GreaterOrEqual"}
    return b.node(names[op], inputs)


@exporter("Where")
def where(b: GraphBuilder, r: Record) -> str:
    return b.node("Where", [b.name(t) for t in r.inputs])


def _scalar(b: GraphBuilder, r: Record, value: float) -> str:
    return b.constant(np.asarray(value, dtype=r.output.dtype), f"{r.path}.const")


def _hardsigmoid(b: GraphBuilder, x: str) -> str:
    # PyTorch's relu6(x + 3) / 6, ONNX's HardSigmoid with alpha 1/6 and beta 1/2
    return b.node("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)


def _unary_nodes(b: GraphBuilder, r: Record, x: str) -> str:
    op, alpha, beta = r.params["op"], r.params.get("alpha", 0.0), r.params.get("beta", 0.0)
    plain = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "neg": "Neg", "exp": "Exp",
             "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "sign": "Sign", "softplus": "Softplus"}
    if op in plain:
        return b.node(plain[op], [x])
    if op == "leaky_relu":
        return b.node("LeakyRelu", [x], alpha=float(alpha))
    if op == "elu":
        return b.node("Elu", [x], alpha=float(alpha))
    if op in ("clamp", "relu6"):
        low, high = (0.0, 6.0) if op == "relu6" else (alpha, beta)
        bounds = [_scalar(b, r, low) if np.isfinite(low) else "",
                  _scalar(b, r, high) if np.isfinite(high) else ""]
        return b.node("Clip", [x, *bounds])
    if op == "hardsigmoid":
        return _hardsigmoid(b, x)
    if op == "hardswish":  # HardSwish is opset 14; x * hardsigmoid(x) before it
        if b.opset >= 14:
            return b.node("HardSwish", [x])
        return b.node("Mul", [x, _hardsigmoid(b, x)])
    if op == "silu":
        return b.node("Mul", [x, b.node("Sigmoid", [x])])
    if op == "gelu":  # x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)); Gelu itself is opset 20
        if b.opset >= 20:
            return b.node("Gelu", [x])
        erf = b.node("Erf", [b.node("Div", [x, _scalar(b, r, np.sqrt(2.0))])])
        half_x = b.node("Mul", [x, _scalar(b, r, 0.5)])
        return b.node("Mul", [half_x, b.node("Add", [erf, _scalar(b, r, 1.0)])])
    if op == "gelu_tanh":
        if b.opset >= 20:
            return b.node("Gelu", [x], approximate="tanh")
        cube = b.node("Mul", [b.node("Mul", [x, x]), x])
        inner = b.node("Add", [x, b.node("Mul", [cube, _scalar(b, r, 0.044715)])])
        tanh = b.node("Tanh", [b.node("Mul", [inner, _scalar(b, r, np.sqrt(2.0 / np.pi))])])
        half_x = b.node("Mul", [x, _scalar(b, r, 0.5)])
        return b.node("Mul", [half_x, b.node("Add", [tanh, _scalar(b, r, 1.0)])])
    raise b.fail(f"no ONNX exporter for the elementwise op {op!r}")


@exporter("Unary")
def unary(b: GraphBuilder, r: Record) -> str:
    return _unary_nodes(b, r, b.name(r.inputs[0]))


# -- normalisation, softmax, dropout -----------------------------------------------------
def _ones_or(b: GraphBuilder, r: Record, tensor, value: float, shape) -> str:
    if tensor is not None:
        return b.name(tensor)
    return b.constant(np.full(shape, value, dtype=r.output.dtype), f"{r.path}.const")


@exporter("BatchNorm")
def batch_norm(b: GraphBuilder, r: Record) -> str:
    if r.params["training"]:
        raise b.fail("batch statistics in training mode: export runs the model in eval "
                     "mode, so this layer forces training=True; call it with training=False")
    x, weight, bias, mean, var, _ = r.inputs
    channels = (x.shape[1],)
    return b.node("BatchNormalization", [b.name(x), _ones_or(b, r, weight, 1.0, channels),
                                         _ones_or(b, r, bias, 0.0, channels), b.name(mean),
                                         b.name(var)], epsilon=r.params["eps"])


def _layer_norm(b: GraphBuilder, r: Record, x: str, axis: int, shape) -> str:
    if b.opset < 17:
        raise b.fail(f"LayerNormalization needs opset >= 17, got opset {b.opset}")
    _, weight, bias = r.inputs
    return b.node("LayerNormalization", [x, _ones_or(b, r, weight, 1.0, shape),
                                         _ones_or(b, r, bias, 0.0, shape)],
                  axis=axis, epsilon=r.params["eps"])


@exporter("LayerNorm")
def layer_norm(b: GraphBuilder, r: Record) -> str:
    shape = tuple(r.params["normalized_shape"])
    return _layer_norm(b, r, b.name(r.inputs[0]), -len(shape), shape)


@exporter("LayerNorm2d")
def layer_norm2d(b: GraphBuilder, r: Record) -> str:
    """Channels-first layer norm: moved to the last axis, normalised, moved back."""
    x = r.inputs[0]
    last = list(range(x.ndim))
    last.append(last.pop(1))
    back = list(np.argsort(last))
    moved = b.node("Transpose", [b.name(x)], perm=last)
    normed = _layer_norm(b, r, moved, -1, (x.shape[1],))
    return b.node("Transpose", [normed], perm=[int(a) for a in back])


@exporter("Softmax", "LogSoftmax")
def softmax(b: GraphBuilder, r: Record) -> str:
    return b.node(r.op, [b.name(r.inputs[0])], axis=r.params["dim"])


@exporter("Dropout", "GaussianNoise")
def dropout(b: GraphBuilder, r: Record) -> str:
    raise b.fail("random noise in training mode (training=True): export runs the model in "
                 "eval mode, where dropout is the identity; this call forces training, so "
                 "pass training=self.training (or use nn.Dropout)")


# -- reductions --------------------------------------------------------------------------
def _reduce(b: GraphBuilder, r: Record, op_type: str) -> str:
    """ReduceSum takes its axes as an input from opset 13, the others from opset 18."""
    axes, keepdim = list(r.params["axes"]), int(r.params["keepdim"])
    x = b.name(r.inputs[0])
    if not axes:
        return b.node("Identity", [x])
    if op_type == "ReduceSum" or b.opset >= 18:
        return b.node(op_type, [x, b.ints(axes, f"{r.path}.axes")], keepdims=keepdim)
    return b.node(op_type, [x], axes=axes, keepdims=keepdim)


@exporter("Sum")
def reduce_sum(b: GraphBuilder, r: Record) -> str:
    return _reduce(b, r, "ReduceSum")


@exporter("Extreme")
def reduce_extreme(b: GraphBuilder, r: Record) -> str:
    return _reduce(b, r, {"max": "ReduceMax", "min": "ReduceMin"}[r.params["op"]])


# -- shapes ------------------------------------------------------------------------------
@exporter("Reshape")
def reshape(b: GraphBuilder, r: Record) -> str:
    """The traced shape with the batch axis left free: 0 (copy it) when it is kept, else
    -1 in the first axis (inferred from the rest), so the file takes any batch size."""
    (x,) = r.inputs
    shape = list(r.output.shape)
    if shape and x.ndim and shape[0] == x.shape[0]:
        shape[0] = 0
    elif shape and shape[0] and 0 not in shape:
        shape[0] = -1
    return b.node("Reshape", [b.name(x), b.ints(shape, f"{r.path}.shape")])


@exporter("Permute")
def permute(b: GraphBuilder, r: Record) -> str:
    return b.node("Transpose", [b.name(r.inputs[0])], perm=[int(a) for a in r.params["axes"]])


@exporter("Expand")
def expand(b: GraphBuilder, r: Record) -> str:
    return b.node("Expand", [b.name(r.inputs[0]), b.ints(r.params["shape"], f"{r.path}.shape")])


@exporter("Cat")
def cat(b: GraphBuilder, r: Record) -> str:
    return b.node("Concat", [b.name(t) for t in r.inputs], axis=r.params["axis"])


@exporter("Clone", "ToDevice")
def identity(b: GraphBuilder, r: Record) -> str:
    return b.node("Identity", [b.name(r.inputs[0])])


@exporter("Cast")
def cast(b: GraphBuilder, r: Record) -> str:
    element = helper.np_dtype_to_tensor_dtype(np.dtype(r.output.dtype))
    return b.node("Cast", [b.name(r.inputs[0])], to=element)


@exporter("Pad")
def pad(b: GraphBuilder, r: Record) -> str:
    widths = r.params["widths"]
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    value = b.constant(np.asarray(r.params["value"], dtype=r.output.dtype), f"{r.path}.value")
    return b.node("Pad", [b.name(r.inputs[0]), b.ints(pads, f"{r.path}.pads"), value])


@exporter("GetItem")
def getitem(b: GraphBuilder, r: Record) -> str:
    """Basic indexing (ints, slices, None, ...) as Slice, then Squeeze (ints) and Unsqueeze
    (None); index arrays have no such form and are refused."""
    (x,) = r.inputs
    key = r.params["key"]
    if any(isinstance(item, np.ndarray) for item in key):
        raise b.fail("indexing with an index array (gather) is not exported; only ints, "
                     "slices, None and ...")
    explicit = sum(1 for item in key if item is not None and item is not Ellipsis)
    items: list = []
    for item in key:
        if item is Ellipsis:
            items.extend([slice(None)] * (x.ndim - explicit))
        else:
            items.append(item)
    items.extend([slice(None)] * (x.ndim - sum(1 for i in items if i is not None)))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = 0
    out_axis = 0  # the axis in the sliced-and-squeezed result, for the Nones
    for item in items:
        if item is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else int(item.step)
                default_start, default_end = (0, INT64_MAX) if step > 0 else (-1, INT64_MIN)
                starts.append(default_start if item.start is None else int(item.start))
                ends.append(default_end if item.stop is None else int(item.stop))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:  # an int: a one-wide slice, squeezed away
            index = int(item) % x.shape[axis]
            starts.append(index)
            ends.append(index + 1)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    value = b.name(x)
    if axes:
        value = b.node("Slice", [value, b.ints(starts, f"{r.path}.starts"),
                                 b.ints(ends, f"{r.path}.ends"), b.ints(axes, f"{r.path}.axes"),
                                 b.ints(steps, f"{r.path}.steps")])
    if squeeze:
        value = b.node("Squeeze", [value, b.ints(squeeze, f"{r.path}.axes")])
    if unsqueeze:
        value = b.node("Unsqueeze", [value, b.ints(unsqueeze, f"{r.path}.axes")])
    return value if value != b.name(x) else b.node("Identity", [value])


# the pooling and resizing exporters, registered in the same table
from . import spatial  # noqa: E402, F401
