"""Differentiable ops, grouped by family; each Function's forward and backward sit together."""

from .boxes import batched_nms as batched_nms
from .boxes import box_iou as box_iou
from .boxes import nms as nms
from .boxes import sigmoid_focal_loss as sigmoid_focal_loss
