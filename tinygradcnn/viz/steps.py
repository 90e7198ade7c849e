"""Convolution and pooling one output pixel at a time: the numbers a student would write
on the board, as plain data (pictures in `steps_render.py`).

    >>> image = np.arange(25.0).reshape(5, 5)       # the seed's 5x5 image
    >>> kernel = np.array([[1., 0, -1], [1, 0, -1], [1, 0, -1]])
    >>> steps = conv_steps(image, kernel)            # 3x3 outputs, raster order
    >>> steps[0].window                              # image[0:3, 0:3]
    >>> steps[0].products.sum() + 0.0 == steps[0].value
    >>> output_map(steps)                            # == F.conv2d(image, kernel)[0, 0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels.shapes import conv2d_output_size, pool_output_size
from ..ops._checks import int_tuple, one_of, real
from .explain_types import ViewResult

POOL_KINDS = ("max", "sum", "avg")


@dataclass
class ConvStep:
    """One output pixel of a convolution.

    row, col: where the value lands in the output map; top, left: the window's corner in
    the zero-padded input; window: the input values under the kernel's taps ((kH, kW), or
    (C, kH, kW)); products: window * kernel, elementwise; value: products.sum() + bias.
    """

    row: int
    col: int
    top: int
    left: int
    window: np.ndarray
    products: np.ndarray
    bias: float
    value: float


@dataclass
class PoolStep:
    """One output pixel of a pooling layer.

    row, col: its place in the output map; top, left: the window's corner in the input;
    window: the (k, k) input values; value: their max, sum or mean; winner: for max pooling
    the (row, col) in the input of the largest value (the first one on a tie, as the
    gradient goes to it), else None.
    """

    row: int
    col: int
    top: int
    left: int
    window: np.ndarray
    value: float
    winner: tuple[int, int] | None = None


def _pad(image: np.ndarray, pad_h: int, pad_w: int) -> np.ndarray:
    widths = [(0, 0)] * (image.ndim - 2) + [(pad_h, pad_h), (pad_w, pad_w)]
    return np.pad(image, widths)


def conv_steps(image, kernel, stride=1, padding=0, bias: float = 0.0,
               dilation=1) -> list[ConvStep]:
    """Every step of sliding `kernel` over `image`: multiply elementwise, sum, add the bias,
    write the value, move by the stride. One ConvStep per output pixel, in raster order.

    image (H, W) with kernel (kH, kW), or image (C, H, W) with kernel (C, kH, kW) (the sum
    runs over the channels too). stride, padding, dilation: int or (h, w); the padding is
    zeros; a dilated kernel reads taps `dilation` apart. The output is
    (H + 2p - d(k - 1) - 1) // s + 1 on each axis, exactly F.conv2d's.
    """
    op = "conv_steps"
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim not in (2, 3) or kernel.ndim != image.ndim or (
            image.ndim == 3 and image.shape[0] != kernel.shape[0]):
        raise ValueError(f"{op}: an image (H, W) takes a kernel (kH, kW), an image (C, H, W) a "
                         f"kernel (C, kH, kW); got image {image.shape} and kernel "
                         f"{kernel.shape}")
    stride_h, stride_w = int_tuple(op, "stride", stride, 2, minimum=1)
    pad_h, pad_w = int_tuple(op, "padding", padding, 2, minimum=0)
    dil_h, dil_w = int_tuple(op, "dilation", dilation, 2, minimum=1)
    bias = real(op, "bias", bias)
    height, width = image.shape[-2:]
    k_h, k_w = kernel.shape[-2:]
    out_h = conv2d_output_size(height, k_h, stride_h, pad_h, pad_h, dil_h)
    out_w = conv2d_output_size(width, k_w, stride_w, pad_w, pad_w, dil_w)
    if out_h < 1 or out_w < 1 or k_h < 1 or k_w < 1:
        raise ValueError(f"{op}: kernel {k_h}x{k_w} (dilation {dil_h}x{dil_w}) does not fit "
                         f"the padded image {height + 2 * pad_h}x{width + 2 * pad_w}")
    padded = _pad(image, pad_h, pad_w)
    steps = []
    for row in range(out_h):
        for col in range(out_w):
            top, left = row * stride_h, col * stride_w
            window = padded[..., top:top + dil_h * (k_h - 1) + 1:dil_h,
                            left:left + dil_w * (k_w - 1) + 1:dil_w].copy()
            products = window * kernel
            steps.append(ConvStep(row, col, top, left, window, products, bias,
                                  float(products.sum()) + bias))
    return steps


def pool_steps(feature_map, kind: str = "max", kernel_size=2, stride=None) -> list[PoolStep]:
    """Every step of pooling a (H, W) map with a square window: the window, its max, sum
    or mean ("max", "sum", "avg"), and for max the winning input position. `stride`
    defaults to `kernel_size`; no padding, a remainder that no window covers is dropped
    (floor mode), as in F.max_pool2d / F.sum_pool2d / F.avg_pool2d.

        >>> pool_steps(np.array([[1., 2, 5, 6], [3, 4, 7, 8], [9, 0, 2, 1], [6, 5, 4, 3]]))
        # four steps; values 4, 8, 9, 4; winners (1, 1), (1, 3), (2, 0), (3, 2)
    """
    op = "pool_steps"
    one_of(op, "kind", kind, POOL_KINDS)
    values = np.asarray(feature_map, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{op}: feature_map must be (H, W), got shape {values.shape}")
    k_h, k_w = int_tuple(op, "kernel_size", kernel_size, 2, minimum=1)
    s_h, s_w = int_tuple(op, "stride", kernel_size if stride is None else stride, 2, minimum=1)
    out_h = pool_output_size(values.shape[0], k_h, s_h, 0, 1, False)
    out_w = pool_output_size(values.shape[1], k_w, s_w, 0, 1, False)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{op}: window {k_h}x{k_w} is larger than the map "
                         f"{values.shape[0]}x{values.shape[1]}")
    steps = []
    for row in range(out_h):
        for col in range(out_w):
            top, left = row * s_h, col * s_w
            window = values[top:top + k_h, left:left + k_w].copy()
            winner = None
            if kind == "max":
                at = np.unravel_index(int(np.argmax(window)), window.shape)
                winner = (top + int(at[0]), left + int(at[1]))
                value = float(window.max())
            else:
                value = float(window.sum() if kind == "sum" else window.mean())
            steps.append(PoolStep(row, col, top, left, window, value, winner))
    return steps


def output_map(steps) -> np.ndarray:
    """The (H_out, W_out) map that ConvSteps or PoolSteps write: value at (row, col)."""
    if not steps:
        raise ValueError("output_map: no steps")
    out = np.zeros((max(s.row for s in steps) + 1, max(s.col for s in steps) + 1))
    for step in steps:
        out[step.row, step.col] = step.value
    return out


def _numbers(array: np.ndarray) -> str:
    return "[" + " ".join(f"{v:6.2f}" for v in np.ravel(array)) + "]"


def _sum_text(values) -> str:
    """1.00 - 2.00 + 0.50: a sum written out, its signs as operators."""
    if len(values) == 0:
        return "0"
    values = [0.0 if value == 0 else float(value) for value in values]  # no "-0.00"
    text = f"{values[0]:.2f}"
    for value in values[1:]:
        text += f" {'-' if value < 0 else '+'} {abs(value):.2f}"
    return text


def format_conv_steps(steps: list[ConvStep], limit: int | None = 6) -> str:
    """The steps as a terminal table: output pixel, window corner, the sum of products
    written out (w·x + ... + b) and the value; `limit` steps (None: all), then the map."""
    shown = steps if limit is None else steps[:limit]
    lines = [f"{'out':>7}  {'window at':>9}  sum of window x kernel + bias = value"]
    for step in shown:
        products = np.ravel(step.products)
        if products.size > 9:  # a 5x5 kernel: the nonzero products, then how many
            nonzero = products[products != 0]
            terms = _sum_text(nonzero[:6]) + (" + ..." if nonzero.size > 6 else "")
            terms += f" ({nonzero.size} nonzero of {products.size})"
        else:
            terms = _sum_text(products)
        sign = "-" if step.bias < 0 else "+"
        lines.append(f"({step.row:2d},{step.col:2d})  ({step.top:2d},{step.left:2d})     "
                     f"{terms} {sign} {abs(step.bias):.2f} = {step.value:.3f}")
    if len(shown) < len(steps):
        lines.append(f"... {len(steps) - len(shown)} more steps")
    out = output_map(steps)
    lines.append(f"output map {out.shape[0]}x{out.shape[1]}:")
    lines += ["  " + " ".join(f"{v:6.2f}" for v in row) for row in out[:12, :12]]
    return "\n".join(lines)


def format_pool_steps(steps: list[PoolStep], kind: str, limit: int | None = 6) -> str:
    """The steps as a terminal table: output pixel, window, value (and the winner for max)."""
    shown = steps if limit is None else steps[:limit]
    lines = [f"{kind} pooling: {'out':>7}  window -> value"]
    for step in shown:
        won = f"  winner at {step.winner}" if step.winner is not None else ""
        lines.append(f"  ({step.row:2d},{step.col:2d})  {_numbers(step.window)} -> "
                     f"{step.value:.3f}{won}")
    if len(shown) < len(steps):
        lines.append(f"  ... {len(steps) - len(shown)} more steps")
    return "\n".join(lines)


POOL_LAYERS = ("MaxPool2d", "AvgPool2d", "SumPool2d")


def _small_digit(image: np.ndarray) -> np.ndarray:
    """The chosen image as an 8x8 grey picture (the embedded digits' own size), small enough
    to write every number on it."""
    grey = image.mean(axis=0) if image.ndim == 3 else image
    if max(grey.shape) <= 8:
        return grey
    from ..data.transforms import resize

    return resize(grey[None, None].astype(np.float32), (8, 8))[0, 0]


def _window_of(layer):
    from .shapes import sliding_window

    window = sliding_window(layer)
    if window is None:
        raise ValueError(f"explain: {type(layer).__name__} is not a sliding-window layer")
    return window


def view_conv(ctx) -> ViewResult:
    """The `conv` view: the first (or the chosen) conv layer's first kernel sliding over
    what that layer receives for the chosen image, then a classic Sobel kernel on the
    digit at 8x8 with every number shown."""
    from ..tensor import Tensor
    from ._context import layer_io, pick_layer
    from .steps_render import render_conv_steps

    name, layer = pick_layer(ctx.model, ctx.layer, ("Conv2d",), "conv")
    received, produced = layer_io(ctx.model, layer, Tensor(ctx.images[ctx.index:ctx.index + 1]))
    weight = layer.weight.numpy().astype(np.float64)
    kernel = weight[0]
    image = received[0, :kernel.shape[0]].astype(np.float64)  # group 0's channels
    if kernel.shape[0] == 1:
        image, kernel = image[0], kernel[0]
    bias = float(layer.bias.numpy()[0]) if layer.bias is not None else 0.0
    _, stride, padding, dilation = _window_of(layer)
    steps = conv_steps(image, kernel, stride, padding, bias, dilation)
    mismatch = float(np.max(np.abs(output_map(steps) - produced[0, 0])))
    frames, strip = (2, 2) if ctx.quick else (24, 3)  # quick: text on a grid is slow to draw
    files = [ctx.out_dir / "conv_learned.png", ctx.out_dir / "conv_learned.gif"]
    render_conv_steps(image, kernel, stride, padding, bias, dilation, files[0], files[1],
                      strip=strip, frames=frames,
                      title=f"{name}: kernel 0 of {weight.shape[0]} on image {ctx.index}, "
                            f"stride {stride[0]}, padding {padding[0]}")
    digit = _small_digit(ctx.images[ctx.index])
    sobel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    classic = conv_steps(digit, sobel, padding=1)
    files += [ctx.out_dir / "conv_sobel.png", ctx.out_dir / "conv_sobel.gif"]
    render_conv_steps(digit, sobel, 1, 1, 0.0, 1, files[2], files[3], strip, frames,
                      title="Sobel x (a vertical-edge detector) on the digit at 8x8, padding 1")
    text = (f"{name}: kernel 0, {tuple(kernel.shape)}, bias {bias:.3f}, stride {stride}, "
            f"padding {padding}, dilation {dilation}: {len(steps)} steps; the map they write "
            f"equals the layer's own output channel 0 (largest difference {mismatch:.1e})\n"
            + format_conv_steps(steps, limit=4)
            + "\n\nSobel x on the 8x8 digit:\n" + format_conv_steps(classic, limit=3))
    return ViewResult(
        "conv", "Convolution, one step at a time", text, files,
        "A convolution slides a small kernel over the image. At each position it multiplies "
        "the window under the kernel by the kernel, element by element, adds the products "
        "and the bias, and writes the sum into the output map; then it moves by the stride. "
        f"The first picture does this with the trained model's own first kernel ({name}); "
        "the second with the classic Sobel kernel, which answers strongly (red or blue) "
        "where the digit's strokes have a left or right edge. Padding adds a border of "
        "zeros so that the output keeps the input's size.")


def view_pool(ctx) -> ViewResult:
    """The `pool` view: the first (or the chosen) pooling layer's input map (its most active
    channel), with max, sum and average pooling side by side, and a zoom with every number."""
    from ..tensor import Tensor
    from ._context import layer_io, pick_layer
    from .steps_render import plot_pool_steps

    name, layer = pick_layer(ctx.model, ctx.layer, POOL_LAYERS, "pool")
    received, _ = layer_io(ctx.model, layer, Tensor(ctx.images[ctx.index:ctx.index + 1]))
    # the channel that answers most to this image: a dead (all-zero) channel teaches nothing
    channel = int(np.argmax(np.abs(received[0]).sum(axis=(1, 2))))
    fmap = received[0, channel].astype(np.float64)
    (k, _), (s, _), _, _ = _window_of(layer)
    files = [ctx.out_dir / "pool.png"]
    plot_pool_steps(fmap, k, s, files[0],
                    f"{name} ({type(layer).__name__} {k}x{k}, stride {s}): channel {channel} "
                    f"of its input, image {ctx.index}")
    zoom = fmap
    if max(fmap.shape) > 8:  # the 8x8 corner of the map where the activations are strongest
        side = 8 - 8 % s if s <= 8 else s
        scores = {(top, left): float(fmap[top:top + side, left:left + side].sum())
                  for top in range(0, fmap.shape[0] - side + 1, s)
                  for left in range(0, fmap.shape[1] - side + 1, s)}
        top, left = max(scores, key=scores.__getitem__)
        zoom = fmap[top:top + side, left:left + side]
        files.append(ctx.out_dir / "pool_zoom.png")
        plot_pool_steps(zoom, k, s, files[1], f"zoom: rows {top}-{top + side - 1}, columns "
                                              f"{left}-{left + side - 1} of the same map")
    by_kind = {kind: pool_steps(zoom, kind, k, s) for kind in POOL_KINDS}
    strongest = sorted(np.argsort([-step.value for step in by_kind["max"]])[:3])
    text = "\n".join(format_pool_steps([by_kind[kind][i] for i in strongest], kind)
                     for kind in POOL_KINDS)
    return ViewResult(
        "pool", "Pooling: max, sum and average",
        f"{name}, channel {channel}, the three windows with the largest maximum:\n{text}", files,
        "Pooling shrinks a feature map by summarising each window (here "
        f"{k}x{k}, moved {s} at a time) with one number. Max pooling keeps the strongest "
        "answer (the boxed winner; in training the gradient flows back to it alone), sum "
        "pooling adds the window up, average pooling divides that sum by the window's size. "
        "Notice that max pooling keeps a stroke's answer even if the stroke moves by a pixel "
        "inside its window: a little invariance to small shifts.")
