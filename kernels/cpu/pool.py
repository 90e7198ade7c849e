"""Pooling on the CPU: max, average (and so sum) and adaptive average, forward and backward.

Each kernel runs one (sample, channel) plane per job: planes are independent, so the
backward scatter (``grad_input[argmax] += grad``, overlapping windows included) never races.
Windows are clamped to the input once per output pixel rather than testing every element
against the padding, which keeps the inner loops branch-free.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

Pair = tuple[int, int]


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int,
                     ceil_mode: bool) -> int:
    """PyTorch's pooling output length: with ceil_mode the last window must start inside
    the input or its left padding."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _output_shape(x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    N, C, H, W = x_shape
    OH = pool_output_size(H, kernel_size[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = pool_output_size(W, kernel_size[1], stride[1], padding[1], dilation[1], ceil_mode)
    return N, C, OH, OW


@njit(inline="always")
def _first_tap(start, dilation):
    """The first tap k >= 0 of a window starting at ``start`` with start + k * d >= 0."""
    return 0 if start >= 0 else (-start + dilation - 1) // dilation


# ---------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _max_pool_kernel(x, out, argmax, KH, KW, sh, sw, ph, pw, dh, dw):
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        plane = x[n, c]
        for oh in range(OH):
            h0 = oh * sh - ph
            kh0 = _first_tap(h0, dh)
            kh1 = min(KH, (H - 1 - h0) // dh + 1)
            for ow in range(OW):
                w0 = ow * sw - pw
                kw0 = _first_tap(w0, dw)
                kw1 = min(KW, (W - 1 - w0) // dw + 1)
                best_h = h0 + kh0 * dh
                best_w = w0 + kw0 * dw
                best = -np.inf
                for kh in range(kh0, kh1):
                    h = h0 + kh * dh
                    for kw in range(kw0, kw1):
                        w = w0 + kw * dw
                        value = plane[h, w]
                        # strict > keeps the first maximum; NaN wins, as in PyTorch
                        if value > best or np.isnan(value):
                            best = value
                            best_h = h
                            best_w = w
                out[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = best_h * W + best_w


def max_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair,
                       dilation: Pair, ceil_mode: bool) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, H, W) -> (N, C, OH, OW), and each maximum's flat index h * W + w
    in its (H, W) plane (int64, same shape) for the backward pass. Padding counts as -inf."""
    shape = _output_shape(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    out = np.empty(shape, x.dtype)
    argmax = np.empty(shape, np.int64)
    _max_pool_kernel(x, out, argmax, *kernel_size, *stride, *padding, *dilation)
    return out, argmax


@njit(parallel=True, cache=True)
def _max_pool_backward_kernel(grad_out, argmax, grad_x):
    N, C, OH, OW = grad_out.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        flat = grad_x[n, c].reshape(-1)
        for oh in range(OH):
            for ow in range(OW):
                flat[argmax[n, c, oh, ow]] += grad_out[n, c, oh, ow]


def max_pool2d_backward(grad_out: np.ndarray, argmax: np.ndarray, input_shape) -> np.ndarray:
    """dL/dx: each output's gradient goes to the input element that was its maximum
    (summed where windows overlap); every other element gets zero."""
    grad_x = np.zeros(input_shape, grad_out.dtype)
    _max_pool_backward_kernel(grad_out, argmax, grad_x)
    return grad_x


# ---------------------------------------------------------------------------------------------
# Average pooling (sum pooling is divisor_override=1)
# ---------------------------------------------------------------------------------------------


@njit(inline="always")
def _avg_window(o, stride, pad, kernel, size, count_include_pad):
    """Clamped window [start, end) of output ``o`` and its length in the divisor."""
    start = o * stride - pad
    end = min(start + kernel, size + pad)
    padded_length = end - start
    start = max(start, 0)
    end = min(end, size)
    return start, end, padded_length if count_include_pad else end - start


@njit(parallel=True, cache=True)
def _avg_pool_kernel(x, out, KH, KW, sh, sw, ph, pw, count_include_pad, divisor):
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        for oh in range(OH):
            h0, h1, count_h = _avg_window(oh, sh, ph, KH, H, count_include_pad)
            for ow in range(OW):
                w0, w1, count_w = _avg_window(ow, sw, pw, KW, W, count_include_pad)
                if h0 >= h1 or w0 >= w1:
                    out[n, c, oh, ow] = 0
                    continue
                total = x[n, c, h0, w0] * 0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += x[n, c, h, w]
                out[n, c, oh, ow] = total / (divisor if divisor > 0 else count_h * count_w)


def avg_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair,
                       ceil_mode: bool, count_include_pad: bool,
                       divisor_override: int | None) -> np.ndarray:
    """Window means (N, C, H, W) -> (N, C, OH, OW), divided by the window's size (with or
    without its padding) or by ``divisor_override``."""
    shape = _output_shape(x.shape, kernel_size, stride, padding, (1, 1), ceil_mode)
    out = np.empty(shape, x.dtype)
    _avg_pool_kernel(x, out, *kernel_size, *stride, *padding, count_include_pad,
                     divisor_override or 0)
    return out


@njit(parallel=True, cache=True)
def _avg_pool_backward_kernel(grad_out, grad_x, KH, KW, sh, sw, ph, pw, count_include_pad,
                              divisor):
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        for oh in range(OH):
            h0, h1, count_h = _avg_window(oh, sh, ph, KH, H, count_include_pad)
            for ow in range(OW):
                w0, w1, count_w = _avg_window(ow, sw, pw, KW, W, count_include_pad)
                if h0 >= h1 or w0 >= w1:
                    continue
                share = grad_out[n, c, oh, ow] / (divisor if divisor > 0 else count_h * count_w)
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        grad_x[n, c, h, w] += share


def avg_pool2d_backward(grad_out: np.ndarray, input_shape, kernel_size: Pair, stride: Pair,
                        padding: Pair, ceil_mode: bool, count_include_pad: bool,
                        divisor_override: int | None) -> np.ndarray:
    """dL/dx: each output's gradient, divided like the forward, spread over its window."""
    grad_x = np.zeros(input_shape, grad_out.dtype)
    _avg_pool_backward_kernel(grad_out, grad_x, *kernel_size, *stride, *padding,
                              count_include_pad, divisor_override or 0)
    return grad_x


# ---------------------------------------------------------------------------------------------
# Adaptive average pooling: window i covers [floor(i * H / OH), ceil((i + 1) * H / OH))
# ---------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _adaptive_avg_pool_kernel(x, out):
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        for oh in range(OH):
            h0 = oh * H // OH
            h1 = -(-(oh + 1) * H // OH)
            for ow in range(OW):
                w0 = ow * W // OW
                w1 = -(-(ow + 1) * W // OW)
                total = x[n, c, h0, w0] * 0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += x[n, c, h, w]
                out[n, c, oh, ow] = total / ((h1 - h0) * (w1 - w0))


def adaptive_avg_pool2d_forward(x: np.ndarray, output_size: Pair) -> np.ndarray:
    """Means over an ``output_size`` grid of near-equal windows: (N, C, H, W) -> (N, C, OH, OW)."""
    out = np.empty(x.shape[:2] + tuple(output_size), x.dtype)
    _adaptive_avg_pool_kernel(x, out)
    return out


@njit(parallel=True, cache=True)
def _adaptive_avg_pool_backward_kernel(grad_out, grad_x):
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        for oh in range(OH):
            h0 = oh * H // OH
            h1 = -(-(oh + 1) * H // OH)
            for ow in range(OW):
                w0 = ow * W // OW
                w1 = -(-(ow + 1) * W // OW)
                share = grad_out[n, c, oh, ow] / ((h1 - h0) * (w1 - w0))
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        grad_x[n, c, h, w] += share


def adaptive_avg_pool2d_backward(grad_out: np.ndarray, input_shape) -> np.ndarray:
    """dL/dx: each output's gradient divided by its window's size, spread over the window."""
    grad_x = np.zeros(input_shape, grad_out.dtype)
    _adaptive_avg_pool_backward_kernel(grad_out, grad_x)
    return grad_x
