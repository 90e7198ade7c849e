"""Pooling: max, average, sum, adaptive average and adaptive max, in 2-d and 1-d (a 1-d pool
is the 2-d pool of a 1-pixel-high image), with PyTorch's arguments, defaults and output sizes.

Output size along one axis (``ceil_mode`` rounds up, but the last window must still start
inside the input or its left padding)::

    out = floor_or_ceil((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1

Gradients: max pooling sends each output's gradient to the element that was the maximum
(the forward keeps its index); average pooling spreads it evenly over the window.
"""

from __future__ import annotations

from ..autograd import Function
from ..kernels.shapes import pool_output_size
from ..tensor import Tensor
from ._checks import as_int, float_tensor, int_tuple, ndim_in

Pair = tuple[int, int]


class MaxPool2d(Function):
    """y = max over each window;  dx[argmax] += dy."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode):
        out, ctx.argmax = ctx.kernels.max_pool2d_forward(x, kernel_size, stride, padding,
                                                         dilation, ceil_mode)
        ctx.input_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.max_pool2d_backward(grad, ctx.argmax, ctx.input_shape)


class AvgPool2d(Function):
    """y = sum over each window / divisor;  dx[window] += dy / divisor."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
        ctx.input_shape = x.shape
        ctx.params = (kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)
        return ctx.kernels.avg_pool2d_forward(x, *ctx.params)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.avg_pool2d_backward(grad, ctx.input_shape, *ctx.params)


class AdaptiveAvgPool2d(Function):
    """y[i, j] = mean of window (i, j) of an output_size grid;  dx[window] += dy / size."""

    @staticmethod
    def forward(ctx, x, output_size):
        ctx.input_shape = x.shape
        return ctx.kernels.adaptive_avg_pool2d_forward(x, output_size)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.adaptive_avg_pool2d_backward(grad, ctx.input_shape)


class AdaptiveMaxPool2d(Function):
    """y[i, j] = max of window (i, j) of an output_size grid;  dx[argmax] += dy (the
    max-pool backward). ``indices``, a list, receives the argmax array for
    ``return_indices`` (the output is one array; the graph may not be recorded)."""

    @staticmethod
    def forward(ctx, x, output_size, indices):
        out, ctx.argmax = ctx.kernels.adaptive_max_pool2d_forward(x, output_size)
        ctx.input_shape = x.shape
        indices.append(ctx.argmax)
        return out

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.max_pool2d_backward(grad, ctx.argmax, ctx.input_shape)


def _check_not_empty(op: str, input: Tensor, batched_ndim: int) -> None:
    """PyTorch's rule: only the batch may be empty (an empty plane has no windows to pool)."""
    sizes = input.shape[1:] if input.ndim == batched_ndim else input.shape
    if 0 in sizes:
        raise ValueError(f"{op}: input may be empty only along the batch, got shape "
                         f"{input.shape}")


