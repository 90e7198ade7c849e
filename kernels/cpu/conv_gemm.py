"""Convolution as one matrix product through NumPy's BLAS: 1x1 convolutions and small maps.

The direct kernels of ``conv.py`` vectorise along a row of output pixels. On an 8x8, 4x4 or
2x2 map (resnet18's last stages at 64x64) much of each vector is padding, and a 1x1 conv
has one tap per input channel, too few to hide the accumulators' loads: measured on 2 threads
against one-thread OpenBLAS, a 3x3 256-channel conv on 4x4 maps ran at 28 GFLOP/s direct
and 60 as a product, a 1x1 conv 384 -> 64 on 4x4 maps at 8 and 59, and 1x1 convs on 56x56
maps at the same speed both ways. So a convolution with ``groups == 1`` goes here when its
kernel is 1x1 without padding, or its output has at most ``GEMM_MAX_PIXELS`` pixels.

The product, with T = C * KH * KW taps and P = OH * OW output pixels per image:

- 1x1 on maps of 16 pixels or more: ``x`` subsampled by the stride is the (N, C, P)
  operand; ``out[n] = W (O, C) @ x[n]``, ``dx[n] = W^T @ dout[n]``, ``dW = sum_n dout[n] @ x[n]^T``.
- otherwise, im2col: ``cols`` (T, N * P) holds for every tap the input pixel each output
  pixel reads (zero in the padding), built by a Numba loop over the channels;
  ``out = W (O, T) @ cols``, ``dW = dout (O, N * P) @ cols^T``, and ``dcols = W^T @ dout``
  added back at the pixels each tap read (col2im; the padding is never stored).

``columns`` is the layout that forward hands to the weight gradient, like the planes of the
direct kernels. NumPy's BLAS runs on one thread (``tinygradcnn/backend.py``: its own pool
would spin against Numba's); a large product is cut across the cores by Python threads
(``matmul.product``: a (512, 4608) @ (4608, 196) from 97 to 190 GFLOP/s on 2 cores).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ..shapes import ConvGeometry
from .launch import threaded
from .matmul import product

# 8x8 maps and smaller: resnet18's step at 64x64 (batch 16) took 5% less time with 64 than
# with 16 or 256, alternating in one process
GEMM_MAX_PIXELS = 64


def uses_gemm(geometry: ConvGeometry) -> bool:
    """Whether this convolution is computed here rather than by the direct kernels."""
    if geometry.groups != 1 or geometry.batch == 0:
        return False
    return _pointwise(geometry) or geometry.out_height * geometry.out_width <= GEMM_MAX_PIXELS


def _pointwise(geometry: ConvGeometry) -> bool:
    return (geometry.kernel_height, geometry.kernel_width) == (1, 1) and not any(
        geometry.padding)


def _batched(geometry: ConvGeometry) -> bool:
    """A 1x1 conv on maps of 16 pixels or more is N products (O, C) @ (C, P) on x as it is;
    on smaller maps the N * P columns of one product were faster (2x2: 0.5 ms against 1.3)."""
    return _pointwise(geometry) and geometry.out_height * geometry.out_width >= 16


@threaded
def _im2col_kernel(x, top, left, sh, sw, dh, dw, cols):
    """cols[c, kh, kw, n, i, j] = x[n, c, i * sh + kh * dh - top, j * sw + kw * dw - left],
    0 where that falls in the padding."""
    C, KH, KW, N, OH, OW = cols.shape
    H, W = x.shape[2], x.shape[3]
    for c in prange(C):
        for kh in range(KH):
            for kw in range(KW):
                for n in range(N):
                    for i in range(OH):
                        row = i * sh + kh * dh - top
                        inside = 0 <= row < H
                        for j in range(OW):
                            col = j * sw + kw * dw - left
                            cols[c, kh, kw, n, i, j] = (
                                x[n, c, row, col] if inside and 0 <= col < W else 0.0)


@threaded
def _col2im_kernel(grad_cols, top, left, sh, sw, dh, dw, grad_x):
    """The adjoint of ``_im2col_kernel``: every column entry added back to the input pixel
    it was read from (one channel per task, so no two tasks write the same pixel)."""
    C, KH, KW, N, OH, OW = grad_cols.shape
    H, W = grad_x.shape[2], grad_x.shape[3]
    for c in prange(C):
        for n in range(N):
            grad_x[n, c] = 0.0
        for kh in range(KH):
            for kw in range(KW):
                for n in range(N):
                    for i in range(OH):
                        row = i * sh + kh * dh - top
                        if 0 <= row < H:
                            for j in range(OW):
                                col = j * sw + kw * dw - left
                                if 0 <= col < W:
                                    grad_x[n, c, row, col] += grad_cols[c, kh, kw, n, i, j]


def _kernel_args(geometry: ConvGeometry) -> tuple[int, ...]:
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    return (geometry.padding[0], geometry.padding[2], sh, sw, dh, dw)


def columns(x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """The product's operand: (N, C, P) for a 1x1 conv on 16 or more pixels, else im2col's
    (T, N * P)."""
    sh, sw = geometry.stride
    if _batched(geometry):
        picked = x if (sh, sw) == (1, 1) else x[:, :, ::sh, ::sw]
        return np.ascontiguousarray(picked).reshape(geometry.batch, geometry.in_channels, -1)
    cols = np.empty((geometry.in_channels, geometry.kernel_height, geometry.kernel_width,
                     geometry.batch, geometry.out_height, geometry.out_width), x.dtype)
    _im2col_kernel(np.ascontiguousarray(x), *_kernel_args(geometry), cols)
    return cols.reshape(cols.shape[0] * cols.shape[1] * cols.shape[2], -1)


def _by_channel(array: np.ndarray) -> np.ndarray:
    """(N, O, OH, OW) or (N, O, P) -> (O, N * P), the layout of ``W @ cols``."""
    N, O = array.shape[:2]
    return np.ascontiguousarray(array.reshape(N, O, -1).transpose(1, 0, 2)).reshape(O, -1)


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
            geometry: ConvGeometry, cols: np.ndarray | None = None) -> np.ndarray:
    """(N, C, H, W) * (O, C, KH, KW) -> (N, O, OH, OW); ``cols``: ``columns(x, geometry)``."""
    cols = columns(x, geometry) if cols is None else cols
    N, O = geometry.batch, geometry.out_channels
    w = weight.reshape(O, -1)
    if _batched(geometry):
        out = product(w, cols)  # (N, O, P)
    else:
        out = np.ascontiguousarray(product(w, cols).reshape(O, N, -1).transpose(1, 0, 2))
    if bias is not None:
        out += bias.reshape(1, O, 1)
    return out.reshape(geometry.output_shape)


def backward_weight(grad_out: np.ndarray, x: np.ndarray, geometry: ConvGeometry,
                    cols: np.ndarray | None = None) -> np.ndarray:
    """dL/dW (O, C, KH, KW) from dL/dout (N, O, OH, OW)."""
    cols = columns(x, geometry) if cols is None else cols
    if _batched(geometry):  # sum_n dout[n] @ x[n]^T as one product over (n, p)
        grad = product(_by_channel(grad_out), _by_channel(cols).T)
    else:
        grad = product(_by_channel(grad_out), cols.T)
    return np.ascontiguousarray(grad, dtype=x.dtype).reshape(geometry.weight_shape)


def backward_input(grad_out: np.ndarray, weight: np.ndarray,
                   geometry: ConvGeometry) -> np.ndarray:
    """dL/dx (N, C, H, W) from dL/dout (N, O, OH, OW)."""
    N, C, O = geometry.batch, geometry.in_channels, geometry.out_channels
    w = weight.reshape(O, -1)
    if _batched(geometry):
        picked = product(w.T, grad_out.reshape(N, O, -1)).reshape(
            N, C, geometry.out_height, geometry.out_width)
        if geometry.stride == (1, 1):
            return picked
        grad_x = np.zeros(geometry.input_shape, grad_out.dtype)
        grad_x[:, :, ::geometry.stride[0], ::geometry.stride[1]] = picked
        return grad_x
    KH, KW, OH, OW = (geometry.kernel_height, geometry.kernel_width, geometry.out_height,
                      geometry.out_width)
    grad_cols = product(w.T, _by_channel(grad_out)).reshape(C, KH, KW, N, OH, OW)
    grad_x = np.empty(geometry.input_shape, grad_out.dtype)
    _col2im_kernel(grad_cols, *_kernel_args(geometry), grad_x)
    return grad_x
