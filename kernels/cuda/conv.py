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

The input gradient gathers ``grad_out[n, o, oh, ow]`` for the ``oh`` with
``oh * sh - top + kh * dh == h`` (zero when no integer ``oh`` exists), so stride, padding
(asymmetric too) and dilation need no zero-inserted or padded copies. The weight gradient
reduces over all pixels of the batch, a long ``K`` against a small output, so it is split
over ``K`` into several blocks per tile (grid z) that add their partial sums atomically.
Neighbouring threads load neighbouring pixels (or taps), which are neighbouring addresses.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32, float64

from ..shapes import conv2d_output_size
from .launch import MAX_BLOCKS, SIMULATOR, TILE, WORK
from .memory import zeros

BLOCK = TILE * WORK
_FORWARD, _INPUT, _WEIGHT = 0, 1, 2

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # top, bottom, left, right


@cuda.jit(device=True, inline=True, cache=True)
def _input_value(x, n, channel, oh, ow, kh, kw, geo, zero):
    """``padded_x[n, channel, oh * sh + kh * dh, ow * sw + kw * dw]`` (zero in the padding)."""
    N, C, H, W, O, OH, OW, KH, KW, sh, sw, top, left, dh, dw, groups = geo
    h = oh * sh - top + kh * dh
    w = ow * sw - left + kw * dw
    if 0 <= h < H and 0 <= w < W:
        return x[((n * C + channel) * H + h) * W + w]
    return zero


@cuda.jit(device=True, inline=True, cache=True)
def _operand_a(mode, a, g, row, kk, geo, zero):
    """Element (row, kk) of the left operand of group ``g``."""
    N, C, H, W, O, OH, OW, KH, KW, sh, sw, top, left, dh, dw, groups = geo
    Cg, Og = C // groups, O // groups
    if mode == _FORWARD:  # weight[o, t], rows of the weight matrix
        return a[(g * Og + row) * Cg * KH * KW + kk]
    if mode == _INPUT:  # weight[o, c, kh, kw] read as (c) x (o, kh, kw)
        o = kk // (KH * KW)
        tap = kk - o * KH * KW
        return a[((g * Og + o) * Cg + row) * KH * KW + tap]
    # _WEIGHT: grad_out[n, o, p] read as (o) x (n, p)
    n = kk // (OH * OW)
    return a[(n * O + g * Og + row) * OH * OW + kk - n * OH * OW]