def _pool_args(op: str, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate a 2-d pool's arguments; returns (batched input, unbatched?, pairs...)."""
    float_tensor(op, "input", input)
    ndim_in(op, "input", input, (3, 4), "(N, C, H, W) or (C, H, W)")
    _check_not_empty(op, input, 4)
    kernel = int_tuple(op, "kernel_size", kernel_size, 2, minimum=1)
    default_stride = stride is None or isinstance(stride, (tuple, list)) and not stride
    stride = kernel if default_stride else int_tuple(op, "stride", stride, 2, minimum=1)
    padding = int_tuple(op, "padding", padding, 2, minimum=0)
    dilation = int_tuple(op, "dilation", dilation, 2, minimum=1)
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"{op}: ceil_mode must be a bool, got {ceil_mode!r}")
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:  # PyTorch's rule
        raise ValueError(f"{op}: padding {padding} must be at most half of the kernel "
                         f"size {kernel}")
    height = input.shape[-2] + 2 * padding[0]
    width = input.shape[-1] + 2 * padding[1]
    spans = [dilation[a] * (kernel[a] - 1) + 1 for a in range(2)]
    # PyTorch's rule is "at least one output": in ceil mode a window may overhang a map
    # smaller than itself (GoogLeNet's 3x3 pools at its smallest input, 15x15, meet 2x2 maps)
    fits = [pool_output_size(input.shape[a - 2], kernel[a], stride[a], padding[a],
                             dilation[a], True) >= 1 if ceil_mode
            else spans[a] <= (height, width)[a] for a in range(2)]
    if not all(fits):
        size = kernel[0] if kernel[0] == kernel[1] and dilation == (1, 1) else \
            f"{spans[0]}x{spans[1]}"
        raise ValueError(f"{op}: kernel_size {size} larger than padded input {height}x{width}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    return x, unbatched, kernel, stride, padding, dilation


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """Maximum over each ``kernel_size`` window: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW).

    ``stride`` defaults to ``kernel_size``; padding counts as -inf and is at most half the
    kernel size. Sizes that the window does not divide drop the remainder (or, with
    ``ceil_mode``, add a partial window). The gradient flows to each window's maximum only.

    Worked example: 2x2 max pooling of a 4x4 image gives 2x2, the maximum of each quadrant:

    >>> x = tg.tensor([[[[1., 2., 5., 6.], [3., 4., 7., 8.],
    ...                  [9., 0., 2., 1.], [6., 5., 4., 3.]]]])
    >>> max_pool2d(x, 2)
    # [[[[4., 8.],
    #    [9., 4.]]]]
    """
    x, unbatched, kernel, stride, padding, dilation = _pool_args(
        "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    out = MaxPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding,
                          dilation=dilation, ceil_mode=ceil_mode)
    return out.squeeze(0) if unbatched else out


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over each window: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW).

    The divisor is the window's size including its zero padding (``count_include_pad``), or
    only its part inside the input, or ``divisor_override``.

    >>> avg_pool2d(tg.tensor([[[[1., 2.], [3., 6.]]]]), 2)
    # [[[[3.]]]]
    """
    op = "avg_pool2d"
    if divisor_override is not None and as_int(op, "divisor_override", divisor_override) == 0:
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got 0")
    x, unbatched, kernel, stride, padding, _ = _pool_args(op, input, kernel_size, stride,
                                                          padding, 1, ceil_mode)
    out = AvgPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding,
                          ceil_mode=ceil_mode, count_include_pad=bool(count_include_pad),
                          divisor_override=divisor_override)
    return out.squeeze(0) if unbatched else out


def sum_pool2d(input: Tensor, kernel_size, stride=None, padding=0,
               ceil_mode: bool = False) -> Tensor:
    """Sum over each window (LeNet-5's subsampling before its trainable scale): average
    pooling with divisor 1. (N, C, H, W) or (C, H, W) -> (N, C, OH, OW). No PyTorch twin.

    >>> sum_pool2d(tg.tensor([[[[1., 2.], [3., 6.]]]]), 2)
    # [[[[12.]]]]
    """
    op = "sum_pool2d"
    x, unbatched, kernel, stride, padding, _ = _pool_args(op, input, kernel_size, stride,
                                                          padding, 1, ceil_mode)
    out = AvgPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding,
                          ceil_mode=ceil_mode, count_include_pad=True, divisor_override=1)
    return out.squeeze(0) if unbatched else out


def _adaptive_args(op: str, input: Tensor, output_size) -> tuple[Tensor, bool, Pair]:
    """Validate an adaptive pool's arguments; returns (batched input, unbatched?, sizes)."""
    float_tensor(op, "input", input)
    ndim_in(op, "input", input, (3, 4), "(N, C, H, W) or (C, H, W)")
    sizes = (output_size, output_size) if output_size is None else output_size
    if isinstance(sizes, (tuple, list)) and len(sizes) == 2:  # None keeps that input size
        sizes = tuple(input.shape[-2 + a] if s is None else s for a, s in enumerate(sizes))
    sizes = int_tuple(op, "output_size", sizes, 2, minimum=1)
    _check_not_empty(op, input, 4)
    unbatched = input.ndim == 3
    return (input.unsqueeze(0) if unbatched else input), unbatched, sizes  # type: ignore[return-value]


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over an ``output_size`` grid of near-equal windows: (N, C, H, W) or (C, H, W)
    -> (N, C, *output_size). Window ``i`` covers ``[floor(i*H/OH), ceil((i+1)*H/OH))``.

    ``output_size``: int, pair, or a pair with ``None`` keeping that input size;
    ``adaptive_avg_pool2d(x, 1)`` is global average pooling.
    """
    x, unbatched, sizes = _adaptive_args("adaptive_avg_pool2d", input, output_size)
    out = AdaptiveAvgPool2d.apply(x, output_size=sizes)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Mean over ``output_size`` near-equal windows of a sequence: (N, C, L) or (C, L) ->
    (N, C, output_size), window ``i`` covering ``[floor(i*L/O), ceil((i+1)*L/O))``;
    ``adaptive_avg_pool1d(x, 1)`` is global average pooling over time. The 2-d op over a
    1-row image (N, C, 1, L)."""
    op = "adaptive_avg_pool1d"
    float_tensor(op, "input", input)
    ndim_in(op, "input", input, (2, 3), "(N, C, L) or (C, L)")
    (size,) = int_tuple(op, "output_size", output_size, 1, minimum=1)
    _check_not_empty(op, input, 3)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over an ``output_size`` grid of near-equal windows (those of
    ``adaptive_avg_pool2d``): (N, C, H, W) or (C, H, W) -> (N, C, *output_size). The gradient
    flows to each window's maximum only.

    ``return_indices=True`` also returns each maximum's flat index ``h * W + w`` in its plane
    (int64, the output's shape), as PyTorch does. Over a 4x4 image, ``output_size=2`` is
    2x2 max pooling; over 5x5, the windows are rows and columns [0, 3) and [2, 5).
    """
    x, unbatched, sizes = _adaptive_args("adaptive_max_pool2d", input, output_size)
    argmax: list = []
    out = AdaptiveMaxPool2d.apply(x, output_size=sizes, indices=argmax)
    if not return_indices:
        return out.squeeze(0) if unbatched else out
    indices = Tensor._make(argmax[0])
    if unbatched:
        return out.squeeze(0), indices.squeeze(0)
    return out, indices


def _pool1d(pool2d, op: str, input: Tensor, **params) -> Tensor:
    """Run a 2-d pool on (N, C, 1, L); 1-d int (or 1-tuple) arguments apply to the L axis."""
    float_tensor(op, "input", input)
    ndim_in(op, "input", input, (2, 3), "(N, C, L) or (C, L)")
    _check_not_empty(op, input, 3)
    lifted = {}
    for name, value in params.items():
        if name in ("kernel_size", "stride", "padding", "dilation") and value is not None:
            (value,) = int_tuple(op, name, value, 1, minimum=0 if name == "padding" else 1)
            value = (1, value) if name in ("kernel_size", "stride", "dilation") else (0, value)
        lifted[name] = value
    try:
        return pool2d(input.unsqueeze(-2), **lifted).squeeze(-2)
    except ValueError as error:  # name the 1-d op and sizes, not the lifted 2-d ones
        raise ValueError(str(error).replace(pool2d.__name__, op)) from None


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """Maximum over each window of a sequence: (N, C, L) or (C, L) -> (N, C, L_out)."""
    return _pool1d(max_pool2d, "max_pool1d", input, kernel_size=kernel_size, stride=stride,
                   padding=padding, dilation=dilation, ceil_mode=ceil_mode)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over each window of a sequence: (N, C, L) or (C, L) -> (N, C, L_out)."""
    return _pool1d(avg_pool2d, "avg_pool1d", input, kernel_size=kernel_size, stride=stride,
                   padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
