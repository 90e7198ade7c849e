"""Pictures of `conv_steps` and `pool_steps`: the window on the input, the products, the sum
landing in the output map (an animated GIF and a PNG strip), and the three poolings side by
side with the max-pooling winners marked. matplotlib and Pillow are needed here only."""

from __future__ import annotations

import io
import os

import numpy as np

from ..atomic import atomic_write_bytes, save_figure
from ._figure import new_figure
from ._grid import (
    HIGHLIGHT,
    INPUT_CMAP,
    NUMBERS_UP_TO,
    SIGNED_CMAP,
    WINNER,
    draw_grid,
    figure_to_image,
    number_text,
    outline,
    signed_limit,
)
from .steps import POOL_KINDS, ConvStep, _pad, conv_steps, output_map, pool_steps

PANELS = 5  # input | window | kernel | products | output map


def _channel0(array: np.ndarray) -> np.ndarray:
    return array[0] if array.ndim == 3 else array


def _draw_conv_step(axes_row, padded: np.ndarray, kernel: np.ndarray, steps: list[ConvStep],
                    index: int, padding: tuple[int, int], dilation: tuple[int, int],
                    limits: dict[str, tuple[float, float]]) -> None:
    """One step as five panels: where the window is, what it reads, the kernel, the products
    and their sum, and the output map filled up to this step."""
    step = steps[index]
    image_axes, window_axes, kernel_axes, product_axes, out_axes = axes_row
    k_h, k_w = kernel.shape[-2:]
    span_h, span_w = dilation[0] * (k_h - 1) + 1, dilation[1] * (k_w - 1) + 1
    channels = kernel.shape[0] if kernel.ndim == 3 else 1
    of = f" (channel 0 of {channels})" if channels > 1 else ""

    draw_grid(image_axes, _channel0(padded), INPUT_CMAP, *limits["input"],
              title=f"input, padded by {padding[0]}{of}" if any(padding) else f"input{of}")
    if any(padding):  # the real image inside its zero border
        outline(image_axes, padding[0], padding[1], padded.shape[-2] - 2 * padding[0],
                padded.shape[-1] - 2 * padding[1], color="#1f77b4", linewidth=1.0)
    if dilation == (1, 1):
        outline(image_axes, step.top, step.left, span_h, span_w)
    else:  # a dilated kernel reads separate taps: outline each
        for r in range(k_h):
            for c in range(k_w):
                outline(image_axes, step.top + r * dilation[0], step.left + c * dilation[1], 1,
                        1, linewidth=1.5)
    draw_grid(window_axes, _channel0(step.window), INPUT_CMAP, *limits["input"], numbers=True,
              title=f"window at ({step.top}, {step.left})", ticks=False)
    draw_grid(kernel_axes, _channel0(kernel), SIGNED_CMAP, *limits["kernel"], numbers=True,
              title="x  kernel", ticks=False)
    products = step.products.sum(axis=0) if step.products.ndim == 3 else step.products
    draw_grid(product_axes, products, SIGNED_CMAP, *limits["products"], numbers=True,
              ticks=False,
              title="= products" + (f" (sum of {channels} channels)" if channels > 1 else ""))
    product_axes.set_xlabel(f"sum {float(step.products.sum()):.3f} + bias ({step.bias:.3f})"
                            f"\n= {step.value:.3f}", fontsize=10,
                            color=HIGHLIGHT, fontweight="bold")
    out = output_map(steps)
    done = np.zeros(out.shape, dtype=bool)
    done.ravel()[:index + 1] = True
    draw_grid(out_axes, out, SIGNED_CMAP, *limits["output"], mask=done,
              title=f"output ({step.row}, {step.col}) = {number_text(step.value)}")
    outline(out_axes, step.row, step.col, 1, 1)


def _limits(padded: np.ndarray, kernel: np.ndarray, steps: list[ConvStep]):
    """Colour ranges fixed over all steps, so a colour means the same in every frame."""
    low, high = float(min(padded.min(), 0.0)), float(max(padded.max(), 1e-12))
    products = [s.products.sum(axis=0) if s.products.ndim == 3 else s.products for s in steps]
    out_limit = signed_limit(output_map(steps))
    product_limit = signed_limit(*products)
    return {"input": (low, high), "kernel": (-signed_limit(kernel), signed_limit(kernel)),
            "products": (-product_limit, product_limit), "output": (-out_limit, out_limit)}


def _width_ratios(padded: np.ndarray, kernel: np.ndarray, out: np.ndarray) -> list[float]:
    """The input and output panels wider than the three small ones, but never so wide that
    the kernel's numbers get squeezed."""
    small = max(kernel.shape[-1], 3)
    cap = 2.2 if max(padded.shape[-2:]) <= NUMBERS_UP_TO else 1.6  # room for the numbers
    return [min(max(padded.shape[-1] / small, 1.0), cap), 1.0, 1.0, 1.0,
            min(max(out.shape[-1] / small, 1.0), cap)]


