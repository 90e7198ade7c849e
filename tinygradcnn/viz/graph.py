"""The model as a picture: one box per layer call (type, output shape, parameter count),
arrows where the data flows, residual additions drawn as skips. matplotlib only.

    nodes = tg.viz.model_graph(model, (1, 28, 28))       # the forward pass, as data
    tg.viz.plot_model_graph(nodes, "graph.png", title="LeNet-5")

The graph is read off one forward pass: forward hooks note each layer's call, and the
autograd record between calls says which earlier layers fed it, so a skip connection done
with a plain `out + identity` in a block's forward is found too. Blocks (classes whose
name ends with Block, Bottleneck, InvertedResidual, MBConv, CNBlock or Inception) are one
box by default, marked when their output adds back their input; `expand=True` opens them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..atomic import save_figure
from ..nn.module import Module
from ..tensor import Tensor
from ._figure import new_figure
from ._layers import as_batch, probing
from .explain_types import ExplainContext, ViewResult

BLOCK_SUFFIXES = ("Block", "Bottleneck", "InvertedResidual", "MBConv", "CNBlock", "Inception")
INPUT = -1  # the source index of the model's input


@dataclass
class GraphNode:
    """One layer call of the forward pass.

    name: the module's dotted name (with "#2" for its second call); kind: its class name;
    output_shape: without the batch axis; parameters: its own (a block's: all inside it);
    sources: the indices of the nodes that fed it (INPUT, -1, for the model's input);
    merge: how several sources were combined ("add", "cat", ...) or None; layers: the leaf
    layers inside a collapsed block (1 for a layer); residual: a block whose output adds
    back its own input (a skip connection).
    """

    index: int
    name: str
    kind: str
    output_shape: tuple[int, ...]
    parameters: int
    sources: list[int] = field(default_factory=list)
    merge: str | None = None
    layers: int = 1
    residual: bool = False


def is_block(module: Module) -> bool:
    """A module drawn as one box unless expanded: a residual/inception-style block."""
    return type(module).__name__.endswith(BLOCK_SUFFIXES)


def _nodes_to_watch(model: Module, expand: bool) -> dict[int, tuple[str, Module]]:
    """id(module) -> (name, module) of the modules that become boxes: leaves, and blocks
    (whose insides are then skipped) unless `expand`."""
    watched: dict[int, tuple[str, Module]] = {}
    inside: set[int] = set()
    for name, module in model.named_modules():
        if id(module) in inside or (module is model and next(module.children(), None)):
            continue
        if not expand and is_block(module):
            watched[id(module)] = (name, module)
            inside.update(id(m) for m in module.modules() if m is not module)
        elif next(module.children(), None) is None:
            watched[id(module)] = (name, module)
    return watched


def _sources(tensor: Tensor, producers: dict[int, int], input_id: int) -> list[int]:
    """The nodes whose outputs `tensor` was computed from, found by walking the autograd
    record back until a node's output (or the model input) is reached."""
    found: list[int] = []
    stack, seen = [tensor._graph_node()], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if id(current) in producers:
            found.append(producers[id(current)])
        elif id(current) == input_id:
            found.append(INPUT)
        elif current._ctx is not None:
            stack.extend(p for p in current._ctx.parents if p is not None)
    return sorted(set(found))


def _reaches(tensor: Tensor, target_id: int, memo: dict[int, bool]) -> bool:
    """Whether `tensor` was computed from the tensor with id `target_id`."""
    key = id(tensor._graph_node())
    if key == target_id:
        return True
    if key not in memo:
        memo[key] = False  # guards against revisiting while the walk is open
        parents = tensor._ctx.parents if tensor._ctx is not None else ()
        memo[key] = any(p is not None and _reaches(p, target_id, memo) for p in parents)
    return memo[key]


def _adds_its_input(output: Tensor, block_input: Tensor) -> bool:
    """A skip connection: somewhere inside the block an Add both of whose operands come
    from the block's input (one through the layers, one around them)."""
    target = id(block_input._graph_node())
    memo: dict[int, bool] = {}
    stack, seen = [output._graph_node()], set()
    while stack:
        current = stack.pop()
        if id(current) in seen or current._ctx is None or id(current) == target:
            continue
        seen.add(id(current))
        parents = [p for p in current._ctx.parents if p is not None]
        if (current._ctx.function.__name__ == "Add" and len(parents) == 2
                and all(_reaches(p, target, memo) for p in parents)):
            return True
        stack.extend(parents)
    return False


def model_graph(model: Module, x, expand: bool = False) -> list[GraphNode]:
    """The layer calls of one forward pass of `x` through `model`, in order.

    x: an input shape (C, H, W) (zeros are used) or one image (C, H, W) / (1, C, H, W).
    expand: open the blocks (see `is_block`) into their layers. Runs in eval mode, leaves
    the model as it was.
    """
    if isinstance(x, tuple) and all(isinstance(size, int) for size in x):
        x = np.zeros(x, np.float32)
    watched = _nodes_to_watch(model, expand)
    nodes: list[GraphNode] = []
    producers: dict[int, int] = {}
    keep: list[Tensor] = []  # outputs stay alive, so no id is reused during the pass
    calls: dict[int, int] = {}
    with probing(model):
        # the input requires grad so the pass records the graph the arrows are read from
        batch = as_batch(x, model, "model_graph", requires_grad=True)

        def hook(module, inputs, output):
            name, _ = watched[id(module)]
            tensors = [t for t in inputs if isinstance(t, Tensor)]
            if not isinstance(output, Tensor) or not tensors:
                return
            sources = sorted({s for t in tensors for s in _sources(t, producers, id(batch))})
            merge = None
            first = tensors[0]
            if len(sources) > 1 and len(tensors) == 1 and first._ctx is not None:
                merge = first._ctx.function.__name__.lower()
            calls[id(module)] = calls.get(id(module), 0) + 1
            label = name or type(module).__name__
            if calls[id(module)] > 1:
                label += f" #{calls[id(module)]}"
            block = not expand and is_block(module)
            leaves = sum(1 for m in module.modules() if next(m.children(), None) is None)
            nodes.append(GraphNode(
                len(nodes), label, type(module).__name__, tuple(output.shape[1:]),
                sum(p.numel() for p in module.parameters()), sources, merge,
                leaves if block else 1, block and _adds_its_input(output, tensors[0])))
            producers[id(output._graph_node())] = len(nodes) - 1
            keep.append(output)

        handles = [module.register_forward_hook(hook) for _, module in watched.values()]
        try:
            output = model(batch)
        finally:
            for handle in handles:
                handle.remove()
    if isinstance(output, Tensor) and id(output._graph_node()) not in producers:
        # the last step was an op outside any layer (a functional relu, an addition)
        nodes.append(GraphNode(len(nodes), "output", "(ops)", tuple(output.shape[1:]), 0,
                               _sources(output, producers, id(batch))))
    return nodes


_COLOURS = (("Conv", "#9ecae1"), ("Norm", "#fdd0a2"), ("Pool", "#c7b9e0"),
            ("Linear", "#fdae6b"), ("Dropout", "#d9d9d9"), ("Noise", "#d9d9d9"))
_ACTIVATIONS = ("ReLU", "ReLU6", "GELU", "SiLU", "Sigmoid", "Tanh", "ELU", "LeakyReLU",
                "Hardswish", "Hardsigmoid", "Softmax", "LogSoftmax")
_LEGEND = (("convolution", "#9ecae1"), ("normalisation", "#fdd0a2"),
           ("activation", "#a1d99b"), ("pooling", "#c7b9e0"), ("fully connected", "#fdae6b"),
           ("block (collapsed)", "#b8e0d9"), ("other", "#f0f0f0"))


def _colour(node: GraphNode) -> str:
    if node.layers > 1 or node.residual:
        return "#b8e0d9"
    if node.kind in _ACTIVATIONS:
        return "#a1d99b"
    for part, colour in _COLOURS:
        if part in node.kind:
            return colour
    return "#f0f0f0"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(size) for size in shape) if shape else "scalar"


def plot_model_graph(nodes: list[GraphNode], path: str | os.PathLike | None = None,
                     title: str | None = None, input_shape: tuple[int, ...] | None = None,
                     rows_per_column: int = 32):
    """Draw the nodes of `model_graph` top to bottom (in columns of `rows_per_column`
    boxes when there are more): each box says the layer, its type, its output shape and
    parameter count; arrows follow the data, and skips run down the right-hand side to a
    + where they are added. Saved to `path` if given; returns the matplotlib Figure."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    rows = len(nodes) + 1  # the input box on top
    columns = max(1, -(-rows // rows_per_column))
    per_column = -(-rows // columns)
    width, height, gap_x, gap_y, margin = 3.0, 0.62, 1.4, 0.36, 0.7
    figure = new_figure("plot_model_graph",
                        figsize=(columns * (width + gap_x) + margin + 0.2,
                                 per_column * (height + gap_y) + 1.6))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(-margin, columns * (width + gap_x) + 0.2)
    axes.set_ylim(-per_column * (height + gap_y) - 1.1, 0.6)
    axes.axis("off")
    red = "#c0392b"

    def place(row: int) -> tuple[float, float]:
        """Centre of the box in this row (0 = the input box)."""
        column, position = divmod(row, per_column)
        return (column * (width + gap_x) + width / 2, -position * (height + gap_y) - height / 2)

    def arrow(start, end, colour: str = "#333333", style: str = "arc3") -> None:
        axes.add_patch(FancyArrowPatch(start, end, connectionstyle=style, arrowstyle="-|>",
                                       mutation_scale=9, color=colour, linewidth=1.0))

    def box(row: int, lines: str, colour: str) -> None:
        cx, cy = place(row)
        axes.add_patch(FancyBboxPatch((cx - width / 2, cy - height / 2), width, height,
                                      boxstyle="round,pad=0.02,rounding_size=0.08",
                                      facecolor=colour, edgecolor="#555555", linewidth=0.8))
        axes.text(cx, cy, lines, ha="center", va="center", fontsize=8.5, linespacing=1.3)

    box(0, "input" + (f"\n{_shape_text(tuple(input_shape))}" if input_shape else ""),
        "#ffffff")
    for node in nodes:
        detail = f"{_shape_text(node.output_shape)}  ·  {node.parameters:,} params"
        kind = node.kind + (f" ({node.layers} layers)" if node.layers > 1 else "")
        box(node.index + 1, f"{node.name}: {kind}\n{detail}", _colour(node))
        if node.residual:  # the skip inside a collapsed block: round its left side
            cx, cy = place(node.index + 1)
            left = cx - width / 2
            arrow((left, cy + height / 2 - 0.08), (left, cy - height / 2 + 0.08), red,
                  "arc3,rad=0.9")
            axes.text(cx - width / 2 - 0.3, cy, "+", color=red, fontsize=10, ha="center",
                      va="center", fontweight="bold")
    lane = 0
    for node in nodes:
        target = node.index + 1
        tx, ty = place(target)
        for source in node.sources:
            row = source + 1
            sx, sy = place(row)
            same_column = row // per_column == target // per_column
            if row == target - 1 and same_column:
                arrow((sx, sy - height / 2), (tx, ty + height / 2))
            elif row == target - 1:  # the chain goes on at the top of the next column
                arrow((sx, sy - height / 2), (sx, sy - height / 2 - gap_y * 0.8))
                axes.text(sx + 0.1, sy - height / 2 - gap_y * 0.4, "next column",
                          fontsize=7, va="center", color="#555555")
                axes.text(tx, ty + height / 2 + 0.04, f"from {nodes[source].name}",
                          fontsize=7, ha="center", va="bottom", color="#555555")
            elif same_column:  # a skip: out to a lane on the right, down, back in
                x = sx + width / 2 + 0.25 + 0.25 * (lane % 2)
                lane += 1
                axes.plot([sx + width / 2, x, x], [sy, sy, ty], color=red, linewidth=1.0)
                arrow((x, ty), (tx + width / 2, ty), red)
            else:
                origin = nodes[source].name if source != INPUT else "input"
                axes.text(tx + width / 2 + 0.1, ty - 0.12, f"skip from\n{origin}",
                          fontsize=6.5, color=red, va="top")
        if node.merge is not None:
            symbol = {"add": "+", "cat": "concat", "mul": "×"}.get(node.merge, node.merge)
            axes.text(tx + width / 2 + 0.08, ty + 0.04, symbol, color=red, fontsize=10,
                      fontweight="bold", ha="left", va="bottom")
    total = sum(node.parameters for node in nodes)
    axes.legend(handles=[Patch(facecolor=c, edgecolor="#555555", label=label)
                         for label, c in _LEGEND],
                loc="lower center", ncol=4, fontsize=7, frameon=False,
                bbox_to_anchor=(0.5, 0.0))
    heading = f"{title}\n" if title else ""
    skips = any(node.residual or node.merge for node in nodes)
    axes.text(0.5, 0.997, f"{heading}{len(nodes)} boxes, {total:,} parameters"
              + ("; red: skip connections" if skips else ""), transform=axes.transAxes,
              ha="center", va="top", fontsize=10)
    if path is not None:
        save_figure(figure, path, dpi=120)
    return figure


def format_model_graph(nodes: list[GraphNode]) -> str:
    """The graph as a table: one line per box, with where its input came from."""
    rows = [("#", "layer", "type", "output", "params", "from")]
    for node in nodes:
        sources = ", ".join("input" if s == INPUT else str(s) for s in node.sources)
        if node.merge:
            sources = f"{node.merge}({sources})"
        kind = node.kind + (" +skip" if node.residual else "")
        rows.append((str(node.index), node.name, kind, _shape_text(node.output_shape),
                     f"{node.parameters:,}", sources))
    widths = [max(len(row[k]) for row in rows) for k in range(6)]
    return "\n".join("  ".join(cell.rjust(w) if k in (0, 4) else cell.ljust(w)
                               for k, (cell, w) in enumerate(zip(row, widths, strict=True)))
                     .rstrip() for row in rows)


def view_graph(ctx: ExplainContext) -> ViewResult:
    """The `graph` view: the model's layer graph for the context's image size, blocks
    collapsed, as a picture and a table."""
    image = ctx.images[ctx.index]
    nodes = model_graph(ctx.model, image)
    path = ctx.out_dir / "graph.png"
    plot_model_graph(nodes, path, title=type(ctx.model).__name__,
                     input_shape=tuple(image.shape))
    text = (f"{type(ctx.model).__name__} on a {_shape_text(tuple(image.shape))} input, "
            f"{len(nodes)} boxes:\n{format_model_graph(nodes)}\nwrote {path}")
    about = ("The model drawn from one forward pass: a box per layer with the shape of what "
             "it outputs (channels × height × width, or features) and how many weights it "
             "learns. Follow the arrows to see the image shrink in space and grow in "
             "channels, and where the parameters are (usually the fully connected layers). "
             "Red arrows are skip connections: a block's input added back to its output.")
    return ViewResult("graph", "The model as a graph", text, [path], about)
