"""The layout the GPU convolution kernels read: the operands of an implicit GEMM, addressed
in place (the GPU twin of the CPU's planes, without the copy).

Each pass of ``conv.py`` is a matrix product whose operands are never materialised: the
device functions here compute, for an element (row, k) or (k, col) of an operand, where it
lives in the weight, the input or the output gradient, and return zero for the padding
(or, for the input gradient, where no output pixel maps to the input pixel):

=======  ==========================================  ======================================
pass     left operand A (rows x K)                   right operand B (K x columns)
=======  ==========================================  ======================================
forward  weight[o, t], t = (c, kh, kw)               x under tap t at pixel (n, oh, ow)
input    weight[o, c, kh, kw] as c x (o, kh, kw)     grad_out pixel that tap (o, kh, kw)
                                                     maps onto input pixel (n, h, w)
weight   grad_out[n, o, oh, ow] as o x (n, oh, ow)   x under tap t at pixel (n, oh, ow)
=======  ==========================================  ======================================

The kernels take the geometry as a tuple of plain ints (``kernel_geometry``), unpacked in
the order ``N, C, H, W, O, OH, OW, KH, KW, sh, sw, top, left, dh, dw, groups``.
"""

from __future__ import annotations

from numba import cuda

from ..shapes import ConvGeometry

FORWARD, INPUT, WEIGHT = 0, 1, 2  # the pass a kernel launch computes


def kernel_geometry(geometry: ConvGeometry) -> tuple[int, ...]:
    """The geometry as the tuple of ints the device functions unpack (see the module)."""
    g = geometry
    top, _, left, _ = g.padding
    return (g.batch, g.in_channels, g.height, g.width, g.out_channels, g.out_height,
            g.out_width, g.kernel_height, g.kernel_width, g.stride[0], g.stride[1], top, left,
            g.dilation[0], g.dilation[1], g.groups)


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
def operand_a(mode, a, g, row, kk, geo, zero):
    """Element (row, kk) of the left operand of group ``g``."""
    N, C, H, W, O, OH, OW, KH, KW, sh, sw, top, left, dh, dw, groups = geo
    Cg, Og = C // groups, O // groups
    if mode == FORWARD:  # weight[o, t], rows of the weight matrix
        return a[(g * Og + row) * Cg * KH * KW + kk]
    if mode == INPUT:  # weight[o, c, kh, kw] read as (c) x (o, kh, kw)
        o = kk // (KH * KW)
        tap = kk - o * KH * KW
        return a[((g * Og + o) * Cg + row) * KH * KW + tap]
    # WEIGHT: grad_out[n, o, p] read as (o) x (n, p)
    n = kk // (OH * OW)
    return a[(n * O + g * Og + row) * OH * OW + kk - n * OH * OW]


@cuda.jit(device=True, inline=True, cache=True)
def operand_b(mode, b, g, kk, col, geo, zero):
    """Element (kk, col) of the right operand of group ``g``: an implicit im2col matrix."""
    N, C, H, W, O, OH, OW, KH, KW, sh, sw, top, left, dh, dw, groups = geo
    Cg, Og = C // groups, O // groups
    if mode == INPUT:  # grad_out pixel feeding input pixel col through tap (o, kh, kw)
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
    # FORWARD: x at tap kk and output pixel col; WEIGHT: the same matrix transposed
    tap, pixel = (kk, col) if mode == FORWARD else (col, kk)
    c = tap // (KH * KW)
    kh = (tap // KW) % KH
    kw = tap % KW
    n = pixel // (OH * OW)
    p = pixel - n * OH * OW
    return _input_value(b, n, g * Cg + c, p // OW, p % OW, kh, kw, geo, zero)
