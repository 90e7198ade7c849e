"""Pooling on the GPU: max, average (and so sum), adaptive average and adaptive max, forward
and backward.

Forward kernels give one thread one output pixel (grid-stride over ``N * C * OH * OW``):
neighbouring threads take neighbouring output columns, whose windows are neighbouring input
columns, so the reads coalesce. Backward kernels give one thread one *output* gradient and
scatter it into the input with atomic adds: windows may overlap (stride < kernel), and an
atomic add is what lets two threads write one input element safely. Window bounds are
clamped once per output, as on the CPU (``kernels/cpu/pool.py``, same conventions): a
max-pool window with no input element (wholly in the padding) gives -inf and the argmax
``NO_INPUT`` (-1), which the backward skips, and an empty average window gives 0 and no
gradient, so no thread ever indexes outside its plane.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..shapes import pool_output_size
from .launch import grid_1d
from .memory import zeros

Pair = tuple[int, int]

# argmax of a max-pool window that holds no input element (it lies wholly in the padding)
NO_INPUT = -1


def _output_shape(x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    N, C, H, W = x_shape
    OH = pool_output_size(H, kernel_size[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = pool_output_size(W, kernel_size[1], stride[1], padding[1], dilation[1], ceil_mode)
    return N, C, OH, OW


@cuda.jit(device=True, inline=True, cache=True)
def _first_tap(start, dilation):
    """The first tap k >= 0 of a dilated window starting at ``start`` with start + k*d >= 0."""
    return 0 if start >= 0 else (-start + dilation - 1) // dilation


@cuda.jit(device=True, inline=True, cache=True)
def _avg_window(o, stride, pad, kernel, size, count_include_pad):
    """Clamped window [start, end) of output ``o`` and its length in the divisor."""
    start = o * stride - pad
    end = min(start + kernel, size + pad)
    padded_length = end - start
    start = max(start, 0)
    end = min(end, size)
    return start, end, padded_length if count_include_pad else end - start


@cuda.jit(device=True, inline=True, cache=True)
def _unravel(k, OH, OW):
    """(plane, oh, ow) of flat output index ``k``; plane = n * C + c."""
    ow = k % OW
    oh = (k // OW) % OH
    return k // (OH * OW), oh, ow


# ---------------------------------------------------------------------------------------------
# Max pooling


@cuda.jit(cache=True)
def _max_pool_kernel(x, out, argmax, KH, KW, sh, sw, ph, pw, dh, dw):
    """One thread per output pixel: the window's first maximum and its flat h * W + w
    (NO_INPUT when no tap of the window is inside the input)."""
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        plane, oh, ow = _unravel(k, OH, OW)
        n, c = plane // C, plane % C
        h0 = oh * sh - ph
        w0 = ow * sw - pw
        kh0 = _first_tap(h0, dh)
        kh1 = min(KH, (H - 1 - h0) // dh + 1)
        kw0 = _first_tap(w0, dw)
        kw1 = min(KW, (W - 1 - w0) // dw + 1)
        best_h = h0 + kh0 * dh
        best_w = w0 + kw0 * dw
        best = -math.inf
        for kh in range(kh0, kh1):
            h = h0 + kh * dh
            for kw in range(kw0, kw1):
                w = w0 + kw * dw
                value = x[n, c, h, w]
                # strict > keeps the first maximum; NaN wins, as in PyTorch
                if value > best or math.isnan(value):
                    best = value
                    best_h = h
                    best_w = w
        out[n, c, oh, ow] = best
        # an all -inf window still names its first tap, as PyTorch does; an empty one, none
        argmax[n, c, oh, ow] = best_h * W + best_w if kh0 < kh1 and kw0 < kw1 else NO_INPUT


def max_pool2d_forward(x, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                       ceil_mode: bool):
    """Window maxima (N, C, H, W) -> (N, C, OH, OW), and each maximum's flat index h * W + w
    in its (H, W) plane (int64, same shape) for the backward pass. Padding counts as -inf; a
    window wholly in the padding gives -inf and the index ``NO_INPUT`` (-1)."""
    shape = _output_shape(tuple(x.shape), kernel_size, stride, padding, dilation, ceil_mode)
    out = cuda.device_array(shape, dtype=x.dtype)
    argmax = cuda.device_array(shape, dtype=np.int64)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _max_pool_kernel[blocks, threads](x, out, argmax, *kernel_size, *stride, *padding,
                                          *dilation)
    return out, argmax


@cuda.jit(cache=True)
def _max_pool_backward_kernel(grad_out, argmax, grad_x, per_plane, plane_size):
    """One thread per output gradient: added atomically to its window's maximum (none for a
    window with no input element)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, grad_out.size, stride):
        # NO_INPUT would land on the previous plane's last element: skip it
        if argmax[k] >= 0:
            plane = k // per_plane
            cuda.atomic.add(grad_x, plane * plane_size + argmax[k], grad_out[k])


