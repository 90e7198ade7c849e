"""Resizing by interpolation on the GPU: the twins of ``kernels/cpu/interpolate.py``.

Same arguments and the same taps (``kernels/interpolate_taps.py``, made on the host: a few
numbers per output row and column, copied to the device), hence the same results as the
CPU. The forward is a gather (one thread per output element); the backward scatters each
output gradient into the up to four input pixels it read, with atomic adds, since several
outputs read the same input pixel.
"""

from __future__ import annotations

from numba import cuda

from ..interpolate_taps import axis_taps
from .launch import grid_1d
from .memory import zeros

Pair = tuple


def _taps(modes: Pair, in_size: Pair, out_size: Pair, scales: Pair, align_corners: bool,
          dtype):
    rows = axis_taps(modes[0], in_size[0], out_size[0], scales[0], align_corners, dtype)
    cols = axis_taps(modes[1], in_size[1], out_size[1], scales[1], align_corners, dtype)
    return (*(cuda.to_device(table) for table in (*rows, *cols)),
            modes[0] == "linear", modes[1] == "linear")


def interpolate_forward(x, out_size: Pair, modes: Pair, scales: Pair, align_corners: bool):
    """Resize every plane: (N, C, H, W) -> (N, C, out_h, out_w) (see the CPU twin)."""
    n, channels, height, width = x.shape
    out = cuda.device_array((n, channels, *out_size), dtype=x.dtype)
    if out.size:
        taps = _taps(modes, (height, width), out_size, scales, align_corners, x.dtype)
        blocks, threads = grid_1d(out.size)
        _interpolate_kernel[blocks, threads](x.reshape(n * channels, height, width),
                                             out.reshape(n * channels, *out_size), *taps)
    return out


@cuda.jit(cache=True)
def _interpolate_kernel(x, out, row_index, row_weight, col_index, col_weight, linear_rows,
                        linear_cols):
    """One thread per output element (plane p, row i, column j): its two or four taps."""
    planes, out_h, out_w = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, planes * out_h * out_w, stride):
        p = k // (out_h * out_w)
        i = (k // out_w) % out_h
        j = k % out_w
        r0, r1 = row_index[0, i], row_index[1, i]
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


def interpolate_backward_input(grad, in_size: Pair, modes: Pair, scales: Pair,
                               align_corners: bool):
    """dL/dx (N, C, H, W) from dL/dout (N, C, out_h, out_w) (see the CPU twin)."""
    n, channels, out_h, out_w = grad.shape
    grad_x = zeros((n, channels, *in_size), grad.dtype)
    if grad.size:
        taps = _taps(modes, in_size, (out_h, out_w), scales, align_corners, grad.dtype)
        blocks, threads = grid_1d(grad.size)
        _interpolate_backward_kernel[blocks, threads](
            grad.reshape(n * channels, out_h, out_w), grad_x.reshape(n * channels, *in_size),
            *taps)
    return grad_x


@cuda.jit(cache=True)
def _interpolate_backward_kernel(grad, grad_x, row_index, row_weight, col_index, col_weight,
                                 linear_rows, linear_cols):
    """One thread per output gradient (p, i, j): added atomically to the pixels it read."""
    planes, out_h, out_w = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, planes * out_h * out_w, stride):
        p = k // (out_h * out_w)
        i = (k // out_w) % out_h
        j = k % out_w
        g = grad[p, i, j]
        r0, r1 = row_index[0, i], row_index[1, i]
        c0, c1 = col_index[0, j], col_index[1, j]
        wr0 = row_weight[0, i]  # 1 on a nearest axis
        wc0 = col_weight[0, j]
        cuda.atomic.add(grad_x, (p, r0, c0), wr0 * wc0 * g)
        if linear_cols:
            cuda.atomic.add(grad_x, (p, r0, c1), wr0 * col_weight[1, j] * g)
        if linear_rows:
            wr1 = row_weight[1, i]
            cuda.atomic.add(grad_x, (p, r1, c0), wr1 * wc0 * g)
            if linear_cols:
                cuda.atomic.add(grad_x, (p, r1, c1), wr1 * col_weight[1, j] * g)
