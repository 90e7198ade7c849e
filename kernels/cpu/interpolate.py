"""Resizing by interpolation (CPU, Numba): the kernels of ``F.interpolate``.

Both entry points take an (N, C, H, W) array and, per axis, a mode ("nearest",
"nearest-exact" or "linear"; a 1-d resize is a 2-d one whose rows are left alone), the
scale factor the caller gave (or None) and ``align_corners``. The taps (which input rows
and columns each output row and column reads, and their weights) come from
``kernels/interpolate_taps.py``, shared with the CUDA twins in ``kernels/cuda/interpolate.py``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ..interpolate_taps import axis_taps
from .launch import threaded

Pair = tuple


def _taps(modes: Pair, in_size: Pair, out_size: Pair, scales: Pair, align_corners: bool,
          dtype):
    rows = axis_taps(modes[0], in_size[0], out_size[0], scales[0], align_corners, dtype)
    cols = axis_taps(modes[1], in_size[1], out_size[1], scales[1], align_corners, dtype)
    return (*rows, *cols, modes[0] == "linear", modes[1] == "linear")


def interpolate_forward(x: np.ndarray, out_size: Pair, modes: Pair, scales: Pair,
                        align_corners: bool) -> np.ndarray:
    """Resize every plane: (N, C, H, W) -> (N, C, out_h, out_w).

    out[i, j] = sum over taps a, b of row_weight[a, i] * col_weight[b, j] *
    x[row_index[a, i], col_index[b, j]] (a nearest axis has one tap of weight 1)."""
    n, channels, height, width = x.shape
    out = np.empty((n, channels, *out_size), dtype=x.dtype)
    taps = _taps(modes, (height, width), out_size, scales, align_corners, x.dtype)
    if out.size:
        _interpolate_kernel(x.reshape(n * channels, height, width),
                            out.reshape(n * channels, *out_size), *taps)
    return out


@threaded
def _interpolate_kernel(x, out, row_index, row_weight, col_index, col_weight, linear_rows,
                        linear_cols):
    planes, out_h, out_w = out.shape
    # one (plane, output row) per iteration: enough work for both cores at any batch size
    for item in prange(planes * out_h):
        p = item // out_h
        i = item % out_h
        r0, r1 = row_index[0, i], row_index[1, i]
        for j in range(out_w):
            c0, c1 = col_index[0, j], col_index[1, j]
            if linear_cols:
                top = col_weight[0, j] * x[p, r0, c0] + col_weight[1, j] * x[p, r0, c1]
            else:
                top = x[p, r0, c0]
            if linear_rows:
                if linear_cols:
                    bottom = col_weight[0, j] * x[p, r1, c0] + col_weight[1, j] * x[p, r1, c1]
                else:
                    bottom = x[p, r1, c0]
                out[p, i, j] = row_weight[0, i] * top + row_weight[1, i] * bottom
            else:
                out[p, i, j] = top


def interpolate_backward_input(grad: np.ndarray, in_size: Pair, modes: Pair, scales: Pair,
                               align_corners: bool) -> np.ndarray:
    """dL/dx (N, C, H, W) from dL/dout (N, C, out_h, out_w): each output gradient is added to
    the input pixels it was read from, times their weights."""
    n, channels, out_h, out_w = grad.shape
    grad_x = np.zeros((n, channels, *in_size), dtype=grad.dtype)
    taps = _taps(modes, in_size, (out_h, out_w), scales, align_corners, grad.dtype)
    if grad.size:
        _interpolate_backward_kernel(grad.reshape(n * channels, out_h, out_w),
                                     grad_x.reshape(n * channels, *in_size), *taps)
    return grad_x


@threaded
def _interpolate_backward_kernel(grad, grad_x, row_index, row_weight, col_index, col_weight,
                                 linear_rows, linear_cols):
    planes, out_h, out_w = grad.shape
    # one plane per iteration: output pixels of one plane add into the same input pixels,
    # so a plane is never split between threads
    for p in prange(planes):
        for i in range(out_h):
            r0, r1 = row_index[0, i], row_index[1, i]
            wr0 = row_weight[0, i]  # 1 on a nearest axis
            for j in range(out_w):
                g = grad[p, i, j]
                c0, c1 = col_index[0, j], col_index[1, j]
                wc0 = col_weight[0, j]
                grad_x[p, r0, c0] += wr0 * wc0 * g
                if linear_cols:
                    grad_x[p, r0, c1] += wr0 * col_weight[1, j] * g
                if linear_rows:
                    wr1 = row_weight[1, i]
                    grad_x[p, r1, c0] += wr1 * wc0 * g
                    if linear_cols:
                        grad_x[p, r1, c1] += wr1 * col_weight[1, j] * g