def max_pool2d_backward(grad_out, argmax, input_shape):
    """dL/dx (N, C, H, W): each output's gradient goes to the input element that was its
    maximum (summed where windows overlap); every other element gets zero, and a window
    with no input element (argmax ``NO_INPUT``) passes nothing."""
    grad_x = zeros(tuple(input_shape), grad_out.dtype)
    if grad_out.size:
        blocks, threads = grid_1d(grad_out.size)
        _max_pool_backward_kernel[blocks, threads](
            grad_out.reshape(grad_out.size), argmax.reshape(argmax.size),
            grad_x.reshape(grad_x.size), grad_out.shape[2] * grad_out.shape[3],
            input_shape[2] * input_shape[3],
        )  # fmt: skip
    return grad_x


# ---------------------------------------------------------------------------------------------
# Average pooling (sum pooling is divisor_override=1)


@cuda.jit(cache=True)
def _avg_pool_kernel(x, out, KH, KW, sh, sw, ph, pw, count_include_pad, divisor):
    """One thread per output pixel: the mean of its clamped window."""
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        plane, oh, ow = _unravel(k, OH, OW)
        n, c = plane // C, plane % C
        h0, h1, count_h = _avg_window(oh, sh, ph, KH, H, count_include_pad)
        w0, w1, count_w = _avg_window(ow, sw, pw, KW, W, count_include_pad)
        if h0 >= h1 or w0 >= w1:
            out[n, c, oh, ow] = 0
            continue
        total = x[n, c, h0, w0] * 0
        for h in range(h0, h1):
            for w in range(w0, w1):
                total += x[n, c, h, w]
        out[n, c, oh, ow] = total / (divisor if divisor > 0 else count_h * count_w)


def avg_pool2d_forward(x, kernel_size: Pair, stride: Pair, padding: Pair, ceil_mode: bool,
                       count_include_pad: bool, divisor_override: int | None):
    """Window means (N, C, H, W) -> (N, C, OH, OW), divided by the window's size (with or
    without its padding) or by ``divisor_override``."""
    shape = _output_shape(tuple(x.shape), kernel_size, stride, padding, (1, 1), ceil_mode)
    out = cuda.device_array(shape, dtype=x.dtype)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _avg_pool_kernel[blocks, threads](x, out, *kernel_size, *stride, *padding,
                                          bool(count_include_pad), int(divisor_override or 0))
    return out


@cuda.jit(cache=True)
def _avg_pool_backward_kernel(grad_out, grad_x, KH, KW, sh, sw, ph, pw, count_include_pad,
                              divisor):
    """One thread per output gradient: its share added atomically over its window."""
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, grad_out.size, stride):
        plane, oh, ow = _unravel(k, OH, OW)
        n, c = plane // C, plane % C
        h0, h1, count_h = _avg_window(oh, sh, ph, KH, H, count_include_pad)
        w0, w1, count_w = _avg_window(ow, sw, pw, KW, W, count_include_pad)
        if h0 >= h1 or w0 >= w1:
            continue
        share = grad_out[n, c, oh, ow] / (divisor if divisor > 0 else count_h * count_w)
        for h in range(h0, h1):
            for w in range(w0, w1):
                cuda.atomic.add(grad_x, (n, c, h, w), share)


def avg_pool2d_backward(grad_out, input_shape, kernel_size: Pair, stride: Pair, padding: Pair,
                        ceil_mode: bool, count_include_pad: bool, divisor_override: int | None):
    """dL/dx: each output's gradient, divided like the forward, spread over its window."""
    grad_x = zeros(tuple(input_shape), grad_out.dtype)
    if grad_out.size:
        blocks, threads = grid_1d(grad_out.size)
        _avg_pool_backward_kernel[blocks, threads](
            grad_out, grad_x, *kernel_size, *stride, *padding, bool(count_include_pad),
            int(divisor_override or 0),
        )  # fmt: skip
    return grad_x


