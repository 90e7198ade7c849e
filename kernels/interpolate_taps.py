"""Which input pixels, with which weights, each output row or column of a resize reads.

Interpolation is separable: an output pixel (i, j) reads input rows ``index[:, i]`` with
weights ``weight[:, i]`` and columns likewise, so one table per axis (a few numbers per
output row or column, made here on the host with NumPy) serves both backends' kernels,
which then only gather (forward) or scatter-add (backward). The arithmetic is PyTorch's
(``aten/src/ATen/native/UpSample.h``), in the same precision, so the same output pixel reads
the same input pixels with the same weights:

- ``nearest``: ``src = min(floor(dst * scale), in - 1)`` in float32, ``scale = in / out``
  (or ``1 / scale_factor`` when one was given); out = 2 * in and out = in take the exact
  shortcut. PyTorch's legacy rule: upsampling 3 -> 5 reads rows 0, 0, 1, 1, 2. Its 1-d
  resize takes no shortcut (3 -> 3 at scale 1.1 reads 0, 0, 1): ``nearest-1d`` here.
- ``linear`` copies an axis whose size does not change, whatever the scale factor, as
  PyTorch does (2 -> 2 at scale 1.25 is the identity; ``nearest-exact`` does not copy).
- ``nearest-exact``: ``src = min(floor((dst + 0.5) * scale), in - 1)`` (pixel centres).
- ``linear``: with ``align_corners=False`` pixel centres line up, ``src = scale * (dst + 0.5)
  - 0.5`` clamped at 0, ``scale = in / out`` (or ``1 / scale_factor``); with
  ``align_corners=True`` the corner pixels line up, ``src = dst * (in - 1) / (out - 1)``.
  The two taps are ``floor(src)`` and the next pixel (the same one at the last row), with
  weights ``1 - frac`` and ``frac``. Worked example, 2 -> 4, align_corners=False: scale 0.5,
  src = -0.25 (clamped to 0), 0.25, 0.75, 1.25, so out = [x0, 0.75 x0 + 0.25 x1,
  0.25 x0 + 0.75 x1, x1].
"""

from __future__ import annotations

import numpy as np

MODES = ("nearest", "nearest-1d", "nearest-exact", "linear")


def axis_taps(mode: str, in_size: int, out_size: int, scale_factor: float | None,
              align_corners: bool, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(index (2, out_size) int64, weight (2, out_size) of ``dtype``) for one axis.

    ``scale_factor`` is the one the caller gave (None when the size was given), which
    PyTorch uses in place of ``in / out``; nearest modes use only ``index[0]``."""
    dst = np.arange(out_size, dtype=np.int64)
    index = np.empty((2, out_size), dtype=np.int64)
    weight = np.zeros((2, out_size), dtype=dtype)
    if mode == "linear":
        real = np.dtype(dtype).type  # PyTorch's opmath: float32 for float32, else float64
        if out_size == in_size:
            scale_factor = None  # the copy (2 -> 2 at 1.25 would read 0.3 x0 + 0.7 x1 at 1)
        scale = _linear_scale(in_size, out_size, scale_factor, align_corners, real)
        if align_corners:
            src = scale * dst.astype(real)
        else:
            src = scale * (dst.astype(real) + real(0.5)) - real(0.5)
            src = np.maximum(src, real(0))
        first = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
        frac = np.clip(src - first.astype(real), real(0), real(1))
        index[0] = first
        index[1] = first + (first < in_size - 1)
        weight[0] = real(1) - frac
        weight[1] = frac
        return index, weight
    index[0] = _nearest(mode, dst, in_size, out_size, scale_factor)
    index[1] = index[0]
    weight[0] = 1
    return index, weight


def _linear_scale(in_size, out_size, scale_factor, align_corners, real):
    if align_corners:
        return real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0)
    return _scale(in_size, out_size, scale_factor, real)


def _scale(in_size, out_size, scale_factor, real):
    if scale_factor is not None and scale_factor > 0:
        return real(1.0 / scale_factor)
    return real(in_size) / real(out_size)


def _nearest(mode, dst, in_size, out_size, scale_factor):
    # PyTorch computes nearest indices in float32 for every dtype
    scale = _scale(in_size, out_size, scale_factor, np.float32)
    if mode == "nearest-1d":
        src = dst.astype(np.float32) * scale
    elif mode == "nearest":
        if out_size == in_size:
            return dst
        if out_size == 2 * in_size:
            return dst >> 1
        src = dst.astype(np.float32) * scale
    else:  # nearest-exact: (dst + 0.5) in double, times the float scale, rounded to float
        src = ((dst + 0.5) * np.float64(scale)).astype(np.float32)
    return np.minimum(np.floor(src).astype(np.int64), in_size - 1)
