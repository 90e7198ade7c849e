"""Pooling on the CPU: max, average (and so sum), adaptive average and adaptive max, forward
and backward.

Each kernel runs one (sample, channel) plane per job: planes are independent, so the
backward scatter (``grad_input[argmax] += grad``, overlapping windows included) never races.
Windows are clamped to the input once per call, as per-axis tables of where each output's
window starts and ends, so the inner loops do no padding tests and no division.

A window may hold no input element at all: with dilation its taps can step over the whole
input from the padding on one side to the padding on the other (kernel 2, dilation 2,
padding 1 over a 1-pixel axis). Such a window's maximum is -inf, as in PyTorch, and its
argmax is the sentinel ``NO_INPUT`` (-1), which the backward skips: it passes no gradient
and never indexes the input with it. Average windows always hold an input element once the
op layer has checked the sizes; the kernels still skip an empty one rather than read
outside the plane.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

from ..shapes import pool_output_size
from .launch import threaded

Pair = tuple[int, int]

# argmax of a max-pool window that holds no input element (it lies wholly in the padding)
NO_INPUT = -1


def _output_shape(x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    N, C, H, W = x_shape
    OH = pool_output_size(H, kernel_size[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = pool_output_size(W, kernel_size[1], stride[1], padding[1], dilation[1], ceil_mode)
    return N, C, OH, OW


def _max_windows(size: int, out: int, kernel: int, stride: int, pad: int, dilation: int):
    """Per output position along one axis: the first in-bounds input index of its window and
    how many in-bounds taps (spaced ``dilation`` apart) it has. Computed once per call, so
    the kernels' inner loops do no clamping or division."""
    start = np.arange(out) * stride - pad
    first_tap = np.where(start >= 0, 0, (-start + dilation - 1) // dilation)
    end_tap = np.minimum(kernel, (size - 1 - start) // dilation + 1)
    return start + first_tap * dilation, np.maximum(end_tap - first_tap, 0)


def _avg_windows(size: int, out: int, kernel: int, stride: int, pad: int,
                 count_include_pad: bool):
    """Per output position along one axis: the clamped window [start, stop) and the length
    the mean divides by (with or without the padding it covers)."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    padded_length = end - start
    start, end = np.maximum(start, 0), np.minimum(end, size)
    return start, end, padded_length if count_include_pad else end - start


def _adaptive_windows(size: int, out: int):
    """Window i of an adaptive pool covers [floor(i * size / out), ceil((i + 1) * size / out))."""
    i = np.arange(out)
    start, end = i * size // out, -(-(i + 1) * size // out)
    return start, end, end - start


# ---------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _window_max(plane, W, h0, kh_n, dh, w0, kw_n, dw):
    """(maximum, its flat index h * W + w) over a window of kh_n x kw_n taps from (h0, w0);
    (-inf, NO_INPUT) for a window with no taps inside the input."""
    best = -np.inf
    # an all -inf window still names its first tap, as PyTorch does; an empty one, none
    best_at = h0 * W + w0 if kh_n > 0 and kw_n > 0 else NO_INPUT
    for kh in range(kh_n):
        h = h0 + kh * dh
        for kw in range(kw_n):
            value = plane[h, w0 + kw * dw]
            # strict > keeps the first maximum; NaN wins, as in PyTorch. Bitwise | and two
            # selects, not ``if ... or ...``: random data mispredicts every other branch
            take = (value > best) | (value != value)
            best = value if take else best
            best_at = h * W + w0 + kw * dw if take else best_at
    return best, best_at


# One kernel per window geometry (closure variables, part of Numba's cache key): when every
# window lies wholly inside the input (no padding reached, no partial ceil-mode window),
# window (oh, ow) starts at (oh * SH, ow * SW) and has KH x KW taps spaced (DH, DW): all
# constants, so the tap loops unroll and the loads are plain strided ones. 2x2 pooling of
# (64, 6, 28, 28) took 740 us through the tables, 260 us with constant tap counts, and a
# further 30% less with constant strides too. Geometry (0, 0, 0, 0, 0, 0) reads every
# window's start and tap count from the tables instead.
@functools.cache
def _max_pool_kernel(KH: int, KW: int, SH: int, SW: int, DH: int, DW: int):
    @threaded
    def loop(x, out, argmax, h_first, h_taps, w_first, w_taps, dh, dw):
        N, C, H, W = x.shape
        OH, OW = out.shape[2], out.shape[3]
        for nc in prange(N * C):
            n = nc // C
            c = nc % C
            plane = x[n, c]
            for oh in range(OH):
                if KH > 0:
                    for ow in range(OW):
                        out[n, c, oh, ow], argmax[n, c, oh, ow] = _window_max(
                            plane, W, oh * SH, KH, DH, ow * SW, KW, DW)
                else:
                    for ow in range(OW):
                        out[n, c, oh, ow], argmax[n, c, oh, ow] = _window_max(
                            plane, W, h_first[oh], h_taps[oh], dh, w_first[ow], w_taps[ow], dw)

    return loop


@functools.lru_cache(maxsize=256)
def _max_pool_plan(x_shape, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                   ceil_mode: bool):
    """(output shape, kernel geometry, row windows, column windows) of a max pool: the same
    few for a whole network, so remembered (30 us a call otherwise); shared, never written."""
    shape = _output_shape(x_shape, kernel_size, stride, padding, dilation, ceil_mode)
    rows = _max_windows(x_shape[2], shape[2], kernel_size[0], stride[0], padding[0], dilation[0])
    cols = _max_windows(x_shape[3], shape[3], kernel_size[1], stride[1], padding[1], dilation[1])
    whole = (rows[1] == kernel_size[0]).all() and (cols[1] == kernel_size[1]).all()
    geometry = (*kernel_size, *stride, *dilation) if whole else (0,) * 6
    return shape, geometry, rows, cols


def max_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair,
                       dilation: Pair, ceil_mode: bool) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, H, W) -> (N, C, OH, OW), and each maximum's flat index h * W + w
    in its (H, W) plane (int64, same shape) for the backward pass. Padding counts as -inf; a
    window wholly in the padding gives -inf and the index ``NO_INPUT`` (-1)."""
    shape, geometry, rows, cols = _max_pool_plan(tuple(x.shape), tuple(kernel_size),
                                                 tuple(stride), tuple(padding), tuple(dilation),
                                                 bool(ceil_mode))
    out = np.empty(shape, x.dtype)
    argmax = np.empty(shape, np.int64)
    _max_pool_kernel(*geometry)(x, out, argmax, *rows, *cols, *dilation)
    return out, argmax


@threaded
def _max_pool_backward_kernel(grad_out, argmax, grad_x):
    N, C, OH, OW = grad_out.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        flat = grad_x[n, c].reshape(-1)
        for oh in range(OH):
            for ow in range(OW):
                at = argmax[n, c, oh, ow]
                if at >= 0:  # NO_INPUT: the window held no input element to pass it to
                    flat[at] += grad_out[n, c, oh, ow]


def max_pool2d_backward(grad_out: np.ndarray, argmax: np.ndarray, input_shape) -> np.ndarray:
    """dL/dx (N, C, H, W): each output's gradient goes to the input element that was its
    maximum (summed where windows overlap); every other element gets zero, and a window
    with no input element (argmax ``NO_INPUT``) passes nothing."""
    grad_x = np.zeros(input_shape, grad_out.dtype)
    _max_pool_backward_kernel(grad_out, argmax, grad_x)
    return grad_x


def adaptive_max_pool2d_forward(x: np.ndarray, output_size: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Maxima over an ``output_size`` grid of near-equal windows (those of adaptive average
    pooling): (N, C, H, W) -> (N, C, OH, OW), and each maximum's flat index h * W + w (int64)
    for ``max_pool2d_backward``. The window tables of the max-pool kernel take the adaptive
    windows as they are: a start and a count of unit-spaced taps per output."""
    shape = x.shape[:2] + tuple(output_size)
    out = np.empty(shape, x.dtype)
    argmax = np.empty(shape, np.int64)
    h_start, _, h_count = _adaptive_windows(x.shape[2], output_size[0])
    w_start, _, w_count = _adaptive_windows(x.shape[3], output_size[1])
    _max_pool_kernel(*(0,) * 6)(x, out, argmax, h_start, h_count, w_start, w_count, 1, 1)
    return out, argmax


# ---------------------------------------------------------------------------------------------
# Window means: average pooling (sum pooling divides by 1) and adaptive average pooling share
# one kernel, each window given by per-axis tables [start, stop) and a divisor.
# ---------------------------------------------------------------------------------------------


@threaded
def _window_mean_kernel(x, out, h_start, h_stop, h_count, w_start, w_stop, w_count, divisor):
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        plane = x[n, c]
        for oh in range(OH):
            h0, h1 = h_start[oh], h_stop[oh]
            for ow in range(OW):
                w0, w1 = w_start[ow], w_stop[ow]
                if h0 >= h1 or w0 >= w1:  # no input element: PyTorch's 0, and no read
                    out[n, c, oh, ow] = 0
                    continue
                total = plane[h0, w0] * 0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += plane[h, w]
                count = divisor if divisor > 0 else h_count[oh] * w_count[ow]
                out[n, c, oh, ow] = total / count


@threaded
def _window_mean_backward_kernel(grad_out, grad_x, h_start, h_stop, h_count, w_start, w_stop,
                                 w_count, divisor):
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        plane = grad_x[n, c]
        for oh in range(OH):
            h0, h1 = h_start[oh], h_stop[oh]
            for ow in range(OW):
                w0, w1 = w_start[ow], w_stop[ow]
                if h0 >= h1 or w0 >= w1:  # an empty window's count may be 0: nothing to share
                    continue
                count = divisor if divisor > 0 else h_count[oh] * w_count[ow]
                share = grad_out[n, c, oh, ow] / count
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        plane[h, w] += share


def _avg_tables(input_shape, out_shape, kernel_size, stride, padding, count_include_pad):
    rows = _avg_windows(input_shape[2], out_shape[2], kernel_size[0], stride[0], padding[0],
                        count_include_pad)
    cols = _avg_windows(input_shape[3], out_shape[3], kernel_size[1], stride[1], padding[1],
                        count_include_pad)
    return rows + cols


def avg_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair,
                       ceil_mode: bool, count_include_pad: bool,
                       divisor_override: int | None) -> np.ndarray:
    """Window means (N, C, H, W) -> (N, C, OH, OW), divided by the window's size (with or
    without its padding) or by ``divisor_override``."""
    shape = _output_shape(x.shape, kernel_size, stride, padding, (1, 1), ceil_mode)
    out = np.empty(shape, x.dtype)
    tables = _avg_tables(x.shape, shape, kernel_size, stride, padding, count_include_pad)
    _window_mean_kernel(x, out, *tables, divisor_override or 0)
    return out


def avg_pool2d_backward(grad_out: np.ndarray, input_shape, kernel_size: Pair, stride: Pair,
                        padding: Pair, ceil_mode: bool, count_include_pad: bool,
                        divisor_override: int | None) -> np.ndarray:
    """dL/dx: each output's gradient, divided like the forward, spread over its window."""
    grad_x = np.zeros(input_shape, grad_out.dtype)
    tables = _avg_tables(input_shape, grad_out.shape, kernel_size, stride, padding,
                         count_include_pad)
    _window_mean_backward_kernel(grad_out, grad_x, *tables, divisor_override or 0)
    return grad_x


def adaptive_avg_pool2d_forward(x: np.ndarray, output_size: Pair) -> np.ndarray:
    """Means over an ``output_size`` grid of near-equal windows: (N, C, H, W) -> (N, C, OH, OW)."""
    out = np.empty(x.shape[:2] + tuple(output_size), x.dtype)
    tables = _adaptive_windows(x.shape[2], output_size[0]) + _adaptive_windows(
        x.shape[3], output_size[1])
    _window_mean_kernel(x, out, *tables, 0)
    return out


def adaptive_avg_pool2d_backward(grad_out: np.ndarray, input_shape) -> np.ndarray:
    """dL/dx: each output's gradient divided by its window's size, spread over the window."""
    grad_x = np.zeros(input_shape, grad_out.dtype)
    tables = _adaptive_windows(input_shape[2], grad_out.shape[2]) + _adaptive_windows(
        input_shape[3], grad_out.shape[3])
    _window_mean_backward_kernel(grad_out, grad_x, *tables, 0)
    return grad_x
