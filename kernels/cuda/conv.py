"""2-d convolution on the GPU as implicit GEMM: forward, input gradient, weight gradient.

All three passes are one matrix product per group whose operands are never materialised:
a thread computes the address of the element it loads (an im2col column, a weight row, an
output-gradient pixel) from the convolution's geometry, reads zero outside the image, and
the product runs on the same tiled, register-blocked scheme as ``kernels/cuda/matmul.py``
(``BLOCK x BLOCK`` output tiles, ``TILE x TILE`` threads, ``WORK x WORK`` outputs per thread,
``TILE``-deep slabs of both operands in shared memory).

=========  ================  ===========================  ===============================
pass       rows (M)          reduction (K)                columns
=========  ================  ===========================  ===============================
forward    out channel o     tap t = (c, kh, kw)          pixel (n, oh, ow)
input      in channel c      (o, kh, kw)                  pixel (n, h, w)
weight     out channel o     pixel (n, oh, ow)            tap t = (c, kh, kw)
=========  ================  ===========================  ===============================

How each operand's element is found in memory is ``conv_layout.py``. The input gradient
gathers ``grad_out[n, o, oh, ow]`` for the ``oh`` with ``oh * sh - top + kh * dh == h`` (zero
when no integer ``oh`` exists), so stride, padding (asymmetric too) and dilation need no
zero-inserted or padded copies. The weight gradient reduces over all pixels of the batch, a
long ``K`` against a small output, so it is split over ``K`` into several blocks per tile
(grid z) that add their partial sums atomically.
Neighbouring threads load neighbouring pixels (or taps), which are neighbouring addresses.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32, float64

from ..shapes import ConvGeometry, Padding, Pair, conv2d_geometry
from .conv_layout import FORWARD, INPUT, WEIGHT, kernel_geometry, operand_a, operand_b
from .launch import MAX_BLOCKS, SIMULATOR, TILE, WORK
from .memory import zeros

BLOCK = TILE * WORK


@cuda.jit(device=True, inline=True, cache=True)
def _gemm_tiles(mode, a, b, out, bias, has_bias, geo, rows, reduction, columns, splits,
                slab_a, slab_b, acc, zero):
    """Block (bx, by, bz) computes the BLOCK x BLOCK output tile (by, bx) of group
    ``bz // splits`` over its share ``bz % splits`` of the reduction; thread (tx, ty) owns
    rows ``ty + r * TILE`` and columns ``tx + c * TILE`` of the tile (r, c < WORK)."""
    N, C, H, W, O, OH, OW, KH, KW, sh, sw, top, left, dh, dw, groups = geo
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    row0, col0 = cuda.blockIdx.y * BLOCK, cuda.blockIdx.x * BLOCK
    g = cuda.blockIdx.z // splits
    split = cuda.blockIdx.z - g * splits
    chunk = ((reduction + splits - 1) // splits + TILE - 1) // TILE * TILE
    k_start = split * chunk
    k_stop = min(reduction, k_start + chunk)
    for r in range(WORK):
        for c in range(WORK):
            acc[r, c] = zero
    for k0 in range(k_start, k_stop, TILE):
        for w in range(WORK):
            # slab_a[i, j] = A[row0 + i, k0 + j], tx walking the reduction (contiguous in A)
            i, j = ty + w * TILE, tx
            row, kk = row0 + i, k0 + j
            inside = row < rows and kk < k_stop
            slab_a[i, j] = operand_a(mode, a, g, row, kk, geo, zero) if inside else zero
            # slab_b[j, i] = B[k0 + j, col0 + i], tx walking B's contiguous axis
            if mode == WEIGHT:
                i, j = ty + w * TILE, tx
            else:
                i, j = tx + w * TILE, ty
            col, kk = col0 + i, k0 + j
            inside = col < columns and kk < k_stop
            slab_b[j, i] = operand_b(mode, b, g, kk, col, geo, zero) if inside else zero
        cuda.syncthreads()
        for j in range(TILE):
            for r in range(WORK):
                a_value = slab_a[ty + r * TILE, j]
                for c in range(WORK):
                    acc[r, c] += a_value * slab_b[j, tx + c * TILE]
        cuda.syncthreads()
    Cg, Og = C // groups, O // groups
    for r in range(WORK):
        row = row0 + ty + r * TILE
        for c in range(WORK):
            col = col0 + tx + c * TILE
            if row < rows and col < columns:
                if mode == FORWARD:
                    n = col // (OH * OW)
                    channel = g * Og + row
                    value = acc[r, c] + (bias[channel] if has_bias else zero)
                    out[(n * O + channel) * OH * OW + col - n * OH * OW] = value
                elif mode == INPUT:
                    n = col // (H * W)
                    out[(n * C + g * Cg + row) * H * W + col - n * H * W] = acc[r, c]
                elif splits == 1:
                    out[(g * Og + row) * Cg * KH * KW + col] = acc[r, c]
                else:
                    cuda.atomic.add(out, (g * Og + row) * Cg * KH * KW + col, acc[r, c])


@cuda.jit(cache=True)
def _conv_kernel_f32(mode, a, b, out, bias, has_bias, geo, rows, reduction, columns, splits):
    """float32 slabs and accumulators; see ``_gemm_tiles`` for what a thread and block do."""
    slab_a = cuda.shared.array((BLOCK, TILE + 1), float32)
    slab_b = cuda.shared.array((TILE, BLOCK + 1), float32)
    acc = cuda.local.array((WORK, WORK), float32)
    _gemm_tiles(mode, a, b, out, bias, has_bias, geo, rows, reduction, columns, splits,
                slab_a, slab_b, acc, float32(0.0))


@cuda.jit(cache=True)
def _conv_kernel_f64(mode, a, b, out, bias, has_bias, geo, rows, reduction, columns, splits):
    """float64 slabs and accumulators (gradient checks); otherwise as the float32 kernel."""
    slab_a = cuda.shared.array((BLOCK, TILE + 1), float64)
    slab_b = cuda.shared.array((TILE, BLOCK + 1), float64)
    acc = cuda.local.array((WORK, WORK), float64)
    _gemm_tiles(mode, a, b, out, bias, has_bias, geo, rows, reduction, columns, splits,
                slab_a, slab_b, acc, float64(0.0))


def _launch(mode, a, b, out, bias, geometry: ConvGeometry, rows, reduction, columns, splits=1):
    """One launch of the GEMM of pass ``mode`` (rows x reduction x columns per group)."""
    kernel = _conv_kernel_f32 if out.dtype == np.float32 else _conv_kernel_f64
    has_bias = bias is not None
    if not has_bias:
        bias = cuda.device_array(1, dtype=out.dtype)
    grid = (math.ceil(columns / BLOCK), math.ceil(rows / BLOCK), geometry.groups * splits)
    kernel[grid, (TILE, TILE)](
        mode, a.reshape(a.size), b.reshape(b.size), out.reshape(out.size), bias, has_bias,
        kernel_geometry(geometry), rows, reduction, columns, splits,
    )  # fmt: skip


def conv2d_input_layout(x, weight_shape, stride: Pair, padding: Padding, dilation: Pair,
                        groups: int):
    """x (N, C, H, W) as ``conv2d_forward`` and ``conv2d_backward_weight`` read it: on the
    GPU that is x itself (the kernels address it in place, ``conv_layout.py``)."""
    return x


def conv2d_forward(x, weight, bias, stride: Pair, padding: Padding, dilation: Pair, groups: int,
                   layout=None):
    """Cross-correlation: (N, C, H, W) * (O, C // groups, KH, KW) -> (N, O, OH, OW).

    ``out[n, o, i, j] = bias[o] + sum_{c, kh, kw} w[o, c, kh, kw] *
    padded[n, g * C/groups + c, i * sh + kh * dh, j * sw + kw * dw]``, ``g`` the group of ``o``;
    ``padding`` is (top, bottom, left, right). ``layout``: what ``conv2d_input_layout`` gave.
    """
    g = conv2d_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    out = cuda.device_array(g.output_shape, dtype=x.dtype)
    if out.size:
        source = x if layout is None else layout
        Cg = g.in_channels // groups
        _launch(FORWARD, weight, source, out, bias, g, g.out_channels // groups,
                Cg * g.kernel_height * g.kernel_width, g.batch * g.out_height * g.out_width)
    return out


def conv2d_backward_input(grad_out, weight, input_shape, stride: Pair, padding: Padding,
                          dilation: Pair, groups: int):
    """dL/dx (N, C, H, W) from dL/dout (N, O, OH, OW): the transposed convolution,
    ``grad_x[n, c, h, w] = sum_{o, kh, kw} grad_out[n, o, oh, ow] * w[o, c, kh, kw]`` over the
    (oh, ow) with ``oh * sh - top + kh * dh = h`` and ``ow * sw - left + kw * dw = w``."""
    g = conv2d_geometry(input_shape, weight.shape, stride, padding, dilation, groups)
    grad_x = cuda.device_array(g.input_shape, dtype=grad_out.dtype)
    if grad_x.size:
        taps = g.kernel_height * g.kernel_width
        _launch(INPUT, weight, grad_out, grad_x, None, g, g.in_channels // groups,
                g.out_channels // groups * taps, g.batch * g.height * g.width)
    return grad_x


def conv2d_backward_weight(grad_out, x, weight_shape, stride: Pair, padding: Padding,
                           dilation: Pair, groups: int, layout=None):
    """dL/dw (O, C // groups, KH, KW) from dL/dout (N, O, OH, OW) and the input x:
    ``grad_w[o, c, kh, kw] = sum_{n, oh, ow} grad_out[n, o, oh, ow] * padded_x[...]``.
    ``layout``: what ``conv2d_input_layout`` gave for x."""
    g = conv2d_geometry(x.shape, weight_shape, stride, padding, dilation, groups)
    O, Cg, KH, KW = g.weight_shape
    reduction = g.batch * g.out_height * g.out_width
    tiles = math.ceil(O // groups / BLOCK) * math.ceil(Cg * KH * KW / BLOCK) * groups
    # enough blocks to fill the GPU, each with at least a few slabs of the reduction
    splits = max(1, min(math.ceil(reduction / (TILE * 8)), MAX_BLOCKS // max(tiles, 1)))
    if SIMULATOR:
        splits = min(splits, 2)
    grad_w = cuda.device_array((O, Cg, KH, KW), dtype=grad_out.dtype)
    if splits > 1:
        grad_w = zeros((O, Cg, KH, KW), grad_out.dtype)
    if grad_w.size:
        source = x if layout is None else layout
        _launch(WEIGHT, grad_out, source, grad_w, None, g, O // groups, reduction,
                Cg * KH * KW, splits)
    return grad_w


def conv2d_backward_bias(grad_out):
    """dL/dbias (O,) = dL/dout (N, O, OH, OW) summed over batch and pixels."""
    from .reduce import reduce

    return reduce("sum", grad_out, (0, 2, 3))
