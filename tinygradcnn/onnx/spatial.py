"""Exporters of the spatial ops, in the table of ``exporters.py``: pooling (PyTorch's ceil
mode and divisors made exact with ONNX's pads, or as a depthwise convolution) and resizing
(PyTorch's coordinate rules as Resize attributes)."""

from __future__ import annotations

import numpy as np

from .exporters import exporter
from .graph import GraphBuilder
from .trace import Record


# -- pooling -----------------------------------------------------------------------------
def _ceil_extra(size: int, out: int, kernel: int, stride: int, dilation: int,
                pad: int) -> int:
    """Padding past the end that the last ``ceil_mode`` window reaches beyond ``pad``."""
    reach = (out - 1) * stride + dilation * (kernel - 1) + 1
    return max(0, reach - (size + 2 * pad))


def _pool_pads(r: Record, kernel, stride, padding, dilation=(1, 1)) -> list[int]:
    """ONNX pads giving the traced output size without ``ceil_mode``: PyTorch's ceil mode
    drops a last window that would start in the right padding, ONNX's does not, so the
    partial windows PyTorch keeps are made by padding the end instead."""
    x = r.inputs[0]
    extra = [_ceil_extra(x.shape[2 + a], r.output.shape[2 + a], kernel[a], stride[a],
                         dilation[a], padding[a]) for a in range(2)]
    return [padding[0], padding[1], padding[0] + extra[0], padding[1] + extra[1]]


@exporter("MaxPool2d")
def max_pool2d(b: GraphBuilder, r: Record) -> str:
    (x,) = r.inputs
    kernel, stride, padding, dilation = (r.params[k] for k in
                                         ("kernel_size", "stride", "padding", "dilation"))
    return b.node("MaxPool", [b.name(x)], kernel_shape=list(kernel), strides=list(stride),
                  pads=_pool_pads(r, kernel, stride, padding, dilation),
                  dilations=list(dilation))


@exporter("AvgPool2d")
def avg_pool2d(b: GraphBuilder, r: Record) -> str:
    """AveragePool; a fixed divisor (``divisor_override``, sum pooling: divisor 1), or
    partial ``ceil_mode`` windows with the padding counted (PyTorch counts the padding but
    not what lies past it), is a depthwise convolution with a constant kernel instead:
    exact for every window."""
    (x,) = r.inputs
    kernel, stride, padding = (r.params[k] for k in ("kernel_size", "stride", "padding"))
    include_pad, divisor = r.params["count_include_pad"], r.params["divisor_override"]
    pads = _pool_pads(r, kernel, stride, padding)
    past_padding = pads[2:] != pads[:2]
    if divisor is None and not (include_pad and past_padding):
        return b.node("AveragePool", [b.name(x)], kernel_shape=list(kernel),
                      strides=list(stride), pads=pads, count_include_pad=int(include_pad))
    channels = x.shape[1]
    if divisor is None:
        counts = _window_counts(x.shape[2:], r.output.shape[2:], kernel, stride, padding)
        weight = np.ones((channels, 1, *kernel), dtype=r.output.dtype)
        summed = b.node("Conv", [b.name(x), b.constant(weight, f"{r.path}.ones")],
                        kernel_shape=list(kernel), strides=list(stride), pads=pads,
                        group=channels)
        return b.node("Div", [summed, b.constant(counts.astype(r.output.dtype),
                                                 f"{r.path}.divisors")])
    weight = np.full((channels, 1, *kernel), 1.0 / divisor, dtype=r.output.dtype)
    return b.node("Conv", [b.name(x), b.constant(weight, f"{r.path}.kernel")],
                  kernel_shape=list(kernel), strides=list(stride), pads=pads, group=channels)


def _window_counts(size, out, kernel, stride, padding) -> np.ndarray:
    """PyTorch's ``count_include_pad`` divisors: each window clipped to the padded input."""
    per_axis = []
    for a in range(2):
        starts = np.arange(out[a]) * stride[a] - padding[a]
        ends = np.minimum(starts + kernel[a], size[a] + padding[a])
        per_axis.append(ends - starts)
    return np.outer(per_axis[0], per_axis[1]).astype(np.float64)


