"""The layout the CPU convolution kernels read: arrays copied into padded, phase-split planes.

An input (N, C, H, W) is copied once into *planes*: zero-padded and, for stride ``s > 1``,
split into ``s * s`` phase planes (``plane[py, px][i, j] = padded[i * s + py, j * s + px]``),
each ``Hq x Wq`` and flattened. In those planes every (channel, kh, kw) tap of the kernel is a
single *offset*, and output pixel ``q = oh * Wq + ow`` reads ``plane[offset + q]``. So the
whole convolution is ``out[o, q] = sum_t w[o, t] * plane[offset[t] + q]``: no index
arithmetic or padding test in the inner loop, which is a contiguous, vectorisable run over
``q``. The price: each output row also computes ``Wq - OW`` garbage columns (the window
wrapping into the next row), dropped when the result is copied out. At stride 1 a row
shares its right padding with the next row's left (``Canvas.shared``), so a padded conv
computes fewer of them: none for a 5x5 kernel's input gradient on 10x10 maps.

The input gradient reads the output gradient the same way: zero-inserted between elements
for stride > 1 (the ``insert`` spacing of a ``Canvas``), padded by ``dilation * (K - 1) - pad``
(negative: cropped), at stride 1.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..shapes import ConvGeometry, Pair
from .launch import threaded

# Floats in the widest SIMD register (AVX-512): the kernels' loops run in whole vectors, so
# the planes end with a vector's worth of margin.
VECTOR = 16


class Canvas(NamedTuple):
    """Where an (N, C, H, W) array lands in the padded picture the planes are cut from:
    element (h, w) at (top + h * insert, left + w * insert) of ``rows x cols`` (negative
    ``top``/``left`` crop), split into ``stride * stride`` phase planes.

    ``shared``: zero columns that each row's right padding shares with the next row's left
    padding (stride 1 only). A plane row is then ``cols - shared`` long and a window running
    past its end reads the next row's leading zeros, which are the padding it needs: a
    5x5 kernel's input gradient on LeNet's 10x10 maps pads by 4 each side, and rows of 14
    instead of 18 leave no garbage column (``canvas_shared``)."""

    top: int
    left: int
    insert: int
    stride: int
    rows: int
    cols: int
    shared: int = 0


def canvas_shared(left: int, right: int, reach: int) -> int:
    """The ``shared`` of a stride-1 canvas with ``left`` and ``right`` zero columns about its
    content and a kernel ``reach`` = dilation * (K - 1) wide: at most either padding (both
    must be zeros) and at most the reach, so that a row still holds every output column."""
    return max(0, min(left, right, reach))


class Planes(NamedTuple):
    """The planes of one array and the offsets of the kernel's taps into them.

    ``data`` (N, length); ``offsets`` (C // groups * KH * KW,) in weight-memory order, within
    a group; group ``g``'s channels start at ``g * group_stride``; a plane row is ``Wq`` long.
    """

    data: np.ndarray
    offsets: np.ndarray
    group_stride: int
    Wq: int


def _to_planes(x, canvas: Canvas, Hq, Wq, length):
    """Scatter ``x`` (N, C, H, W) into planes (N, length), zero wherever x does not land.

    Channel c, phase (py, px) starts at ``((c * stride + py) * stride + px) * Hq * Wq``.
    Three kernels, so that a process compiles only the ones its convolutions need (each
    costs seconds with an empty cache).
    """
    top, left, insert, stride, rows, cols, _ = canvas
    if stride == 1 and insert == 1:
        return _rows_to_planes(x, top, left, rows, cols, Hq, Wq, length)
    if insert == 1:
        return _phases_to_planes(x, top, left, stride, rows, cols, Hq, Wq, length)
    return _scatter_to_planes(x, top, left, insert, stride, rows, cols, Hq, Wq, length)


@njit(inline="always")
def fill_row(row, value):
    for j in range(row.size):
        row[j] = value


@njit(inline="always")
def copy_row(dst, src):
    for j in range(dst.size):
        dst[j] = src[j]


# The rows are copied by loops over views that start at 0, the form LLVM vectorises, not by
# slice assignment: per-row memset/memcpy calls made an (16, 192, 8, 8) copy 3.7x slower, and
# a slice assignment compiles Numba's shape-mismatch error path (2 s of a first run).
@threaded
def _rows_to_planes(x, top, left, rows, cols, Hq, Wq, length):
    """Stride 1, no zero insertion: one plane per channel, written whole row by row (data
    and zero margins), so the buffer needs no zero-fill first: a third less memory traffic
    for a large input."""
    N, C, H, W = x.shape
    plane = Hq * Wq
    out = np.empty((N, length), x.dtype)
    for n in range(N):
        fill_row(out[n, C * plane:], 0)
    w0, w1 = max(0, -left), min(W, cols - left)
    lo, hi = left + w0, left + max(w0, w1)
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        for r in range(Hq):
            row = out[n, c * plane + r * Wq:c * plane + (r + 1) * Wq]
            h = r - top
            if 0 <= h < H and w1 > w0:
                fill_row(row[:lo], 0)
                copy_row(row[lo:hi], x[n, c, h, w0:w1])
                fill_row(row[hi:], 0)
            else:
                fill_row(row, 0)
    return out


@threaded
def _phases_to_planes(x, top, left, stride, rows, cols, Hq, Wq, length):
    """A strided convolution's input: each phase plane gathered element by element in the
    order it is stored (``plane[py, px][i, j] = padded[i * s + py, j * s + px]``), so the
    buffer needs no zero-fill and every write is sequential (the scatter below took 1.9 ms
    per call of MobileNet's strided depthwise convs)."""
    N, C, H, W = x.shape
    plane = Hq * Wq
    out = np.empty((N, length), x.dtype)
    for n in range(N):
        fill_row(out[n, C * stride * stride * plane:], 0)
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        dst, src = out[n], x[n, c]
        for py in range(stride):
            for px in range(stride):
                base = ((c * stride + py) * stride + px) * plane
                for i in range(Hq):
                    h = i * stride + py - top
                    start = base + i * Wq
                    if 0 <= h < H and i * stride + py < rows:
                        for j in range(Wq):
                            w = j * stride + px - left
                            inside = 0 <= w < W and j * stride + px < cols
                            dst[start + j] = src[h, w] if inside else 0
                    else:
                        for j in range(Wq):
                            dst[start + j] = 0
    return out


@threaded
def _scatter_to_planes(x, top, left, insert, stride, rows, cols, Hq, Wq, length):
    """Zero insertion (an output gradient spaced ``insert`` apart), on phase planes of a
    stride: scattered into a zero-filled buffer."""
    N, C, H, W = x.shape
    plane = Hq * Wq
    out = np.zeros((N, length), x.dtype)
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        for h in range(H):
            r = top + h * insert
            if r < 0 or r >= rows:
                continue
            row_base = (c * stride + r % stride) * stride * plane + (r // stride) * Wq
            for w in range(W):
                col = left + w * insert
                if 0 <= col < cols:
                    out[n, row_base + (col % stride) * plane + col // stride] = x[n, c, h, w]
    return out


def _tap_offsets(channels: int, kernel: Pair, stride: int, dilation: Pair, Hq: int,
                 Wq: int) -> np.ndarray:
    """Offset of every (channel, kh, kw) tap in the planes, in weight-memory order."""
    dh, dw = dilation
    c = np.arange(channels).reshape(-1, 1, 1)
    kh = np.arange(kernel[0]).reshape(1, -1, 1) * dh
    kw = np.arange(kernel[1]).reshape(1, 1, -1) * dw
    phase = (c * stride + kh % stride) * stride + kw % stride
    offsets = phase * (Hq * Wq) + (kh // stride) * Wq + kw // stride
    return np.ascontiguousarray(offsets.reshape(-1), dtype=np.int64)


class PlaneShape(NamedTuple):
    """Where the planes of a ``channels``-channel array on a canvas put things: each plane
    ``Hq x Wq``, a sample's planes ``length`` long in all (margin included), and the
    offsets, group stride and row length of a ``Planes``."""

    Hq: int
    Wq: int
    length: int
    offsets: np.ndarray
    group_stride: int


@functools.lru_cache(maxsize=512)
def plane_shape(channels: int, canvas: Canvas, kernel: Pair, dilation: Pair, groups: int,
                out_rows: int) -> PlaneShape:
    """The ``PlaneShape`` of ``channels`` channels on ``canvas`` for a kernel producing
    ``out_rows`` rows of output. The same few for a whole network, so remembered (the tap
    offsets took 60 us a conv call, their maximum 10 more); shared, so never written to."""
    stride = canvas.stride
    Hq, Wq = -(-canvas.rows // stride), -(-canvas.cols // stride) - canvas.shared
    channels_per_group = channels // groups
    offsets = _tap_offsets(channels_per_group, kernel, stride, dilation, Hq, Wq)
    group_stride = channels_per_group * stride * stride * Hq * Wq
    # The last tap of the last group reads OH * Wq values (in whole vectors) from its offset.
    needed = (groups - 1) * group_stride + int(offsets.max()) + out_rows * Wq + VECTOR
    length = max(needed, channels * stride * stride * Hq * Wq)
    return PlaneShape(Hq, Wq, length, offsets, group_stride)


def _planes(x: np.ndarray, canvas: Canvas, kernel: Pair, dilation: Pair, groups: int,
            out_size: Pair) -> Planes:
    """The planes of ``x`` on ``canvas``, for a kernel producing ``out_size`` (rows, cols)."""
    shape = plane_shape(x.shape[1], canvas, kernel, dilation, groups, out_size[0])
    data = _to_planes(x, canvas, shape.Hq, shape.Wq, shape.length)
    return Planes(data, shape.offsets, shape.group_stride, shape.Wq)


def input_canvas(geometry: ConvGeometry) -> Canvas:
    """Where the input lands in its planes: padded, split by the stride
    (``stride[0] == stride[1]``)."""
    top, _, left, right = geometry.padding
    rows, cols = geometry.padded_size
    stride = geometry.stride[0]
    shared = canvas_shared(left, right, geometry.dilation[1] * (geometry.kernel_width - 1))
    return Canvas(top, left, 1, stride, rows, cols, shared if stride == 1 else 0)


def input_plane_shape(geometry: ConvGeometry) -> PlaneShape:
    """The ``PlaneShape`` of the input's planes, without the input (the input gradient's)."""
    g = geometry
    return plane_shape(g.in_channels, input_canvas(g), (g.kernel_height, g.kernel_width),
                       g.dilation, g.groups, g.out_height)


def input_planes(x: np.ndarray, geometry: ConvGeometry) -> Planes:
    """x (N, C, H, W) padded and split by the stride (``stride[0] == stride[1]``): what the
    forward kernel and the weight gradient read."""
    g = geometry
    return _planes(x, input_canvas(g), (g.kernel_height, g.kernel_width), g.dilation,
                   g.groups, (g.out_height, g.out_width))


@threaded
def from_planes(planes, out, top, left, stride, Hq, Wq):
    """The adjoint of ``_to_planes`` for an input canvas (no zero insertion): gather
    ``out`` (N, C, H, W) from its places in the planes (N, length); padding is dropped."""
    N, C, H, W = out.shape
    plane = Hq * Wq
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        src = planes[n]
        for h in range(H):
            r = top + h
            row_base = (c * stride + r % stride) * stride * plane + (r // stride) * Wq
            if stride == 1:
                copy_row(out[n, c, h], src[row_base + left:row_base + left + W])
            else:
                for w in range(W):
                    col = left + w
                    out[n, c, h, w] = src[row_base + (col % stride) * plane + col // stride]


def output_grad_planes(grad_out: np.ndarray, geometry: ConvGeometry) -> Planes:
    """grad_out (N, O, OH, OW) zero-inserted by the stride and padded by ``dilation * (K - 1)
    - pad`` each side: the forward kernel over these planes with the flipped weight gives
    the input gradient (N, C, H, W)."""
    g = geometry
    (KH, KW), (dh, dw) = (g.kernel_height, g.kernel_width), g.dilation
    top, _, left, _ = g.padding
    rows, cols = g.height + dh * (KH - 1), g.width + dw * (KW - 1)
    insert = g.stride[0]
    if g.stride[0] != g.stride[1]:  # _to_planes spaces rows and columns alike
        grad_out, insert = _insert_zeros(grad_out, g.stride), 1
    top, left = dh * (KH - 1) - top, dw * (KW - 1) - left
    right = cols - left - ((grad_out.shape[3] - 1) * insert + 1)
    canvas = Canvas(top, left, insert, 1, rows, cols, canvas_shared(left, right, dw * (KW - 1)))
    return _planes(grad_out, canvas, (KH, KW), g.dilation, g.groups, (g.height, g.width))


def _insert_zeros(grad_out: np.ndarray, stride: Pair) -> np.ndarray:
    """(N, O, OH, OW) -> (N, O, (OH-1)*sh+1, (OW-1)*sw+1) with zeros between elements."""
    N, O, OH, OW = grad_out.shape
    out = np.zeros((N, O, (OH - 1) * stride[0] + 1, (OW - 1) * stride[1] + 1), grad_out.dtype)
    out[:, :, ::stride[0], ::stride[1]] = grad_out
    return out


@threaded
def output_grad_rows(grad_out, Wq, length):
    """(N, O, OH, OW) -> (N, O, length): rows spaced like the input planes', gaps and the
    tail beyond OH * Wq zeroed (the weight gradient's other operand)."""
    N, O, OH, OW = grad_out.shape
    out = np.empty((N, O, length), grad_out.dtype)  # every value written below
    for no in prange(N * O):
        n = no // O
        o = no % O
        for oh in range(OH):
            copy_row(out[n, o, oh * Wq:oh * Wq + OW], grad_out[n, o, oh])
            fill_row(out[n, o, oh * Wq + OW:(oh + 1) * Wq], 0)
        fill_row(out[n, o, OH * Wq:], 0)
    return out
