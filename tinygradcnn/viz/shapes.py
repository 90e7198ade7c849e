"""The shape arithmetic of a model, layer by layer, with the numbers filled in: output sizes
`(n + 2p - d(k-1) - 1) / s + 1`, parameter counts `k·k·C_in·C_out + C_out`, and how far
each layer's pixels see into the input (receptive field and jump).

    >>> rows = layer_shapes(LeNet5(), (1, 28, 28))
    >>> print(format_layer_shapes(rows))
    features.0  Conv2d  [6, 28, 28]  ⌊(28 + 2·2 - 1·(5-1) - 1) / 1⌋ + 1 = 28  5·5·1·6 + 6 = 156
    (and one line for each further layer)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..atomic import save_figure
from ..autograd import no_grad
from ..tensor import Tensor
from ._figure import new_figure
from .explain_types import ViewResult


@dataclass
class LayerShape:
    """One layer as it runs on the given input (shapes without the batch).

    formula: the output-size arithmetic with its numbers ("" for layers that keep the
    size); params_formula: how the parameter count comes about ("" when it has none);
    receptive_field: (h, w) input pixels that one output pixel depends on, None once the
    layer sees the whole input (after Flatten, Linear, global pooling); jump: (h, w) input
    pixels between two neighbouring output pixels (the product of the strides so far).
    """

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    formula: str
    params: int
    params_formula: str
    receptive_field: tuple[int, int] | None
    jump: tuple[int, int] | None


def _pair(value) -> tuple[int, int]:
    return (int(value[0]), int(value[1])) if isinstance(value, (tuple, list)) else (
        int(value), int(value))


class Window(NamedTuple):
    """A sliding-window layer's geometry, each an (h, w) pair."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]


def sliding_window(module) -> Window | None:
    """The geometry of a Conv2d or 2-d pooling layer (symmetric padding; "same" as the
    padding before each axis), else None."""
    kind = type(module).__name__
    if kind not in ("Conv2d", "MaxPool2d", "AvgPool2d", "SumPool2d"):
        return None
    kernel = _pair(module.kernel_size)
    dilation = _pair(getattr(module, "dilation", 1))
    padding = module.padding
    if padding == "valid":
        padding = 0
    elif padding == "same":  # the total d(k-1); an odd total puts its extra pixel after
        padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))
    return Window(kernel, _pair(module.stride), _pair(padding), dilation)


def _size_formula(n: int, kernel: int, stride: int, pad: int, dilation: int, out: int) -> str:
    return f"⌊({n} + 2·{pad} - {dilation}·({kernel}-1) - 1) / {stride}⌋ + 1 = {out}"


def _params_formula(module, count: int) -> str:
    kind = type(module).__name__
    bias = getattr(module, "bias", None) is not None
    if kind == "Conv2d":
        k_h, k_w = module.kernel_size
        c_in = module.in_channels // module.groups
        text = f"{k_h}·{k_w}·{c_in}·{module.out_channels}"
        return text + (f" + {module.out_channels}" if bias else "") + f" = {count:,}"
    if kind == "Linear":
        text = f"{module.in_features}·{module.out_features}"
        return text + (f" + {module.out_features}" if bias else "") + f" = {count:,}"
    if kind.startswith("BatchNorm") and count:
        return f"2·{count // 2} (scale, shift) = {count:,}"
    return f"{count:,}" if count else ""


def layer_shapes(model, input_shape: tuple[int, ...]) -> list[LayerShape]:
    """Run `model` once on zeros of shape (1, *input_shape) (eval mode, no gradients) and
    describe every leaf layer in the order it ran: input (C, H, W) -> one LayerShape each.

    The receptive field follows r_out = r_in + d(k-1)·j_in and j_out = j_in·s through the
    layers in call order, which is the exact answer for a chain (LeNet, VGG) and the main
    path's answer for a network with branches.
    """
    calls: list[tuple[str, Any, tuple, tuple]] = []
    handles = []

    def record(name: str):
        def hook(module, inputs, output):
            first = inputs[0] if inputs else None
            shape_in = tuple(first.shape[1:]) if isinstance(first, Tensor) else ()
            shape_out = tuple(output.shape[1:]) if isinstance(output, Tensor) else ()
            calls.append((name, module, shape_in, shape_out))
        return hook

    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(record(name or type(module).__name__)))
    modes = {id(module): module.training for module in model.modules()}
    try:
        model.eval()
        with no_grad():
            model(Tensor(np.zeros((1, *input_shape), np.float32)))
    finally:
        for handle in handles:
            handle.remove()
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])

    rows = []
    field: tuple[int, int] | None = (1, 1)
    jump: tuple[int, int] | None = (1, 1)
    for name, module, shape_in, shape_out in calls:
        count = sum(p.numel() for p in module.parameters(recurse=False))
        window = sliding_window(module)
        formula = ""
        if window is not None and len(shape_in) == 3 and len(shape_out) == 3:
            kernel, stride, padding, dilation = window
            parts = [_size_formula(shape_in[1 + axis], kernel[axis], stride[axis],
                                   padding[axis], dilation[axis], shape_out[1 + axis])
                     for axis in (0, 1)]
            formula = parts[0] if parts[0].split("(", 1)[1] == parts[1].split("(", 1)[1] \
                else f"H: {parts[0]}; W: {parts[1]}"
            if field is not None and jump is not None:
                field = tuple(field[a] + dilation[a] * (kernel[a] - 1) * jump[a]
                              for a in (0, 1))  # type: ignore[assignment]
                jump = tuple(jump[a] * stride[a] for a in (0, 1))  # type: ignore[assignment]
        elif len(shape_out) != 3 or type(module).__name__.startswith("Adaptive"):
            field = jump = None  # a flattened or globally pooled pixel sees everything
        rows.append(LayerShape(name, type(module).__name__, shape_in, shape_out, formula,
                               count, _params_formula(module, count), field, jump))
    return rows


