"""What each layer makes of one input (feature maps, through forward hooks), and what the
first layer's kernels look for, beside the classic hand-made ones (blur, sharpen, Sobel,
Laplacian), each with its response on the same digit.

    maps = feature_maps(model, x)                 # {"features.0": (N, 6, 28, 28), ...}
    plot_feature_maps(maps, "layers.png")
    plot_filters(model.features[0].weight.numpy(), digit, "filters.png")
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from ..atomic import save_figure
from ..autograd import no_grad
from ..tensor import Tensor
from ._figure import new_figure
from ._grid import INPUT_CMAP, SIGNED_CMAP, draw_grid, signed_limit
from .explain_types import ExplainContext, ViewResult

MAX_ROWS = 12  # layers drawn by the layers view; a ResNet's sixty would not be read
ACTIVATIONS = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid",
               "Hardswish")


def feature_maps(model, x, layers: list[str] | None = None) -> OrderedDict[str, np.ndarray]:
    """Every leaf layer's output for input `x` (a Tensor or an array (N, C, H, W)), by layer
    name in the order the layers ran: {"features.0": (N, 6, 28, 28), ...}. `layers` keeps
    only those names. A layer that runs twice (a shared ReLU) appears as "name#2" too.
    The model runs once in eval mode without gradients; its mode is restored."""
    if not isinstance(x, Tensor):
        x = Tensor(np.ascontiguousarray(x, dtype=np.float32))
    maps: OrderedDict[str, np.ndarray] = OrderedDict()
    handles = []

    def record(name: str):
        def hook(module, inputs, output):
            if isinstance(output, Tensor):
                key, count = name, 1
                while key in maps:
                    count += 1
                    key = f"{name}#{count}"
                maps[key] = output.numpy()
        return hook

    for name, module in model.named_modules():
        if next(module.children(), None) is None and (layers is None or name in layers):
            handles.append(module.register_forward_hook(record(name)))
    modes = {id(module): module.training for module in model.modules()}
    try:
        model.eval()
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])
    return maps


def _kinds(model) -> dict[str, str]:
    return {name: type(module).__name__ for name, module in model.named_modules()}


def plot_feature_maps(maps: OrderedDict[str, np.ndarray], path: str | os.PathLike | None = None,
                      kinds: dict[str, str] | None = None, image: np.ndarray | None = None,
                      max_channels: int = 16, title: str | None = None):
    """One row per layer with spatial output (N, C, H, W): its first `max_channels` channels
    for the first input, all in one colour scale per layer (blue below zero, red above), so
    the rows before and after a ReLU show what it removes. `kinds` (name -> class name)
    labels the rows; `image` (H, W) adds the input as the first row. Saved to `path` if
    given; returns the Figure."""
    spatial = [(name, fmap[0]) for name, fmap in maps.items() if fmap.ndim == 4]
    if not spatial:
        raise ValueError("plot_feature_maps: no layer with (N, C, H, W) output")
    kinds = kinds or {}
    rows = len(spatial) + (image is not None)
    columns = min(max(fmap.shape[0] for _, fmap in spatial), max_channels)
    figure = new_figure("plot_feature_maps", figsize=(1.0 + 0.85 * columns, 1.05 * rows),
                        layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes in grid.ravel():
        axes.set_axis_off()
    row = 0
    if image is not None:
        grid[0, 0].set_axis_off()
        grid[0, 0].imshow(image, cmap=INPUT_CMAP)
        grid[0, 1 if columns > 1 else 0].text(0, 0.5, "input", fontsize=9, va="center",
                                              transform=grid[0, 1 if columns > 1 else 0]
                                              .transAxes)
        row = 1
    names = [name for name, _ in spatial]
    for index, (name, fmap) in enumerate(spatial):
        kind = kinds.get(name.split("#")[0], "")
        following = kinds.get(names[index + 1].split("#")[0], "") if index + 1 < len(names) \
            else ""
        note = ("before " + following) if kind not in ACTIVATIONS and following in \
            ACTIVATIONS else ("after " + kind) if kind in ACTIVATIONS else kind
        limit = signed_limit(fmap)
        for channel in range(min(fmap.shape[0], columns)):
            axes = grid[row, channel]
            axes.set_axis_on()
            axes.imshow(fmap[channel], cmap=SIGNED_CMAP, vmin=-limit, vmax=limit,
                        interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            if channel == 0:
                axes.set_ylabel(f"{name}\n{note}\n{fmap.shape[1]}x{fmap.shape[2]}", fontsize=7,
                                rotation=0, ha="right", va="center")
            axes.set_title(f"{channel}", fontsize=6, pad=2)
        row += 1
    figure.suptitle(title or "feature maps, one row per layer (blue < 0 < red)", fontsize=11)
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure


def classic_kernels() -> OrderedDict[str, np.ndarray]:
    """The hand-made 3x3 kernels of image processing, each a feature detector by design."""
    sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return OrderedDict([
        ("blur (average)", np.full((3, 3), 1.0 / 9.0)),
        ("sharpen", np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])),
        ("Sobel x", sobel_x),
        ("Sobel y", sobel_x.T.copy()),
        ("Laplacian", np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])),
    ])


def filter_responses(image: np.ndarray, kernels) -> list[np.ndarray]:
    """Each kernel's response on one image, computed with F.conv2d (stride 1, zero padding
    k // 2, so odd kernels keep the size): image (C, H, W) or (H, W); kernels a list of
    (C, k, k) or (k, k) arrays -> a list of (H', W') maps."""
    from ..nn import functional as F

    image = np.asarray(image, dtype=np.float64)
    x = Tensor(image.reshape(1, -1, *image.shape[-2:]))
    responses = []
    for kernel in kernels:
        kernel = np.asarray(kernel, dtype=np.float64)
        weight = Tensor(kernel.reshape(1, -1, *kernel.shape[-2:]))
        pad = (kernel.shape[-2] // 2, kernel.shape[-1] // 2)
        with no_grad():
            responses.append(F.conv2d(x, weight, padding=pad).numpy()[0, 0])
    return responses


def plot_filters(learned: np.ndarray, image: np.ndarray, path: str | os.PathLike | None = None,
                 max_learned: int = 8, title: str | None = None):
    """Four rows: the first layer's learned kernels (O, C, k, k; channel 0 drawn, numbers
    written), their responses on `image` ((C, H, W) or (H, W), all channels used), the
    classic kernels and their responses on the same image (its channel mean). Saved to
    `path` if given; returns the Figure."""
    learned = np.asarray(learned, dtype=np.float64)[:max_learned]
    image = np.asarray(image, dtype=np.float64)
    grey = image.mean(axis=0) if image.ndim == 3 else image
    classic = classic_kernels()
    learned_maps = filter_responses(image, list(learned))
    classic_maps = filter_responses(grey, list(classic.values()))
    columns = max(len(learned), len(classic))
    figure = new_figure("plot_filters", figsize=(1.0 + 1.6 * columns, 7.2),
                        layout="constrained")
    grid = figure.subplots(4, columns, squeeze=False)
    for axes in grid.ravel():
        axes.set_axis_off()
    blocks = [("learned", [f"kernel {i}" for i in range(len(learned))],
               [k[0] for k in learned], learned_maps),
              ("classic", list(classic), list(classic.values()), classic_maps)]
    for block, (label, names, kernels, maps) in enumerate(blocks):
        for column, (name, kernel, fmap) in enumerate(zip(names, kernels, maps, strict=True)):
            top, bottom = grid[2 * block, column], grid[2 * block + 1, column]
            top.set_axis_on()
            bottom.set_axis_on()
            limit = signed_limit(kernel)
            draw_grid(top, kernel, SIGNED_CMAP, -limit, limit, numbers=kernel.shape[-1] <= 5,
                      title=name, fontsize=6 if kernel.shape[-1] > 3 else 8)
            top.set_xticks([])
            top.set_yticks([])
            response_limit = signed_limit(fmap)
            bottom.imshow(fmap, cmap=SIGNED_CMAP, vmin=-response_limit, vmax=response_limit)
            bottom.set_xticks([])
            bottom.set_yticks([])
            if column == 0:
                top.set_ylabel(f"{label}\nkernels", fontsize=9)
                bottom.set_ylabel(f"{label}\nresponses", fontsize=9)
    figure.suptitle(title or "first-layer kernels and what they answer to", fontsize=11)
    if path is not None:
        save_figure(figure, path, dpi=100)
    return figure


def _chosen(ctx: ExplainContext) -> Tensor:
    return Tensor(np.ascontiguousarray(ctx.images[ctx.index:ctx.index + 1]))


def view_layers(ctx: ExplainContext) -> ViewResult:
    """The `layers` view: every layer's feature maps for the chosen image (or only the
    chosen layer and the activation after it), with what each ReLU removes."""
    kinds = _kinds(ctx.model)
    maps = feature_maps(ctx.model, _chosen(ctx))
    if ctx.layer is not None:
        from ._context import named_layer

        named_layer(ctx.model, ctx.layer, "layers")
        names = list(maps)
        start = next((i for i, n in enumerate(names) if n == ctx.layer or n.startswith(
            ctx.layer + ".")), None)
        if start is None or maps[names[start]].ndim != 4:
            raise ValueError(f"layers: layer {ctx.layer!r} has no (N, C, H, W) output; "
                             "choose one of: " + ", ".join(n for n in names
                                                           if maps[n].ndim == 4))
        maps = OrderedDict((n, maps[n]) for n in names[start:start + 2])
    lines = []
    for name, fmap in maps.items():
        kind = kinds.get(name.split("#")[0], "")
        line = (f"{name:>14} {kind:<10} {str(list(fmap.shape[1:])):<14} min {fmap.min():8.3f}"
                f"  max {fmap.max():8.3f}")
        if kind in ACTIVATIONS and kind.startswith("ReLU"):
            line += f"  zeros {100 * float(np.mean(fmap == 0)):.0f}%"
        lines.append(line)
    spatial = [name for name, fmap in maps.items() if fmap.ndim == 4]
    if len(spatial) > MAX_ROWS:  # a deep network: rows spread evenly, first and last kept
        keep = {spatial[int(i)] for i in np.linspace(0, len(spatial) - 1, MAX_ROWS).round()}
        maps = OrderedDict((n, m) for n, m in maps.items() if n in keep)
        lines.append(f"(the picture shows {MAX_ROWS} of the {len(spatial)} layers with "
                     "feature maps; choose one with --layer)")
    path = ctx.out_dir / "layers.png"
    image = ctx.images[ctx.index]
    plot_feature_maps(maps, path, kinds, image.mean(axis=0),
                      max_channels=8 if ctx.quick else 16,
                      title=f"feature maps of image {ctx.index} (true class "
                            f"{ctx.class_names[int(ctx.labels[ctx.index])]}), blue < 0 < red")
    return ViewResult(
        "layers", "Feature maps, layer by layer", "\n".join(lines), [path],
        "Each row is one layer's output for the same image, one small picture per channel "
        "(feature map). The first conv layer's maps still look like the digit, each "
        "highlighting different strokes or edges; after ReLU every negative (blue) value is "
        "gone; after pooling the maps are half the size; the deeper conv layer's maps are "
        "smaller and more abstract: they answer to combinations of the first layer's "
        "features, over a larger part of the image.")


def view_filters(ctx: ExplainContext) -> ViewResult:
    """The `filters` view: the first conv layer's kernels beside the classic ones, each with
    its response on the chosen digit."""
    from ._context import pick_layer

    name, layer = pick_layer(ctx.model, ctx.layer, ("Conv2d",), "filters")
    weight = layer.weight.numpy()
    if weight.shape[1] != ctx.images.shape[1]:
        raise ValueError(f"filters: layer {name!r} takes {weight.shape[1]} channels, not the "
                         f"image's {ctx.images.shape[1]}: choose a first-layer conv")
    path = ctx.out_dir / "filters.png"
    plot_filters(weight, ctx.images[ctx.index], path, max_learned=6 if ctx.quick else 8,
                 title=f"{name}: learned kernels (top) and classic ones (bottom), "
                       f"on image {ctx.index}")
    lines = [f"{name}: {weight.shape[0]} kernels of {weight.shape[1]}x{weight.shape[2]}x"
             f"{weight.shape[3]}; kernel 0 (channel 0):"]
    lines += ["  " + " ".join(f"{v:6.2f}" for v in row) for row in weight[0, 0]]
    for kernel_name, kernel in classic_kernels().items():
        lines.append(f"{kernel_name}: " + " / ".join(" ".join(f"{v:g}" if v == round(v) else
                                                              f"{v:.3f}" for v in row)
                                                     for row in kernel))
    return ViewResult(
        "filters", "Filters: learned kernels and classic ones", "\n".join(lines), [path],
        "The first conv layer learns its kernels from the data, but many end up resembling "
        "the kernels image processing designed by hand: a blur averages its window, sharpen "
        "boosts the centre against its neighbours, Sobel x and y answer to vertical and "
        "horizontal edges (red on one side of a stroke, blue on the other), the Laplacian to "
        "spots and thin lines. Compare the learned responses (top) with the classic ones "
        "(bottom) on the same digit.")
