"""Boxes on the GPU: the pairwise IoU matrix and non-maximum suppression.

Boxes are (N, 4) rows x1, y1, x2, y2; the IoU of one pair is ``shared.box_pair_iou``, the
same arithmetic as the CPU's. Suppression is torchvision's: a kernel writes, for each box i,
a bit mask of the later boxes it overlaps by more than the threshold (64 boxes a word);
the greedy pass over those masks, which is serial by nature, runs on the host and only ORs
words, so no IoU is computed twice.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import shared
from .launch import device_function, grid_1d

_pair_iou = device_function(shared.box_pair_iou)
BITS = 64


@cuda.jit(cache=True)
def _box_iou_kernel(boxes1, boxes2, out):
    """One thread computes out[i, j], the IoU of boxes1[i] and boxes2[j]."""
    m = boxes2.shape[0]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for task in range(start, boxes1.shape[0] * m, stride):
        i, j = task // m, task % m
        out[i, j] = _pair_iou(boxes1, i, boxes2, j)


def box_iou(boxes1, boxes2):
    """IoU of every pair: (N, 4), (M, 4) -> (N, M), in the boxes' dtype.

    [[0, 0, 2, 2]] against [[1, 0, 3, 2]]: intersection 2, union 6 -> [[0.3333]].
    """
    out = cuda.device_array((boxes1.shape[0], boxes2.shape[0]), dtype=boxes1.dtype)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _box_iou_kernel[blocks, threads](boxes1, boxes2, out)
    return out


@cuda.jit(cache=True)
def _nms_mask_kernel(boxes, iou_threshold, mask):
    """One thread fills word w of row i: bit b is set when box j = 64 w + b comes after box i
    and overlaps it by more than the threshold."""
    n, words = boxes.shape[0], mask.shape[1]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for task in range(start, n * words, stride):
        i, w = task // words, task % words
        bits = np.uint64(0)
        for b in range(BITS):
            j = w * BITS + b
            if i < j < n and _pair_iou(boxes, i, boxes, j) > iou_threshold:
                bits |= np.uint64(1) << np.uint64(b)
        mask[i, w] = bits


def nms_keep(sorted_boxes, iou_threshold: float):
    """Greedy suppression over boxes sorted best first: (N, 4) -> (N,) bool, True where a box
    is kept. Box j is dropped when its IoU with a kept box i < j is above the threshold."""
    n = sorted_boxes.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    if n:
        words = (n + BITS - 1) // BITS
        mask = cuda.device_array((n, words), dtype=np.uint64)
        blocks, threads = grid_1d(n * words)
        _nms_mask_kernel[blocks, threads](sorted_boxes, float(iou_threshold), mask)
        overlaps = mask.copy_to_host()
        removed = np.zeros(words, dtype=np.uint64)
        for i in range(n):
            if not (int(removed[i // BITS]) >> (i % BITS)) & 1:
                keep[i] = True
                removed |= overlaps[i]
    return cuda.to_device(keep)