@cuda.jit(device=True, inline=True, cache=True)
def _operand_b(mode, b, g, kk, col, geo, zero):
    """Element (kk, col) of the right operand of group ``g``: an implicit im2col matrix."""
    N, C, H, W, O, OH, OW, KH, KW, sh, sw, top, left, dh, dw, groups = geo
    Cg, Og = C // groups, O // groups
    if mode == _FORWARD:  # x column of tap kk at output pixel col
        c = kk // (KH * KW)
        kh = (kk // KW) % KH
        kw = kk % KW
        n = col // (OH * OW)
        p = col - n * OH * OW
        return _input_value(b, n, g * Cg + c, p // OW, p % OW, kh, kw, geo, zero)
    if mode == _INPUT:  # grad_out pixel feeding input pixel col through tap (o, kh, kw)
        o = kk // (KH * KW)
        kh = (kk // KW) % KH
        kw = kk % KW
        n = col // (H * W)
        p = col - n * H * W
        th = p // W + top - kh * dh
        tw = p % W + left - kw * dw
        if th < 0 or tw < 0 or th % sh != 0 or tw % sw != 0:
            return zero
        oh, ow = th // sh, tw // sw
        if oh >= OH or ow >= OW:
            return zero
        return b[((n * O + g * Og + o) * OH + oh) * OW + ow]
    # _WEIGHT: x column of tap col at output pixel kk
    c = col // (KH * KW)
    kh = (col // KW) % KH
    kw = col % KW
    n = kk // (OH * OW)
    p = kk - n * OH * OW
    return _input_value(b, n, g * Cg + c, p // OW, p % OW, kh, kw, geo, zero)


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
            slab_a[i, j] = _operand_a(mode, a, g, row, kk, geo, zero) if inside else zero
            # slab_b[j, i] = B[k0 + j, col0 + i], tx walking B's contiguous axis
            if mode == _WEIGHT:
                i, j = ty + w * TILE, tx
            else:
                i, j = tx + w * TILE, ty
            col, kk = col0 + i, k0 + j
            inside = col < columns and kk < k_stop
            slab_b[j, i] = _operand_b(mode, b, g, kk, col, geo, zero) if inside else zero
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
                if mode == _FORWARD:
                    n = col // (OH * OW)
                    channel = g * Og + row
                    value = acc[r, c] + (bias[channel] if has_bias else zero)
                    out[(n * O + channel) * OH * OW + col - n * OH * OW] = value
                elif mode == _INPUT:
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


def _geometry(x_shape, weight_shape, out_hw, stride, padding, dilation, groups):
    N, C, H, W = (int(s) for s in x_shape)
    O, _, KH, KW = (int(s) for s in weight_shape)
    OH, OW = out_hw
    top, _, left, _ = padding
    return (N, C, H, W, O, OH, OW, KH, KW, int(stride[0]), int(stride[1]), int(top),
            int(left), int(dilation[0]), int(dilation[1]), int(groups))


def _launch(mode, a, b, out, bias, geo, rows, reduction, columns, splits=1):
    groups = geo[-1]
    kernel = _conv_kernel_f32 if out.dtype == np.float32 else _conv_kernel_f64
    has_bias = bias is not None
    if not has_bias:
        bias = cuda.device_array(1, dtype=out.dtype)
    grid = (math.ceil(columns / BLOCK), math.ceil(rows / BLOCK), groups * splits)
    kernel[grid, (TILE, TILE)](
        mode, a.reshape(a.size), b.reshape(b.size), out.reshape(out.size), bias, has_bias, geo,
        rows, reduction, columns, splits,
    )  # fmt: skip


def conv2d_forward(x, weight, bias, stride: Pair, padding: Padding, dilation: Pair, groups: int):
    """Cross-correlation: (N, C, H, W) * (O, C // groups, KH, KW) -> (N, O, OH, OW).

    ``out[n, o, i, j] = bias[o] + sum_{c, kh, kw} w[o, c, kh, kw] *
    padded[n, g * C/groups + c, i * sh + kh * dh, j * sw + kw * dw]``, ``g`` the group of ``o``;
    ``padding`` is (top, bottom, left, right).
    """
    N, C, H, W = x.shape
    O, Cg, KH, KW = weight.shape
    top, bottom, left, right = padding
    OH = conv2d_output_size(H, KH, stride[0], top, bottom, dilation[0])
    OW = conv2d_output_size(W, KW, stride[1], left, right, dilation[1])
    out = cuda.device_array((N, O, OH, OW), dtype=x.dtype)
    if out.size:
        geo = _geometry(x.shape, weight.shape, (OH, OW), stride, padding, dilation, groups)
        _launch(_FORWARD, weight, x, out, bias, geo, O // groups, Cg * KH * KW, N * OH * OW)
    return out


def conv2d_backward_input(grad_out, weight, input_shape, stride: Pair, padding: Padding,
                          dilation: Pair, groups: int):
    """dL/dx (N, C, H, W) from dL/dout (N, O, OH, OW): the transposed convolution,
    ``grad_x[n, c, h, w] = sum_{o, kh, kw} grad_out[n, o, oh, ow] * w[o, c, kh, kw]`` over the
    (oh, ow) with ``oh * sh - top + kh * dh = h`` and ``ow * sw - left + kw * dw = w``."""
    N, C, H, W = (int(s) for s in input_shape)
    O, Cg, KH, KW = weight.shape
    grad_x = cuda.device_array((N, C, H, W), dtype=grad_out.dtype)
    if grad_x.size:
        geo = _geometry((N, C, H, W), weight.shape, grad_out.shape[2:], stride, padding,
                        dilation, groups)
        _launch(_INPUT, weight, grad_out, grad_x, None, geo, Cg, (O // groups) * KH * KW,
                N * H * W)
    return grad_x


def conv2d_backward_weight(grad_out, x, weight_shape, stride: Pair, padding: Padding,
                           dilation: Pair, groups: int):
    """dL/dw (O, C // groups, KH, KW) from dL/dout (N, O, OH, OW) and the input x:
    ``grad_w[o, c, kh, kw] = sum_{n, oh, ow} grad_out[n, o, oh, ow] * padded_x[...]``."""
    O, Cg, KH, KW = (int(s) for s in weight_shape)
    N, _, OH, OW = grad_out.shape
    reduction = N * OH * OW
    tiles = math.ceil(O // groups / BLOCK) * math.ceil(Cg * KH * KW / BLOCK) * groups
    # enough blocks to fill the GPU, each with at least a few slabs of the reduction
    splits = max(1, min(math.ceil(reduction / (TILE * 8)), MAX_BLOCKS // max(tiles, 1)))
    if SIMULATOR:
        splits = min(splits, 2)
    grad_w = cuda.device_array((O, Cg, KH, KW), dtype=grad_out.dtype)
    if splits > 1:
        grad_w = zeros((O, Cg, KH, KW), grad_out.dtype)
    if grad_w.size:
        geo = _geometry(x.shape, weight_shape, (OH, OW), stride, padding, dilation, groups)
        _launch(_WEIGHT, grad_out, x, grad_w, None, geo, O // groups, reduction,
                Cg * KH * KW, splits)
    return grad_w


def conv2d_backward_bias(grad_out):
    """dL/dbias (O,) = dL/dout (N, O, OH, OW) summed over batch and pixels."""
    from .reduce import reduce

    return reduce("sum", grad_out, (0, 2, 3))
