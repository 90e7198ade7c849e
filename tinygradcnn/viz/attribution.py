"""Where the network looks: Grad-CAM and gradient saliency, and their overlay on the input.

    heat = tg.viz.grad_cam(model, image)             # (H, W) in [0, 1], last conv layer
    heat = tg.viz.grad_cam(model, image, target=3, layer="features.3")
    sal = tg.viz.saliency(model, image)              # (H, W) = max_c |d score / d x|
    tg.viz.plot_attribution(image, heat, "gradcam.png", title="Grad-CAM")

Grad-CAM (Selvaraju et al. 2017) asks a conv layer's K feature maps A_k how much each one
matters for the class score y_c: alpha_k = mean over (i, j) of dy_c / dA_k(i, j); the map is
ReLU(sum_k alpha_k A_k), upsampled to the input. Saliency (Simonyan et al. 2014) is the
gradient of the score with respect to the pixels themselves: which pixels, nudged, change
the score most. Both run the model in eval mode and leave its parameters' `.grad` alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..atomic import save_figure
from ..nn.module import Module
from ..tensor import Tensor
from ._figure import new_figure
from ._layers import Recorder, as_batch, conv_layers, find_layer, probing
from .explain_types import ExplainContext, ViewResult


@dataclass
class GradCAM:
    """Every number of one Grad-CAM: the chosen layer's activations A (K, h, w) and the
    gradients of the class score with respect to them, the channel weights alpha (K,), the
    map ReLU(sum_k alpha_k A_k) (h, w), and `heat`: the map upsampled to the input (H, W)
    and divided by its maximum, so 1 is the hottest pixel."""

    layer: str
    target: int
    probabilities: np.ndarray
    activation: np.ndarray
    gradient: np.ndarray
    weights: np.ndarray
    cam: np.ndarray
    heat: np.ndarray


def _class_scores(model: Module, batch: Tensor, who: str) -> Tensor:
    output = model(batch)
    if not isinstance(output, Tensor) or output.ndim != 2:
        shape = output.shape if isinstance(output, Tensor) else type(output).__name__
        raise ValueError(f"{who}: the model must return class scores of shape (1, classes), "
                         f"got {shape}")
    return output


def _backward_from(scores: Tensor, target: int | None, who: str) -> int:
    """Backpropagate the score of `target` (default: the predicted class); returns it."""
    logits = scores.numpy()[0]
    if target is None:
        target = int(np.argmax(logits))
    if not 0 <= target < logits.size:
        raise ValueError(f"{who}: target {target} is out of range for {logits.size} classes")
    one_hot = np.zeros(scores.shape, dtype=scores.dtype)
    one_hot[0, target] = 1.0
    scores.backward(one_hot)
    return target


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def upsample_bilinear(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a map (h, w) -> size, with pixel centres aligned
    (`F.interpolate(..., mode="bilinear", align_corners=False)`): each cell of a coarse
    map covers its own patch of the input, as a conv layer's output pixel does."""
    out = np.asarray(values, dtype=np.float64)
    for axis, n_out in enumerate(size):
        n_in = out.shape[axis]
        position = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, n_in - 1)
        shape = [1, 1]
        shape[axis] = n_out
        frac = (position - low).reshape(shape)
        out = np.take(out, low, axis) * (1 - frac) + np.take(out, high, axis) * frac
    return out


def compute_grad_cam(model: Module, x, target: int | None = None,
                     layer: str | Module | None = None) -> GradCAM:
    """Grad-CAM with all its intermediate numbers (see `GradCAM`).

    x: one image (C, H, W) or (1, C, H, W); target: the class (default: the predicted
    one); layer: a name from `model.named_modules()` or the module itself, whose output is
    (1, K, h, w) (default: the last Conv2d the forward pass runs).
    """
    who = "grad_cam"
    if layer is None:
        watched = conv_layers(model)
        if not watched:
            raise ValueError(f"{who}: {type(model).__name__} has no Conv2d layer; pass layer=")
    else:
        watched = [find_layer(model, layer, who)]
    with probing(model), Recorder(watched) as recorder:
        # the input requires grad so that the graph is recorded with the weights frozen
        batch = as_batch(x, model, who, requires_grad=True)
        scores = _class_scores(model, batch, who)
        if not recorder.order:
            raise ValueError(f"{who}: layer {watched[0][0]!r} did not run in the forward pass")
        name = recorder.order[-1]
        output = recorder.outputs[name]
        if output.ndim != 4:
            raise ValueError(f"{who}: layer {name!r} gives shape {output.shape}; Grad-CAM "
                             "needs a (1, K, h, w) feature map (a conv layer or a block)")
        target = _backward_from(scores, target, who)
    activation = output.detach().numpy()[0].astype(np.float64)
    if output.grad is None:  # the score does not depend on this layer at all
        gradient = np.zeros_like(activation)
    else:
        gradient = output.grad.numpy()[0].astype(np.float64)
    weights = gradient.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(weights, activation, axes=1), 0.0)
    heat = np.maximum(upsample_bilinear(cam, (batch.shape[2], batch.shape[3])), 0.0)
    peak = heat.max()
    heat = heat / peak if peak > 0 else heat
    return GradCAM(name, target, _softmax(scores.numpy()[0].astype(np.float64)), activation,
                   gradient, weights, cam, heat.astype(np.float32))


