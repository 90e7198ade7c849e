"""Batch augmentation kernels on the GPU: one affine warp, a flip, a padded crop and an
erased rectangle.

The twins of ``kernels/cpu/augment.py`` (same arguments, same coordinates, same results).
The per-image parameters (matrices, flags, offsets) are drawn on the host by the caller and
are tiny (a few numbers per image); they are copied to the device here when given as NumPy
arrays. Each kernel is a grid-stride loop over output pixels: one thread computes one output
pixel ``(b, i, j)`` for every channel, so the sample position and bilinear weights are worked
out once per pixel, and neighbouring threads write neighbouring columns (coalesced).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .. import shared
from .launch import device_function, grid_1d

_bilinear_sample = device_function(shared.bilinear_sample)


@cuda.jit(device=True, cache=True)
def _unravel(k, channels, height, width):
    """(b, c, i, j) of flat index k in a contiguous (N, channels, height, width) array."""
    return (k // (width * height * channels), (k // (width * height)) % channels,
            (k // width) % height, k % width)


def _on_device(array, dtype):
    if isinstance(array, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(array, dtype=dtype))
    return array


def affine_warp(images, matrices, out_shape: tuple[int, int] | None = None, fill: float = 0.0):
    """Resample every image through its own affine map, with bilinear interpolation.

    (N, C, H, W), matrices (N, 2, 3) -> (N, C, out_h, out_w); ``[x_in, y_in] = M @ [j, i, 1]``
    (see the CPU twin for the conventions).
    """
    n, channels, height, width = images.shape
    out_h, out_w = (height, width) if out_shape is None else out_shape
    out = cuda.device_array((n, channels, out_h, out_w), dtype=images.dtype)
    matrices = _on_device(matrices, np.float64).reshape(n, 2, 3)
    if out.size:
        blocks, threads = grid_1d(n * out_h * out_w)
        _affine_warp_kernel[blocks, threads](images, matrices, float(fill), out)
    return out


@cuda.jit(cache=True)
def _affine_warp_kernel(images, matrices, fill, out):
    """One thread per output pixel (b, i, j): its source point, then every channel's value."""
    n, channels = images.shape[:2]
    out_h, out_w = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for pixel in range(start, n * out_h * out_w, stride):
        b = pixel // (out_h * out_w)
        i = (pixel // out_w) % out_h
        j = pixel % out_w
        x = matrices[b, 0, 0] * j + matrices[b, 0, 1] * i + matrices[b, 0, 2]
        y = matrices[b, 1, 0] * j + matrices[b, 1, 1] * i + matrices[b, 1, 2]
        for c in range(channels):
            out[b, c, i, j] = _bilinear_sample(images, b, c, x, y, fill)


def horizontal_flip(images, flags):
    """Mirror left-right the images whose flag is set. (N, C, H, W), flags (N,) -> (N, C, H, W)."""
    out = cuda.device_array_like(images)
    flags = _on_device(flags, np.bool_)
    if images.size:
        blocks, threads = grid_1d(images.size)
        _horizontal_flip_kernel[blocks, threads](images, flags, out)
    return out


@cuda.jit(cache=True)
def _horizontal_flip_kernel(images, flags, out):
    """One thread per output element (b, c, i, j): reads column ``W - 1 - j`` when flipped."""
    n, channels, height, width = images.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, images.size, stride):
        b, c, i, j = _unravel(k, channels, height, width)
        out[b, c, i, j] = images[b, c, i, width - 1 - j] if flags[b] else images[b, c, i, j]


def crop(images, offsets, out_shape: tuple[int, int], padding: int = 0, fill: float = 0.0):
    """Cut an (out_h, out_w) window from each image after (virtually) padding it.

    (N, C, H, W), offsets (N, 2) int (top, left in the padded image) -> (N, C, out_h, out_w).
    """
    n, channels = images.shape[:2]
    out = cuda.device_array((n, channels, out_shape[0], out_shape[1]), dtype=images.dtype)
    offsets = _on_device(offsets, np.int64).reshape(n, 2)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _crop_kernel[blocks, threads](images, offsets, int(padding), float(fill), out)
    return out


@cuda.jit(cache=True)
def _crop_kernel(images, offsets, padding, fill, out):
    """One thread per output element: the shifted input element, or ``fill`` outside."""
    n, channels, height, width = images.shape
    out_h, out_w = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        b, c, i, j = _unravel(k, channels, out_h, out_w)
        y = offsets[b, 0] - padding + i
        x = offsets[b, 1] - padding + j
        if 0 <= y < height and 0 <= x < width:
            out[b, c, i, j] = images[b, c, y, x]
        else:
            out[b, c, i, j] = fill


def erase(images, boxes, value: float = 0.0):
    """Fill one rectangle of each image, every channel, with `value`.

    (N, C, H, W), boxes (N, 4) int (top, left, height, width; height 0: the image is left
    as it is) -> (N, C, H, W)."""
    out = cuda.device_array_like(images)
    boxes = _on_device(boxes, np.int64).reshape(images.shape[0], 4)
    if images.size:
        blocks, threads = grid_1d(images.size)
        _erase_kernel[blocks, threads](images, boxes, float(value), out)
    return out


@cuda.jit(cache=True)
def _erase_kernel(images, boxes, value, out):
    """One thread per element: ``value`` inside the image's box, the input elsewhere."""
    n, channels, height, width = images.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, images.size, stride):
        b, c, i, j = _unravel(k, channels, height, width)
        top, left = boxes[b, 0], boxes[b, 1]
        if top <= i < top + boxes[b, 2] and left <= j < left + boxes[b, 3]:
            out[b, c, i, j] = value
        else:
            out[b, c, i, j] = images[b, c, i, j]
