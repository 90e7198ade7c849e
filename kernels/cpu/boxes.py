"""Boxes on the CPU: the pairwise IoU matrix and greedy non-maximum suppression.

Boxes are (N, 4) rows x1, y1, x2, y2; the IoU of one pair is ``shared.box_pair_iou``, the
same arithmetic as the GPU's. Suppression is serial by nature (whether box j survives
depends on every earlier survivor), so it runs on one thread and computes each IoU only
when it decides something: against a box that is still kept.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import shared
from .launch import device_function, threaded

_pair_iou = device_function(shared.box_pair_iou)


@threaded
def _box_iou_kernel(boxes1, boxes2, out):
    for i in prange(boxes1.shape[0]):
        for j in range(boxes2.shape[0]):
            out[i, j] = _pair_iou(boxes1, i, boxes2, j)


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """IoU of every pair: (N, 4), (M, 4) -> (N, M), in the boxes' dtype.

    [[0, 0, 2, 2]] against [[1, 0, 3, 2]]: intersection 2, union 6 -> [[0.3333]].
    """
    out = np.empty((boxes1.shape[0], boxes2.shape[0]), dtype=boxes1.dtype)
    if out.size:
        _box_iou_kernel(boxes1, boxes2, out)
    return out


@njit(cache=True, error_model="numpy")
def _nms_kernel(boxes, iou_threshold, keep):
    for i in range(boxes.shape[0]):
        keep[i] = True
    for i in range(boxes.shape[0]):
        if not keep[i]:
            continue
        for j in range(i + 1, boxes.shape[0]):
            if keep[j] and _pair_iou(boxes, i, boxes, j) > iou_threshold:
                keep[j] = False


def nms_keep(sorted_boxes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy suppression over boxes sorted best first: (N, 4) -> (N,) bool, True where a box
    is kept. Box j is dropped when its IoU with a kept box i < j is above the threshold."""
    keep = np.empty(sorted_boxes.shape[0], dtype=np.bool_)
    if keep.size:
        _nms_kernel(sorted_boxes, float(iou_threshold), keep)
    return keep