def grad_cam(model: Module, x, target: int | None = None,
             layer: str | Module | None = None) -> np.ndarray:
    """Grad-CAM heat map of `target` (default: the predicted class) at `layer` (default:
    the last Conv2d): (C, H, W) image -> (H, W) in [0, 1], upsampled to the input size.
    Zero everywhere when no channel speaks for the class."""
    return compute_grad_cam(model, x, target, layer).heat


def saliency(model: Module, x, target: int | None = None) -> np.ndarray:
    """Gradient saliency: (C, H, W) image -> (H, W) = max over channels of
    |d score_target / d x|, unscaled (target default: the predicted class)."""
    who = "saliency"
    with probing(model):
        batch = as_batch(x, model, who, requires_grad=True)
        _backward_from(_class_scores(model, batch, who), target, who)
    if batch.grad is None:
        return np.zeros(batch.shape[2:], dtype=np.float32)
    return np.abs(batch.grad.numpy()[0]).max(axis=0)


def _displayable(image) -> tuple[np.ndarray, str | None]:
    """(H, W) or (H, W, 3) in [0, 1] for imshow, and the colour map it needs."""
    array = image.numpy() if isinstance(image, Tensor) else np.asarray(image)
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 4:
        array = array[0]
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else np.moveaxis(array[:3], 0, -1)
    low, high = array.min(), array.max()
    array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    return array, ("gray" if array.ndim == 2 else None)


def plot_attribution(image, heat: np.ndarray, path: str | os.PathLike | None = None,
                     title: str | None = None, heat_label: str = "attribution"):
    """The input, the heat map and the heat laid over the input, side by side.

    image: (C, H, W), (1, C, H, W) or (H, W); heat: (H, W) (scaled to its maximum for the
    colours). Saved to `path` if given; returns the matplotlib Figure.
    """
    picture, cmap = _displayable(image)
    heat = np.asarray(heat, dtype=np.float64)
    peak = heat.max()
    shown = heat / peak if peak > 0 else heat
    figure = new_figure("plot_attribution", figsize=(10, 3.8), layout="constrained")
    panels = figure.subplots(1, 3)
    panels[0].imshow(picture, cmap=cmap)
    panels[0].set_title("input")
    colours = panels[1].imshow(shown, cmap="inferno", vmin=0, vmax=1)
    panels[1].set_title(f"{heat_label} (1 = its maximum)")
    figure.colorbar(colours, ax=panels[1], fraction=0.046, pad=0.04)
    panels[2].imshow(picture, cmap=cmap)
    panels[2].imshow(shown, cmap="inferno", vmin=0, vmax=1, alpha=0.55)
    panels[2].set_title("overlay: where it looks")
    for axes in panels:
        axes.set_xticks([])
        axes.set_yticks([])
    if title:
        figure.suptitle(title)
    if path is not None:
        save_figure(figure, path, dpi=120)
    return figure


def plot_grad_cam_layers(image, results: list[GradCAM],
                         path: str | os.PathLike | None = None, title: str | None = None):
    """The input and its Grad-CAM at several layers side by side (one `GradCAM` each, for
    the same image and class): the deeper the layer, the coarser and more semantic the
    map. Saved to `path` if given; returns the matplotlib Figure."""
    picture, cmap = _displayable(image)
    figure = new_figure("plot_grad_cam_layers", figsize=(2.6 * (len(results) + 1), 3.1),
                        layout="constrained")
    panels = figure.subplots(1, len(results) + 1, squeeze=False)[0]
    panels[0].imshow(picture, cmap=cmap)
    panels[0].set_title("input\n", fontsize=9)
    for axes, result in zip(panels[1:], results, strict=True):
        k, h, w = result.activation.shape
        axes.imshow(picture, cmap=cmap)
        axes.imshow(result.heat, cmap="inferno", vmin=0, vmax=1, alpha=0.55)
        axes.set_title(f"{result.layer}\n{k} maps of {h}x{w}", fontsize=9)
    for axes in panels:
        axes.set_xticks([])
        axes.set_yticks([])
    if title:
        figure.suptitle(title, fontsize=10)
    if path is not None:
        save_figure(figure, path, dpi=120)
    return figure