def render_conv_steps(image, kernel, stride=1, padding=0, bias: float = 0.0, dilation=1,
                      png_path: str | os.PathLike | None = None,
                      gif_path: str | os.PathLike | None = None, strip: int = 3,
                      frames: int = 30, title: str | None = None):
    """Draw `conv_steps(image, kernel, ...)`: a PNG strip of `strip` steps (the first two,
    then the strongest answers), one row of five panels each (the
    window highlighted on the input with its numbers, the window, the kernel, the products
    with their sum + bias, the output map filled so far), and an animated GIF of up to
    `frames` steps spread over the whole map. image (H, W) or (C, H, W) as in conv_steps.
    Saves what it is given paths for; returns the strip's Figure."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    steps = conv_steps(image, kernel, stride, padding, bias, dilation)
    pads = padding if isinstance(padding, (tuple, list)) else (padding, padding)
    dils = dilation if isinstance(dilation, (tuple, list)) else (dilation, dilation)
    pads, dils = (int(pads[0]), int(pads[1])), (int(dils[0]), int(dils[1]))
    padded = _pad(image, *pads)
    limits = _limits(padded, kernel, steps)
    ratios = _width_ratios(padded, kernel, output_map(steps))
    # the first steps (the window moving by the stride), then the strongest answers: on a
    # digit the corners are blank, and the kernel's work shows where the strokes are
    strongest = np.argsort([-abs(step.value - step.bias) for step in steps], kind="stable")
    picks = [index for index in (0, 1) if index < len(steps)][:max(strip - 1, 1)]
    picks += [int(i) for i in strongest if i not in picks][:strip - len(picks)]
    picks = sorted(picks)

    cells = max(padded.shape[-2:])
    # an input with its numbers written needs about a third of an inch per cell
    row_height = max(3.1, 0.36 * cells + 0.8) if cells <= NUMBERS_UP_TO else 3.1

    def figure_for(rows: int):
        return new_figure("render_conv_steps", figsize=(2.6 * PANELS + 3, row_height * rows),
                          layout="constrained" if rows > 1 else None)

    figure = figure_for(len(picks))
    grid = figure.subplots(len(picks), PANELS, squeeze=False,
                           gridspec_kw={"width_ratios": ratios})
    for axes_row, index in zip(grid, picks, strict=True):
        _draw_conv_step(axes_row, padded, kernel, steps, index, pads, dils, limits)
    figure.suptitle(title or f"convolution step by step: stride {stride}, padding {padding}, "
                    f"dilation {dilation}, {len(steps)} steps", fontsize=11)
    if png_path is not None:
        save_figure(figure, png_path, dpi=110)
    if gif_path is not None:
        shown = np.unique(np.linspace(0, len(steps) - 1, min(frames, len(steps))).round())
        images = []
        for index in shown.astype(int):
            frame = figure_for(1)
            # one fixed layout for every frame: cheaper than a constrained one, and the
            # panels do not jump between frames
            axes_row = frame.subplots(1, PANELS, gridspec_kw={"width_ratios": ratios})
            frame.subplots_adjust(left=0.03, right=0.99, top=0.82, bottom=0.16, wspace=0.3)
            _draw_conv_step(axes_row, padded, kernel, steps, int(index), pads, dils, limits)
            frame.suptitle(f"step {index + 1} of {len(steps)}", fontsize=11)
            images.append(figure_to_image(frame).quantize(colors=128))
        gif = io.BytesIO()
        images[0].save(gif, format="GIF", save_all=True, append_images=images[1:],
                       duration=[700] * (len(images) - 1) + [2000], loop=0)
        atomic_write_bytes(gif_path, gif.getvalue())
    return figure


def plot_pool_steps(feature_map, kernel_size=2, stride=None,
                    path: str | os.PathLike | None = None, title: str | None = None):
    """The three poolings of one (H, W) map side by side: the input with every window
    outlined and each max-pooling winner circled, then the max, sum and average maps with
    their numbers. Saved to `path` if given; returns the Figure."""
    values = np.asarray(feature_map, dtype=np.float64)
    results = {kind: pool_steps(values, kind, kernel_size, stride) for kind in POOL_KINDS}
    maps = {kind: output_map(steps) for kind, steps in results.items()}
    side = max(values.shape)
    figure = new_figure("plot_pool_steps", figsize=(4.0 + 3 * 2.6, 3.6 + 0.04 * side),
                        layout="constrained")
    ratios = [max(values.shape[1], 4)] + [max(maps["max"].shape[1], 3)] * 3
    axes = figure.subplots(1, 4, gridspec_kw={"width_ratios": ratios})
    draw_grid(axes[0], values, INPUT_CMAP, min(values.min(), 0.0), max(values.max(), 1e-12),
              title=f"input {values.shape[0]}x{values.shape[1]}, windows "
                    f"{kernel_size}x{kernel_size}")
    small = side <= NUMBERS_UP_TO
    for step in results["max"]:
        row, col = step.winner or (step.top, step.left)
        if small:  # every window outlined, its winner boxed
            size = step.window.shape
            outline(axes[0], step.top, step.left, size[0], size[1], color=HIGHLIGHT,
                    linewidth=1.0)
            outline(axes[0], row, col, 1, 1, color=WINNER, linewidth=2.5)
        elif step.value > 0 or step.value > values.min():  # a dot where a window has a peak
            axes[0].plot(col, row, ".", color=WINNER, markersize=4)
    names = {"max": "max pooling (winners " + ("boxed)" if small else "dotted)"),
             "sum": "sum pooling",
             "avg": "average pooling"}
    for axes_one, kind in zip(axes[1:], POOL_KINDS, strict=True):
        draw_grid(axes_one, maps[kind], INPUT_CMAP, min(maps[kind].min(), 0.0),
                  max(maps[kind].max(), 1e-12), title=names[kind])
    figure.suptitle(title or f"pooling {values.shape[0]}x{values.shape[1]} -> "
                    f"{maps['max'].shape[0]}x{maps['max'].shape[1]}", fontsize=11)
    if path is not None:
        save_figure(figure, path, dpi=110)
    return figure
