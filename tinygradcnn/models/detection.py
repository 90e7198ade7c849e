"""A single-stage detector: CenterNet ("Objects as Points", Zhou et al. 2019), small.

Why CenterNet for 64x64 canvases of digits: an object is its centre point on a stride-4
grid plus a width and height, so there are no anchors to design and match, the decoding is
a 3x3 max-pool over a heat map (a peak is a detection; NMS becomes optional), and the head is
three 1x1 convolutions on one shared feature map. Objects of 14-28 pixels are 3.5-7 cells of
the 16x16 grid: one scale is enough, no feature pyramid.

    image (N, 1, 64, 64) in [0, 1]
      -> (x - mean) / std
      -> backbone: conv3x3/2  1->w        32x32    (conv, batch norm, ReLU each)
                   conv3x3    w->2w       32x32
                   conv3x3/2  2w->4w      16x16
                   conv3x3    4w->4w      16x16    x `depth` (receptive field >= 37 px)
      -> neck:     conv3x3    4w->4w      16x16
      -> heads (1x1 convs):  heatmap  (N, num_classes, 16, 16)  logits of "a centre here"
                             size     (N, 2, 16, 16)            w, h in cells
                             offset   (N, 2, 16, 16)            centre - cell corner, in cells

Training (`model(images, targets)` in train mode) returns torchvision's dict of losses:
`loss_heatmap` (CenterNet's penalty-reduced focal loss against Gaussian bumps, over the
number of objects), `loss_size` (L1 at the centres, weight 0.1) and `loss_offset` (L1,
weight 1). `predict(images)` decodes: peaks of the heat map (3x3 max pool), the top
`max_detections`, boxes from size and offset, then per-class NMS when `iou_threshold` is set.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..nn import functional as F
from ..ops.boxes import batched_nms
from ..tensor import Tensor
from .registry import register_model

STRIDE = 4


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv (no bias: the batch norm has one), batch norm, ReLU; (N, C, H, W) ->
    (N, out, H / stride, W / stride)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius: how far a corner may move so that the box still has IoU >=
    `min_overlap` with the true one (the smallest of three cases' roots)."""
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4.0, 2 * (height + width), (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def encode_targets(targets: list[dict[str, Any]], num_classes: int, grid: int
                   ) -> dict[str, np.ndarray]:
    """torchvision-style targets -> CenterNet's training targets on a `grid` x `grid` map.

    Returns `heatmap` (N, num_classes, G, G) Gaussian bumps peaking at 1 on each centre cell,
    `index` (M,) the flat position n * G * G + y * G + x of each of the M objects' centre,
    `size` (M, 2) w, h and `offset` (M, 2) the centre's fraction of its cell, in cells."""
    heatmap = np.zeros((len(targets), num_classes, grid, grid), np.float32)
    index, size, offset = [], [], []
    ys, xs = np.mgrid[0:grid, 0:grid]
    for n, target in enumerate(targets):
        boxes = np.asarray(_numpy(target["boxes"]), np.float64).reshape(-1, 4) / STRIDE
        labels = np.asarray(_numpy(target["labels"]), np.int64).reshape(-1)
        for (x1, y1, x2, y2), label in zip(boxes, labels, strict=True):
            if not 0 <= label < num_classes:
                raise ValueError(f"CenterNet: target label {label} is not in [0, {num_classes})")
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            cell_x, cell_y = min(int(cx), grid - 1), min(int(cy), grid - 1)
            radius = max(0, int(gaussian_radius(y2 - y1, x2 - x1)))
            sigma = (2 * radius + 1) / 6
            bump = np.exp(-((xs - cell_x) ** 2 + (ys - cell_y) ** 2) / (2 * sigma ** 2))
            bump[np.maximum(abs(xs - cell_x), abs(ys - cell_y)) > radius] = 0
            np.maximum(heatmap[n, label], bump, out=heatmap[n, label])
            index.append((n * grid + cell_y) * grid + cell_x)
            size.append((x2 - x1, y2 - y1))
            offset.append((cx - cell_x, cy - cell_y))
    return {"heatmap": heatmap, "index": np.asarray(index, np.int64),
            "size": np.asarray(size, np.float32).reshape(-1, 2),
            "offset": np.asarray(offset, np.float32).reshape(-1, 2)}


def _numpy(value) -> np.ndarray:
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def centernet_heatmap_loss(logits: Tensor, heatmap: np.ndarray, num_objects: int) -> Tensor:
    """CenterNet's focal loss on the heat map, over the number of objects:

        y = 1:  -(1 - p)^2 log p            (a centre: the focal loss, gamma = 2)
        y < 1:  -(1 - y)^4 p^2 log(1 - p)   (near a centre y is high: little penalty)

    with p = sigmoid(logits); log p and log(1 - p) come from the logits (stable)."""
    def constant(array: np.ndarray) -> Tensor:
        return Tensor(array.astype(heatmap.dtype), device=logits.device)

    positive = constant(heatmap == 1)
    negative_weight = constant((1 - heatmap) ** 4 * (heatmap < 1))
    p = logits.sigmoid()
    # BCE against all ones is -log p, against all zeros -log(1 - p), both from the logits
    minus_log_p = F.binary_cross_entropy_with_logits(logits, constant(np.ones_like(heatmap)),
                                                     reduction="none")
    minus_log_not_p = F.binary_cross_entropy_with_logits(
        logits, constant(np.zeros_like(heatmap)), reduction="none")
    loss = positive * (1 - p) ** 2 * minus_log_p + negative_weight * p ** 2 * minus_log_not_p
    return loss.sum() / max(num_objects, 1)


class CenterNet(nn.Module):
    """CenterNet on a small conv backbone (see the module docstring for the diagram).

    Args:
        num_classes: object classes (heat map channels).
        width: channels of the first conv; the backbone widens to 2 and 4 x width.
        depth: 3x3 convs at stride 4 (each adds 8 px to the receptive field).
        in_channels: 1 for grey canvases.
        mean, std: the normalisation applied inside, to images in [0, 1].
        size_weight, offset_weight: weights of the L1 losses (CenterNet's 0.1 and 1).

    `model(images)` -> {"heatmap", "size", "offset"} the raw head outputs, (N, C|2|2, H/4,
    W/4); `model(images, targets)` in training mode -> {"loss_heatmap", "loss_size",
    "loss_offset"}; `predict(images)` -> one {"boxes", "scores", "labels"} dict per image.
    """

    def __init__(self, num_classes: int = 10, width: int = 16, depth: int = 3,
                 in_channels: int = 1, mean: float = 0.1, std: float = 0.3,
                 size_weight: float = 0.1, offset_weight: float = 1.0) -> None:
        super().__init__()
        layers = [conv_bn_relu(in_channels, width, 2), conv_bn_relu(width, 2 * width),
                  conv_bn_relu(2 * width, 4 * width, 2)]
        layers += [conv_bn_relu(4 * width, 4 * width) for _ in range(depth)]
        self.backbone = nn.Sequential(*layers)
        self.neck = conv_bn_relu(4 * width, 4 * width)
        self.heatmap = nn.Conv2d(4 * width, num_classes, 1)
        self.size = nn.Conv2d(4 * width, 2, 1)
        self.offset = nn.Conv2d(4 * width, 2, 1)
        with no_grad():  # start every cell at p = 0.1, as CenterNet: few cells hold a centre
            self.heatmap.bias.fill_(-2.19)
        self.num_classes, self.mean, self.std = num_classes, float(mean), float(std)
        self.size_weight, self.offset_weight = float(size_weight), float(offset_weight)

    def heads(self, images: Tensor) -> dict[str, Tensor]:
        """(N, C_in, H, W) in [0, 1] -> the three head outputs at stride 4."""
        if images.ndim != 4 or images.shape[2] % STRIDE or images.shape[3] % STRIDE:
            raise ValueError(f"CenterNet: images must be (N, C, H, W) with H and W multiples "
                             f"of {STRIDE}, got {images.shape}")
        features = self.neck(self.backbone((images - self.mean) / self.std))
        return {"heatmap": self.heatmap(features), "size": self.size(features),
                "offset": self.offset(features)}

    def forward(self, images: Tensor, targets: list[dict[str, Any]] | None = None):
        outputs = self.heads(images)
        if targets is None:
            return outputs
        if not self.training:
            raise ValueError("CenterNet: targets are for training mode; call predict() or "
                             "model(images) in eval mode")
        if len(targets) != images.shape[0]:
            raise ValueError(f"CenterNet: {len(targets)} targets for {images.shape[0]} images")
        return self.losses(outputs, targets)

    def losses(self, outputs: dict[str, Tensor], targets: list[dict[str, Any]]
               ) -> dict[str, Tensor]:
        """The three losses of `outputs` (from `heads`) against torchvision-style targets."""
        heatmap = outputs["heatmap"]
        grid = heatmap.shape[2]
        if heatmap.shape[3] != grid:
            raise ValueError(f"CenterNet: training needs square images, got {heatmap.shape}")
        encoded = encode_targets(targets, self.num_classes, grid)
        count = int(encoded["index"].size)
        loss_heatmap = centernet_heatmap_loss(heatmap, encoded["heatmap"], count)
        if count == 0:
            zero = heatmap.sum() * 0
            return {"loss_heatmap": loss_heatmap, "loss_size": zero, "loss_offset": zero}
        device = heatmap.device

        def at_centres(map_: Tensor) -> Tensor:  # (N, 2, G, G) -> (M, 2) at each object
            return map_.permute(0, 2, 3, 1).reshape(-1, 2)[encoded["index"]]

        size = F.l1_loss(at_centres(outputs["size"]), Tensor(encoded["size"], device=device))
        offset = F.l1_loss(at_centres(outputs["offset"]),
                           Tensor(encoded["offset"], device=device))
        return {"loss_heatmap": loss_heatmap, "loss_size": self.size_weight * size,
                "loss_offset": self.offset_weight * offset}

    def predict(self, images: Tensor, score_threshold: float = 0.3,
                iou_threshold: float | None = 0.5, max_detections: int = 100
                ) -> list[dict[str, Tensor]]:
        """Detections in images (N, C, H, W) in [0, 1]: per image {"boxes" (K, 4) float32
        x1, y1, x2, y2 in pixels, "scores" (K,), "labels" (K,) int64}, best score first.

        Peaks of the heat map (cells equal to their 3x3 max) above `score_threshold`, at most
        `max_detections`; then per-class NMS at `iou_threshold` (None: the peaks as they are).
        The model is put in eval mode for the pass and put back as it was."""
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                outputs = self.heads(images)
                heat = outputs["heatmap"].sigmoid()
                peaks = F.max_pool2d(heat, 3, stride=1, padding=1)
                heat_np, peaks_np = heat.numpy(), peaks.numpy()
                size_np, offset_np = outputs["size"].numpy(), outputs["offset"].numpy()
        finally:
            self.train(was_training)
        height, width = images.shape[2], images.shape[3]
        results = []
        for n in range(heat_np.shape[0]):
            found = decode(heat_np[n], peaks_np[n], size_np[n], offset_np[n], score_threshold,
                           max_detections, (height, width))
            result = {key: Tensor(value, device=images.device) for key, value in found.items()}
            if iou_threshold is not None and found["scores"].size:
                keep = batched_nms(result["boxes"], result["scores"], result["labels"],
                                   iou_threshold)
                result = {key: value[keep] for key, value in result.items()}
            results.append(result)
        return results


def decode(heat: np.ndarray, peaks: np.ndarray, size: np.ndarray, offset: np.ndarray,
           score_threshold: float, max_detections: int, image_size: tuple[int, int]
           ) -> dict[str, np.ndarray]:
    """One image's heads (C, G, G), (C, G, G) pooled, (2, G, G), (2, G, G) -> boxes, scores,
    labels (best first) of the cells that are a local maximum above the threshold."""
    is_peak = (heat == peaks) & (heat > score_threshold)
    labels, ys, xs = np.nonzero(is_peak)
    scores = heat[labels, ys, xs]
    order = np.argsort(-scores, kind="stable")[:max_detections]
    labels, ys, xs, scores = labels[order], ys[order], xs[order], scores[order]
    cx, cy = xs + offset[0, ys, xs], ys + offset[1, ys, xs]
    w, h = np.maximum(size[0, ys, xs], 0), np.maximum(size[1, ys, xs], 0)
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) * STRIDE
    boxes = np.clip(boxes, 0, [image_size[1], image_size[0], image_size[1], image_size[0]])
    return {"boxes": boxes.astype(np.float32).reshape(-1, 4), "scores": scores.astype(np.float32),
            "labels": labels.astype(np.int64)}


@register_model("centernet", input_size=(1, 64, 64))
def centernet(*, num_classes: int = 10, width: int = 16, depth: int = 3, **kwargs) -> CenterNet:
    """CenterNet for the detection canvases: 64x64 grey images, 10 classes, stride 4."""
    return CenterNet(num_classes=num_classes, width=width, depth=depth, **kwargs)
