"""Activation maximisation: the input a chosen channel responds to most, found by gradient
ascent on the input itself (the weights stay fixed).

    image = tg.viz.maximise_activation(model, "features.0", channel=3, shape=(1, 28, 28))
    images = tg.viz.maximise_channels(model, "features.3", range(8), shape=(1, 28, 28))
    reached = tg.viz.channel_activations(model, "features.3", images, range(8))
    tg.viz.plot_maximised([("features.3", list(range(8)), images, reached)], "max.png")

Each step moves the input along d(activation of the channel) / d(input) (at the centre of
its map by default, or averaged over the map), minus a small
L2 penalty (keeps the values small) and a total-variation penalty (keeps neighbours alike,
so the picture is a pattern rather than high-frequency noise); the input is jittered by a
pixel now and then and blurred every few steps, and kept in the data's value range. A
first-layer channel gives back its edge or blob detector; a deeper one a larger, more
complex pattern, over the larger part of the image it sees (its receptive field).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from ..atomic import save_figure
from ..nn.module import Module
from ..tensor import Tensor
from ._figure import new_figure
from ._layers import Recorder, conv_layers, find_layer, probing
from .explain_types import ExplainContext, ViewResult


def _device(model: Module) -> str:
    first = next(model.parameters(), None)
    return first.device if first is not None else "cpu"


OBJECTIVES = ("centre", "mean")


def _objective(who: str, objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"{who}: objective must be one of {', '.join(OBJECTIVES)}, got "
                         f"{objective!r}")
    return objective


def channel_activations(model: Module, layer: str | Module, x: np.ndarray,
                        channels: Iterable[int] | None = None, objective: str = "centre"
                        ) -> np.ndarray:
    """The activation of `layer`'s output channels for a batch `x` (N, C, H, W), at the
    centre of each map ("centre") or averaged over it ("mean"): image i is scored on
    channel `channels[i]` (default: all channels for every image, (N, K)). Runs in eval
    mode without changing the model."""
    name, module = find_layer(model, layer, "channel_activations")
    with probing(model), Recorder([(name, module)], keep_grad=False) as recorder:
        model(Tensor(np.ascontiguousarray(x, dtype=np.float32), device=_device(model)))
    maps = recorder.outputs[name].numpy()
    if _objective("channel_activations", objective) == "centre":
        means = maps[:, :, maps.shape[2] // 2, maps.shape[3] // 2]
    else:
        means = maps.mean(axis=(2, 3))
    if channels is None:
        return means
    return means[np.arange(len(means)), list(channels)]


def _blur(images: np.ndarray) -> np.ndarray:
    """A 3x3 binomial blur of each (H, W) plane, edges repeated."""
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    rows = padded[:, :, :-2] + 2 * padded[:, :, 1:-1] + padded[:, :, 2:]
    return (rows[..., :-2] + 2 * rows[..., 1:-1] + rows[..., 2:]) / 16.0


def _total_variation_grad(images: np.ndarray) -> np.ndarray:
    """d/dx of sum of squared differences between vertical and horizontal neighbours."""
    grad = np.zeros_like(images)
    down = images[:, :, 1:] - images[:, :, :-1]
    right = images[..., 1:] - images[..., :-1]
    grad[:, :, 1:] += 2 * down
    grad[:, :, :-1] -= 2 * down
    grad[..., 1:] += 2 * right
    grad[..., :-1] -= 2 * right
    return grad


def maximise_channels(model: Module, layer: str | Module, channels: Iterable[int],
                      shape: tuple[int, int, int] = (1, 28, 28), steps: int = 200,
                      lr: float = 0.05, l2: float = 1e-3, tv: float = 5e-3,
                      blur_every: int = 4, jitter: int = 1,
                      value_range: tuple[float, float] = (0.0, 1.0), seed: int = 0,
                      objective: str = "centre") -> np.ndarray:
    """One input per channel, all optimised at once as a batch: -> (len(channels), *shape).

    shape: (C, H, W) of the model's input; steps, lr: gradient ascent (each step moves
    every pixel by lr times the gradient divided by its mean magnitude, so lr is in units
    of the value range); l2, tv: the weights of the L2 and total-variation penalties;
    blur_every: blur every this many steps (0: never); jitter: roll the image by up to
    this many pixels before each step (0: never), both during the first 80% of the steps
    only; value_range: where pixels are kept;
    objective: "centre" maximises the channel at the centre of its map (the unit whose
    receptive field is the middle of the image: its pattern appears there, framed by the
    receptive field), "mean" its average over the map (the pattern tiled everywhere; for
    an early layer, whose response is nearly linear, this drifts to a flat image).
    """
    who = "maximise_activation"
    objective = _objective(who, objective)
    name, module = find_layer(model, layer, who)
    channels = [int(c) for c in channels]
    rng = np.random.default_rng(seed)
    low, high = value_range
    images = (low + high) / 2 + 0.05 * (high - low) * rng.standard_normal((len(channels),
                                                                            *shape))
    device = _device(model)
    # the last fifth of the steps run without jitter and blur: they shape the pattern, the
    # finish makes the returned image excite the channel as much as it can where it is
    shaping = int(0.8 * steps)
    with probing(model), Recorder([(name, module)]) as recorder:
        for step in range(steps):
            shift = (tuple(rng.integers(-jitter, jitter + 1, 2)) if jitter and step < shaping
                     else (0, 0))
            moved = np.roll(images, shift, axis=(2, 3))
            x = Tensor(moved.astype(np.float32), requires_grad=True, device=device)
            model(x)
            output = recorder.outputs.get(name)
            if output is None or output.ndim != 4:
                shown = None if output is None else output.shape
                raise ValueError(f"{who}: layer {name!r} must give (N, K, h, w) feature maps, "
                                 f"got {shown}")
            if step == 0 and max(channels) >= output.shape[1]:
                raise ValueError(f"{who}: channel {max(channels)} is out of range: layer "
                                 f"{name!r} has {output.shape[1]} channels")
            seed_grad = np.zeros(output.shape, np.float32)
            batch = np.arange(len(channels))
            if objective == "centre":
                seed_grad[batch, channels, output.shape[2] // 2, output.shape[3] // 2] = 1.0
            else:
                seed_grad[batch, channels] = 1.0 / np.prod(output.shape[2:])
            output.backward(seed_grad)
            grad = np.roll(x.grad.numpy().astype(np.float64), (-shift[0], -shift[1]),
                           axis=(2, 3)) if x.grad is not None else np.zeros_like(images)
            grad -= 2 * l2 * (images - (low + high) / 2) + tv * _total_variation_grad(images)
            scale = np.abs(grad).mean(axis=(1, 2, 3), keepdims=True) + 1e-12
            images = np.clip(images + lr * (high - low) * grad / scale, low, high)
            if blur_every and (step + 1) % blur_every == 0 and step + 1 < shaping:
                images = _blur(images)
    return images.astype(np.float32)


def maximise_activation(model: Module, layer: str | Module, channel: int,
                        steps: int = 200, lr: float = 0.05, l2: float = 1e-3,
                        blur_every: int = 4, seed: int = 0,
                        shape: tuple[int, int, int] = (1, 28, 28), **options) -> np.ndarray:
    """The input (C, H, W) that most excites `channel` of `layer` (a name or the module),
    by gradient ascent on its activation; see `maximise_channels` for the options."""
    return maximise_channels(model, layer, [channel], shape, steps, lr, l2,
                             blur_every=blur_every, seed=seed, **options)[0]


def plot_maximised(rows: list[tuple[str, list[int], np.ndarray, np.ndarray]],
                   path: str | os.PathLike | None = None, title: str | None = None):
    """A grid of maximising inputs: one row per layer, given as (layer name, channels,
    images (n, C, H, W), activations (n,)), each picture titled with its channel and the
    activation it reaches. Saved to `path` if given; returns the matplotlib Figure."""
    columns = max(len(channels) for _, channels, _, _ in rows)
    figure = new_figure("plot_maximised", figsize=(1.5 * columns + 0.6, 1.75 * len(rows) + 0.5),
                        layout="constrained")
    grid = figure.subplots(len(rows), columns, squeeze=False)
    for row, (name, channels, images, activations) in enumerate(rows):
        for column in range(columns):
            axes = grid[row, column]
            axes.set_xticks([])
            axes.set_yticks([])
            if column >= len(channels):
                axes.axis("off")
                continue
            image = images[column]
            shown = image[0] if image.shape[0] == 1 else np.moveaxis(image[:3], 0, -1)
            axes.imshow(shown, cmap="gray" if image.shape[0] == 1 else None, vmin=0, vmax=1)
            axes.set_title(f"ch {channels[column]}: {activations[column]:.2g}", fontsize=8)
            if column == 0:
                axes.set_ylabel(name, fontsize=9)
    figure.suptitle(title or "inputs that excite each channel most (activation above)",
                    fontsize=10)
    if path is not None:
        save_figure(figure, path, dpi=120)
    return figure


def view_maximise(ctx: ExplainContext) -> ViewResult:
    """The `maximise` view: for the first and the last conv layer (or `ctx.layer`), the
    input that excites each of its first channels most, and how strongly, against the
    context's image and random noise."""
    model = ctx.model
    if ctx.layer is not None:
        layers = [find_layer(model, ctx.layer, "maximise")[0]]
    else:
        convs = [name for name, _ in conv_layers(model)]
        if not convs:
            raise ValueError(f"maximise: {type(model).__name__} has no Conv2d layer")
        layers = list(dict.fromkeys([convs[0], convs[-1]]))
    channels_in, height, width = (int(size) for size in ctx.images.shape[1:])
    shape = (channels_in, height, width)
    low, high = float(ctx.images.min()), float(ctx.images.max())
    if high <= low:
        low, high = 0.0, 1.0
    count, steps = (4, 30) if ctx.quick else (8, 160)
    rng = np.random.default_rng(ctx.seed)
    rows, lines = [], []
    for name in layers:
        k = int(channel_activations(model, name, ctx.images[:1]).shape[1])
        channels = list(range(min(count, k)))
        images = maximise_channels(model, name, channels, shape, steps,
                                   value_range=(low, high), seed=ctx.seed)
        reached = channel_activations(model, name, images, channels)
        noise = rng.uniform(low, high, (len(channels), *shape))
        random = channel_activations(model, name, noise, channels)
        own = channel_activations(model, name, ctx.images[ctx.index:ctx.index + 1])[0]
        # shown scaled back to [0, 1] whatever the data's range
        rows.append((name, channels, (images - low) / (high - low), reached))
        lines.append(f"layer {name} ({k} channels), activation at the centre of the map: "
                     f"optimised input / random noise / image {ctx.index}")
        lines += [f"  channel {c}: {reached[i]:8.3f} / {random[i]:8.3f} / {own[c]:8.3f}"
                  for i, c in enumerate(channels)]
    path = ctx.out_dir / "maximise.png"
    plot_maximised(rows, path, title=f"Inputs that excite each channel most ({steps} steps of "
                                     "gradient ascent; the activation reached above)")
    text = "\n".join(lines) + f"\nwrote {path}"
    about = ("Each picture is an input made from noise by gradient ascent: the pixels were "
             "changed, step by step, to make one channel's activation at the centre of its "
             "map as large as possible, with a small penalty on rough or extreme pixels. Only "
             "the pixels that unit sees (its receptive field) change; the rest stays grey. "
             "A first-layer channel sees a 5x5 patch and answers to a simple edge or stroke; "
             "a channel of the last conv layer sees much more of the image and answers to a "
             "larger, more complex shape. Compare what each reaches with its response to "
             "random noise (in the text).")
    return ViewResult("maximise", "Activation maximisation: what each channel looks for",
                      text, [path], about)
