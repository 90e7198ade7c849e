"""Batch augmentation kernels (CPU, Numba): one affine warp, a flip, a padded crop and an
erased rectangle.

All entry points take a contiguous (N, C, H, W) float32/float64 array and return a new array
of the same dtype; the per-image random parameters (matrices, flags, offsets) are drawn by
the caller (`tinygradcnn/data/transforms.py`), so these kernels are deterministic and the
CUDA twins in `kernels/cuda/augment.py` can reproduce them exactly.

Coordinates: pixel (row i, column j) has its centre at (x=j, y=i).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .. import shared
from .launch import device_function, threaded

_bilinear_sample = device_function(shared.bilinear_sample)


def affine_warp(
    images: np.ndarray,
    matrices: np.ndarray,
    out_shape: tuple[int, int] | None = None,
    fill: float = 0.0,
) -> np.ndarray:
    """Resample every image through its own affine map, with bilinear interpolation.

    (N, C, H, W), matrices (N, 2, 3) -> (N, C, out_h, out_w). The matrix maps an *output*
    pixel to the *input* point it reads (the inverse of the visible motion):

        [x_in, y_in] = M @ [j_out, i_out, 1]

    so the identity [[1, 0, 0], [0, 1, 0]] copies the image, and [[1, 0, -2], [0, 1, 0]]
    moves the content 2 pixels to the right. Input points outside the image read `fill`
    (each of the four bilinear neighbours separately, so edges fade rather than clamp).
    One warp serves rotation, scaling, shearing, translation and resizing.
    """
    n, channels, height, width = images.shape
    out_h, out_w = (height, width) if out_shape is None else out_shape
    out = np.empty((n, channels, out_h, out_w), dtype=images.dtype)
    matrices = np.ascontiguousarray(matrices, dtype=np.float64).reshape(n, 2, 3)
    _affine_warp_kernel(images, matrices, float(fill), out)
    return out


@threaded
def _affine_warp_kernel(images, matrices, fill, out):
    n, channels = images.shape[:2]
    out_h, out_w = out.shape[2], out.shape[3]
    # one (image, output row) per iteration: enough work items for both cores at any N
    for item in prange(n * out_h):
        b = item // out_h
        i = item % out_h
        m00, m01, m02 = matrices[b, 0, 0], matrices[b, 0, 1], matrices[b, 0, 2]
        m10, m11, m12 = matrices[b, 1, 0], matrices[b, 1, 1], matrices[b, 1, 2]
        for j in range(out_w):
            x = m00 * j + m01 * i + m02
            y = m10 * j + m11 * i + m12
            for c in range(channels):
                out[b, c, i, j] = _bilinear_sample(images, b, c, x, y, fill)


def horizontal_flip(images: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Mirror left-right the images whose flag is set. (N, C, H, W), flags (N,) -> (N, C, H, W)."""
    out = np.empty_like(images)
    _horizontal_flip_kernel(images, np.ascontiguousarray(flags, dtype=np.bool_), out)
    return out


@threaded
def _horizontal_flip_kernel(images, flags, out):
    n, channels, height, width = images.shape
    for b in prange(n):
        for c in range(channels):
            for i in range(height):
                if flags[b]:
                    for j in range(width):
                        out[b, c, i, j] = images[b, c, i, width - 1 - j]
                else:
                    for j in range(width):
                        out[b, c, i, j] = images[b, c, i, j]


def crop(
    images: np.ndarray,
    offsets: np.ndarray,
    out_shape: tuple[int, int],
    padding: int = 0,
    fill: float = 0.0,
) -> np.ndarray:
    """Cut an (out_h, out_w) window from each image after (virtually) padding it.

    (N, C, H, W), offsets (N, 2) int (top, left in the padded image) -> (N, C, out_h, out_w).
    The padding is never materialised: a read outside the original image returns `fill`.
    """
    n, channels = images.shape[:2]
    out = np.empty((n, channels, out_shape[0], out_shape[1]), dtype=images.dtype)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64).reshape(n, 2)
    _crop_kernel(images, offsets, int(padding), float(fill), out)
    return out


@threaded
def _crop_kernel(images, offsets, padding, fill, out):
    n, channels, height, width = images.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for b in prange(n):
        top = offsets[b, 0] - padding
        left = offsets[b, 1] - padding
        for c in range(channels):
            for i in range(out_h):
                y = top + i
                row_inside = 0 <= y < height
                for j in range(out_w):
                    x = left + j
                    if row_inside and 0 <= x < width:
                        out[b, c, i, j] = images[b, c, y, x]
                    else:
                        out[b, c, i, j] = fill


def erase(images: np.ndarray, boxes: np.ndarray, value: float = 0.0) -> np.ndarray:
    """Fill one rectangle of each image, every channel, with `value`.

    (N, C, H, W), boxes (N, 4) int (top, left, height, width; height 0: the image is left
    as it is) -> (N, C, H, W). The boxes lie inside their images (the caller draws them)."""
    out = np.empty_like(images)
    boxes = np.ascontiguousarray(boxes, dtype=np.int64).reshape(images.shape[0], 4)
    _erase_kernel(images, boxes, float(value), out)
    return out


@threaded
def _erase_kernel(images, boxes, value, out):
    n, channels, height, width = images.shape
    for b in prange(n):
        top, left = boxes[b, 0], boxes[b, 1]
        bottom, right = top + boxes[b, 2], left + boxes[b, 3]
        for c in range(channels):
            for i in range(height):
                inside_rows = top <= i < bottom
                for j in range(width):
                    if inside_rows and left <= j < right:
                        out[b, c, i, j] = value
                    else:
                        out[b, c, i, j] = images[b, c, i, j]