# ---------------------------------------------------------------------------------------------
# Adaptive average pooling: window i covers [floor(i * H / OH), ceil((i + 1) * H / OH))


@cuda.jit(device=True, inline=True, cache=True)
def _adaptive_window(i, size, out_size):
    """``[start, stop)`` of window ``i`` of ``out_size`` near-equal windows over ``size``."""
    return i * size // out_size, -(-(i + 1) * size // out_size)


@cuda.jit(cache=True)
def _adaptive_avg_pool_kernel(x, out):
    """One thread per output pixel: the mean of its near-equal window."""
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        plane, oh, ow = _unravel(k, OH, OW)
        n, c = plane // C, plane % C
        h0, h1 = _adaptive_window(oh, H, OH)
        w0, w1 = _adaptive_window(ow, W, OW)
        if h0 >= h1 or w0 >= w1:  # only an empty input (H or W 0) has empty windows
            out[n, c, oh, ow] = 0
            continue
        total = x[n, c, h0, w0] * 0
        for h in range(h0, h1):
            for w in range(w0, w1):
                total += x[n, c, h, w]
        out[n, c, oh, ow] = total / ((h1 - h0) * (w1 - w0))


def adaptive_avg_pool2d_forward(x, output_size: Pair):
    """Means over an ``output_size`` grid of near-equal windows: (N, C, H, W) -> (N, C, OH, OW)."""
    out = cuda.device_array(tuple(x.shape[:2]) + tuple(output_size), dtype=x.dtype)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _adaptive_avg_pool_kernel[blocks, threads](x, out)
    return out


@cuda.jit(cache=True)
def _adaptive_avg_pool_backward_kernel(grad_out, grad_x):
    """One thread per output gradient: its share added atomically over its window."""
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, grad_out.size, stride):
        plane, oh, ow = _unravel(k, OH, OW)
        n, c = plane // C, plane % C
        h0, h1 = _adaptive_window(oh, H, OH)
        w0, w1 = _adaptive_window(ow, W, OW)
        if h0 >= h1 or w0 >= w1:
            continue
        share = grad_out[n, c, oh, ow] / ((h1 - h0) * (w1 - w0))
        for h in range(h0, h1):
            for w in range(w0, w1):
                cuda.atomic.add(grad_x, (n, c, h, w), share)


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    """dL/dx: each output's gradient divided by its window's size, spread over the window."""
    grad_x = zeros(tuple(input_shape), grad_out.dtype)
    if grad_out.size:
        blocks, threads = grid_1d(grad_out.size)
        _adaptive_avg_pool_backward_kernel[blocks, threads](grad_out, grad_x)
    return grad_x


@cuda.jit(cache=True)
def _adaptive_max_pool_kernel(x, out, argmax):
    """One thread per output pixel: the first maximum of its near-equal window and its flat
    h * W + w (the input is never empty here: the op refuses empty planes)."""
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        plane, oh, ow = _unravel(k, OH, OW)
        n, c = plane // C, plane % C
        h0, h1 = _adaptive_window(oh, H, OH)
        w0, w1 = _adaptive_window(ow, W, OW)
        best = -math.inf
        best_h = h0
        best_w = w0
        for h in range(h0, h1):
            for w in range(w0, w1):
                value = x[n, c, h, w]
                # strict > keeps the first maximum; NaN wins, as in PyTorch
                if value > best or math.isnan(value):
                    best = value
                    best_h = h
                    best_w = w
        out[n, c, oh, ow] = best
        argmax[n, c, oh, ow] = best_h * W + best_w


def adaptive_max_pool2d_forward(x, output_size: Pair):
    """Maxima over an ``output_size`` grid of near-equal windows: (N, C, H, W) -> (N, C, OH, OW),
    and each maximum's flat index h * W + w (int64) for ``max_pool2d_backward``."""
    shape = tuple(x.shape[:2]) + tuple(output_size)
    out = cuda.device_array(shape, dtype=x.dtype)
    argmax = cuda.device_array(shape, dtype=np.int64)
    if out.size:
        blocks, threads = grid_1d(out.size)
        _adaptive_max_pool_kernel[blocks, threads](x, out, argmax)
    return out, argmax