def _adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows along one axis: ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _reduce_axis(b: GraphBuilder, r: Record, op_type: str, x: str, axis: int) -> str:
    """``op_type`` (ReduceMean, ReduceMax) over one axis, keeping it; axes as an attribute
    up to opset 17 and as an input from 18."""
    if b.opset >= 18:
        return b.node(op_type, [x, b.ints([axis], f"{r.path}.axes")], keepdims=1)
    return b.node(op_type, [x], axes=[axis], keepdims=1)


@exporter("AdaptiveAvgPool2d", "AdaptiveMaxPool2d")
def adaptive_pool2d(b: GraphBuilder, r: Record) -> str:
    """GlobalAveragePool (GlobalMaxPool) for a 1x1 output; a pool with one window size when
    the output divides the input; otherwise each axis in turn as the concatenation of its
    windows' reductions (exact: a window's mean or max is that of its rows')."""
    (x,) = r.inputs
    average = r.op == "AdaptiveAvgPool2d"
    size, out = tuple(x.shape[2:]), tuple(r.params["output_size"])
    if out == (1, 1):
        return b.node("GlobalAveragePool" if average else "GlobalMaxPool", [b.name(x)])
    if size == out:
        return b.node("Identity", [b.name(x)])
    if all(s % o == 0 for s, o in zip(size, out, strict=True)):
        kernel = [s // o for s, o in zip(size, out, strict=True)]
        return b.node("AveragePool" if average else "MaxPool", [b.name(x)],
                      kernel_shape=kernel, strides=kernel)
    value = b.name(x)
    for axis in (2, 3):
        if size[axis - 2] == out[axis - 2]:
            continue
        pieces = []
        for start, end in _adaptive_windows(size[axis - 2], out[axis - 2]):
            window = b.node("Slice", [value, b.ints([start], f"{r.path}.starts"),
                                      b.ints([end], f"{r.path}.ends"),
                                      b.ints([axis], f"{r.path}.axes")])
            pieces.append(_reduce_axis(b, r, "ReduceMean" if average else "ReduceMax",
                                       window, axis))
        value = b.node("Concat", pieces, axis=axis)
    return value


# -- resizing ----------------------------------------------------------------------------
@exporter("Interpolate")
def interpolate(b: GraphBuilder, r: Record) -> str:
    """Resize with the coordinate rule of PyTorch's mode: nearest is ``asymmetric`` +
    ``floor``, nearest-exact ``half_pixel`` + ``round_prefer_ceil``, (bi)linear
    ``pytorch_half_pixel`` or ``align_corners``; the scales are the user's scale factors
    when PyTorch maps coordinates with them, else Resize gets the output size."""
    (x,) = r.inputs
    modes, scales = r.params["modes"], r.params["scales"]
    in_size, out_size = x.shape[2:], r.output.shape[2:]
    used = [m for m, i, o in zip(modes, in_size, out_size, strict=True) if (i, o) != (1, 1)]
    if len(set(used)) > 1:
        raise b.fail(f"modes {modes} differ per axis; ONNX Resize has one mode")
    mode = used[0] if used else modes[-1]
    attributes: dict = {}
    if mode == "nearest":
        attributes = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                      "nearest_mode": "floor"}
    elif mode == "nearest-exact":
        attributes = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                      "nearest_mode": "round_prefer_ceil"}
    elif mode == "linear":
        attributes = {"mode": "linear", "coordinate_transformation_mode":
                      "align_corners" if r.params["align_corners"] else "pytorch_half_pixel"}
    else:
        raise b.fail(f"no ONNX Resize form for mode {mode!r}")
    if all(scale is not None for scale in scales):  # PyTorch maps with 1 / scale_factor
        factors = b.constant(np.asarray([1.0, 1.0, *scales], dtype=np.float32),
                             f"{r.path}.scales")
        return b.node("Resize", [b.name(x), "", factors], **attributes)
    # an explicit size: (N, C) of the input (the batch may vary) and the traced (H, W)
    shape = b.node("Shape", [b.name(x)])
    batch_channels = b.node("Slice", [shape, b.ints([0], f"{r.path}.starts"),
                                      b.ints([2], f"{r.path}.ends")])
    sizes = b.node("Concat", [batch_channels, b.ints(out_size, f"{r.path}.sizes")], axis=0)
    return b.node("Resize", [b.name(x), "", "", sizes], **attributes)
