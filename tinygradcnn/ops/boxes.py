"""Box ops for detection, with torchvision.ops' names, signatures and semantics.

Boxes are (N, 4) rows ``x1, y1, x2, y2`` with ``x1 <= x2`` and ``y1 <= y2`` (pixels).

    box_iou(boxes1 (N, 4), boxes2 (M, 4))          -> (N, M) IoU matrix
    nms(boxes (N, 4), scores (N,), iou_threshold)   -> int64 indices kept, best score first
    batched_nms(boxes, scores, idxs (N,), thr)      -> the same, suppressing within a class only
    sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none")

IoU and suppression run in kernels on the boxes' device (``kernels/*/boxes.py``); they
carry no gradient, as they decide *which* boxes rather than *how much*. The focal loss is
composed of differentiable ops, so its gradient is the autograd one.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ..autograd import no_grad
from ..backend import kernels_for
from ..tensor import Tensor
from ._checks import float_tensor, one_of, real, shape_is, tensor_arg
from .loss import binary_cross_entropy_with_logits


def _check_boxes(op: str, name: str, boxes) -> Tensor:
    """A float (N, 4) Tensor with x1 <= x2 and y1 <= y2 in every row, else a one-line error."""
    float_tensor(op, name, boxes)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{op}: {name} must be (N, 4) rows x1, y1, x2, y2, got {boxes.shape}")
    values = boxes.detach().numpy()
    bad = np.flatnonzero((values[:, 2] < values[:, 0]) | (values[:, 3] < values[:, 1]))
    if bad.size:
        row = values[bad[0]]
        raise ValueError(f"{op}: {name} row {bad[0]} has x2 < x1 or y2 < y1: "
                         f"{row.tolist()} (boxes are x1, y1, x2, y2; {bad.size} such rows)")
    return boxes


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Intersection over union of every pair: (N, 4), (M, 4) -> (N, M).

    IoU = area(a & b) / (area(a) + area(b) - area(a & b)):
    [0, 0, 2, 2] and [1, 0, 3, 2] overlap in a 1x2 strip, so 2 / (4 + 4 - 2) = 1/3.
    """
    _check_boxes("box_iou", "boxes1", boxes1)
    _check_boxes("box_iou", "boxes2", boxes2)
    if boxes1.device != boxes2.device or boxes1.dtype != boxes2.dtype:
        raise ValueError(f"box_iou: boxes1 ({boxes1.dtype} on {boxes1.device}) and boxes2 "
                         f"({boxes2.dtype} on {boxes2.device}) differ in dtype or device")
    return Tensor._make(kernels_for(boxes1.device).box_iou(boxes1.data, boxes2.data))


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression: (N, 4), (N,) -> (K,) int64 indices of the boxes kept,
    in decreasing score order.

    Boxes are visited best score first; each one still standing removes every later box
    whose IoU with it is above ``iou_threshold`` (strictly, as in torchvision).
    """
    _check_boxes("nms", "boxes", boxes)
    float_tensor("nms", "scores", scores)
    shape_is("nms", "scores", scores, (boxes.shape[0],), f"(one per box of {boxes.shape})")
    threshold = real("nms", "iou_threshold", iou_threshold)
    with no_grad():
        order = scores.detach().argsort(descending=True, stable=True)
        if boxes.shape[0] == 0:
            return order
        ranked = boxes.detach()[order]
        kernels = kernels_for(boxes.device)
        keep = kernels.to_numpy(kernels.nms_keep(ranked.data, threshold))
        return order[np.flatnonzero(keep)]


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """``nms`` within each category: boxes of different ``idxs`` never suppress each other.
    (N, 4), (N,), (N,) int -> (K,) int64 indices, in decreasing score order.

    torchvision's coordinate trick: each category's boxes are shifted by
    ``idx * (max coordinate + 1)``, so boxes of two categories cannot overlap, and one
    ``nms`` does them all.
    """
    _check_boxes("batched_nms", "boxes", boxes)
    tensor_arg("batched_nms", "idxs", idxs)
    if idxs.dtype.kind not in "iu":
        raise TypeError(f"batched_nms: idxs must be an integer tensor, got {idxs.dtype}")
    shape_is("batched_nms", "idxs", idxs, (boxes.shape[0],), f"(one per box of {boxes.shape})")
    if boxes.shape[0] == 0:
        return nms(boxes, scores, iou_threshold)
    with no_grad():
        boxes = boxes.detach()
        largest = cast(Tensor, boxes.max())
        offsets = idxs.to(boxes.dtype) * (largest + 1)
        return nms(boxes + offsets.reshape(-1, 1), scores, iou_threshold)


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25,
                       gamma: float = 2.0, reduction: str = "none") -> Tensor:
    """The focal loss of RetinaNet (Lin et al. 2017) on logits: binary cross-entropy scaled
    by ``(1 - p_t) ** gamma``, so easy, well-classified examples count for little.

        p = sigmoid(inputs),  p_t = p t + (1 - p)(1 - t),  alpha_t = alpha t + (1 - alpha)(1 - t)
        loss = alpha_t * BCE(inputs, t) * (1 - p_t) ** gamma     (no alpha_t when alpha < 0)

    Shapes: inputs (*) logits, targets (*) the same in [0, 1] -> (*) for ``"none"``, () for
    ``"mean"`` and ``"sum"``.
    """
    op = "sigmoid_focal_loss"
    float_tensor(op, "inputs", inputs)
    float_tensor(op, "targets", targets)
    shape_is(op, "targets", targets, inputs.shape, "(the inputs' shape)")
    alpha = real(op, "alpha", alpha)
    gamma = real(op, "gamma", gamma, low=0.0)
    one_of(op, "reduction", reduction, ("none", "mean", "sum"))
    if targets.dtype != inputs.dtype:
        targets = targets.to(inputs.dtype)
    p = inputs.sigmoid()
    ce_loss = binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