def text_map(values: np.ndarray, max_side: int = 16) -> str:
    """A map as rows of digits 0-9 (9 = its maximum), shrunk to at most `max_side` a side:
    the heat map in a terminal."""
    values = np.asarray(values, dtype=np.float64)
    if max(values.shape) > max_side:
        scale = max_side / max(values.shape)
        values = upsample_bilinear(values, (max(1, round(values.shape[0] * scale)),
                                            max(1, round(values.shape[1] * scale))))
    peak = values.max()
    digits = np.rint(9 * values / peak).astype(int) if peak > 0 else np.zeros(values.shape, int)
    return "\n".join("  " + " ".join(str(d) for d in row) for row in digits)


def _class_name(ctx: ExplainContext, index: int) -> str:
    return ctx.class_names[index] if 0 <= index < len(ctx.class_names) else str(index)


def view_gradcam(ctx: ExplainContext) -> ViewResult:
    """The `gradcam` view: Grad-CAM of the predicted class at `ctx.layer` (default: the last
    conv layer) for the image `ctx.index`, as a picture and a digit map."""
    image = ctx.images[ctx.index]
    result = compute_grad_cam(ctx.model, image, layer=ctx.layer)
    predicted = _class_name(ctx, result.target)
    truth = _class_name(ctx, int(ctx.labels[ctx.index]))
    k, h, w = result.activation.shape
    path = ctx.out_dir / "gradcam.png"
    plot_attribution(image, result.heat, path, heat_label="Grad-CAM",
                     title=f"Grad-CAM of layer {result.layer} ({k} maps of {h}x{w}) for class "
                           f"{predicted!r} (p = {result.probabilities[result.target]:.2f}; "
                           f"true class {truth!r})")
    files = [path]
    if ctx.layer is None and len(conv_layers(ctx.model)) > 1:
        layers = [compute_grad_cam(ctx.model, image, result.target, name)
                  for name, _ in conv_layers(ctx.model)]
        files.append(ctx.out_dir / "gradcam_layers.png")
        plot_grad_cam_layers(image, layers, files[-1],
                             title=f"Grad-CAM of class {predicted!r} at every conv layer")
    strongest = np.argsort(-np.abs(result.weights))[:3]
    weights = ", ".join(f"map {c}: {result.weights[c]:+.3g}" for c in strongest)
    text = (f"Grad-CAM, image {ctx.index} (true class {truth!r}), predicted {predicted!r} with "
            f"p = {result.probabilities[result.target]:.3f}\n"
            f"layer {result.layer}: {k} feature maps of {h}x{w}; the weight of each map is the "
            f"mean gradient of the score over it (largest: {weights})\n"
            f"ReLU(sum of weighted maps), {h}x{w}, 9 = the hottest cell:\n"
            f"{text_map(result.cam)}\nwrote {', '.join(str(f) for f in files)}")
    about = ("Grad-CAM weighs each feature map of the chosen layer by how much the class "
             "score grows when that map grows (its average gradient), adds the weighted maps "
             "and keeps the positive part. Bright regions are the parts of the image whose "
             "features argued for the predicted class. The map has the layer's resolution "
             f"({h}x{w}), stretched over the input: deeper layers give coarser maps, "
             "about larger parts of the digit (compare the layers side by side).")
    return ViewResult("gradcam", "Grad-CAM: where the evidence for the class is", text, files,
                      about)


def view_saliency(ctx: ExplainContext) -> ViewResult:
    """The `saliency` view: |d score / d pixel| of the predicted class for image
    `ctx.index`, as a picture and a digit map."""
    image = ctx.images[ctx.index]
    with probing(ctx.model):
        logits = ctx.model(as_batch(image, ctx.model, "saliency")).numpy()[0]
    target = int(np.argmax(logits))
    heat = saliency(ctx.model, image, target)
    predicted = _class_name(ctx, target)
    truth = _class_name(ctx, int(ctx.labels[ctx.index]))
    path = ctx.out_dir / "saliency.png"
    plot_attribution(image, heat, path, heat_label="|d score / d pixel|",
                     title=f"Saliency of class {predicted!r} (true class {truth!r}), "
                           f"image {ctx.index}")
    text = (f"saliency, image {ctx.index} (true class {truth!r}), predicted {predicted!r}\n"
            f"max over channels of |d score / d pixel| (largest {heat.max():.3g}), "
            f"9 = the most sensitive pixel:\n{text_map(heat)}\nwrote {path}")
    about = ("Saliency is the gradient of the class score with respect to each input pixel: "
             "how much the score would change if that pixel alone changed a little. It is "
             "sharp (pixel-level) but noisy; bright pixels are the ones the decision is most "
             "sensitive to, often the strokes that tell this class from its neighbours.")
    return ViewResult("saliency", "Saliency: which pixels the score is sensitive to", text,
                      [path], about)