def _field_text(row: LayerShape) -> str:
    if row.receptive_field is None:
        return "whole input"
    (r_h, r_w), (j_h, j_w) = row.receptive_field, row.jump  # type: ignore[misc]
    return f"{r_h}x{r_w}, jump {j_h}" if (r_h, j_h) == (r_w, j_w) else \
        f"{r_h}x{r_w}, jump {j_h}x{j_w}"


def format_layer_shapes(rows: list[LayerShape], input_shape: tuple[int, ...] | None = None
                        ) -> str:
    """The rows as a terminal table: layer, type, output shape, the size arithmetic, the
    parameter count as its formula, the receptive field; then the total."""
    headers = ("layer", "type", "output", "output size (n + 2p - d(k-1) - 1) / s + 1",
               "parameters", "receptive field")
    table = [(r.name, r.kind, str(list(r.output_shape)), r.formula or "(same size)"
              if len(r.output_shape) == 3 else "", r.params_formula or "0", _field_text(r))
             for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    lines = []
    if input_shape is not None:
        lines.append(f"input {list(input_shape)}")
    for cells in (headers, ["-" * w for w in widths], *table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    lines.append(f"total parameters: {sum(r.params for r in rows):,}")
    return "\n".join(lines)


def plot_layer_shapes(rows: list[LayerShape], path: str | os.PathLike | None = None,
                      title: str | None = None):
    """Two panels along the layers: the map size shrinking while the receptive field grows
    (left), and where the parameters are (right, log scale, formula written by each bar).
    Saved to `path` if given; returns the Figure."""
    labels = [f"{r.name} ({r.kind})" for r in rows]
    figure = new_figure("plot_layer_shapes", figsize=(13, 1.2 + 0.32 * len(rows)),
                        layout="constrained")
    size_axes, param_axes = figure.subplots(1, 2, sharey=True)
    positions = np.arange(len(rows))
    sizes = [r.output_shape[1] if len(r.output_shape) == 3 else np.nan for r in rows]
    fields = [r.receptive_field[0] if r.receptive_field else np.nan for r in rows]
    size_axes.plot(sizes, positions, "o-", label="output height (pixels)")
    size_axes.plot(fields, positions, "s--", label="receptive field height (input pixels)")
    for y, (size, field) in enumerate(zip(sizes, fields, strict=True)):
        for x in (size, field):
            if np.isfinite(x):
                size_axes.annotate(f"{x:.0f}", (x, y), textcoords="offset points",
                                   xytext=(5, -3), fontsize=7)
    size_axes.set_yticks(positions, labels, fontsize=8)
    size_axes.invert_yaxis()
    size_axes.set_xlabel("pixels")
    size_axes.legend(fontsize=8, loc="lower right")
    size_axes.grid(alpha=0.3)
    size_axes.set_title("maps shrink, each pixel sees more of the input", fontsize=10)
    counts = [max(r.params, 0) for r in rows]
    param_axes.barh(positions, [c if c else np.nan for c in counts], color="#1f77b4")
    param_axes.set_xscale("log")
    for y, row in enumerate(rows):
        if row.params:
            param_axes.annotate(row.params_formula, (row.params, y), textcoords="offset points",
                                xytext=(4, -3), fontsize=7)
    param_axes.set_xlim(1, max(counts + [10]) * 60)
    param_axes.set_xlabel("parameters (log scale)")
    param_axes.grid(alpha=0.3, axis="x")
    param_axes.set_title(f"parameters: {sum(counts):,} in all", fontsize=10)
    if title:
        figure.suptitle(title, fontsize=11)
    if path is not None:
        save_figure(figure, path, dpi=110)
    return figure


def view_shapes(ctx) -> ViewResult:
    """The `shapes` view: the model's layers on the images' size, every output size and
    parameter count worked out, and the receptive field growing."""
    input_shape = tuple(int(n) for n in ctx.images.shape[1:])
    rows = layer_shapes(ctx.model, input_shape)
    path = ctx.out_dir / "shapes.png"
    plot_layer_shapes(rows, path, f"{type(ctx.model).__name__} on {list(input_shape)} inputs")
    return ViewResult(
        "shapes", "Shapes, parameters and receptive fields",
        format_layer_shapes(rows, input_shape), [path],
        "Every conv and pooling layer's output size comes from one formula, "
        "(n + 2p - d(k-1) - 1) / s + 1, rounded down: n the input size, p the padding, k the "
        "kernel size, d the dilation, s the stride. A conv layer has k·k·C_in·C_out weights "
        "plus C_out biases, a fully connected layer in·out + out, whatever the image size: "
        "notice that the fully connected layers hold most of the parameters. The receptive "
        "field is the patch of the input one pixel of a layer depends on; it grows by "
        "d(k-1) times the jump (the product of the strides so far) at each layer, which is "
        "why deeper layers can answer to larger shapes.")
