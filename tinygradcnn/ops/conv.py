"""Convolution: ``conv2d`` and ``conv1d`` (a 1-d convolution is a 2-d one over a 1-pixel-high
image), with PyTorch's arguments, defaults and output shapes.

The math, for one output pixel (cross-correlation, as in every framework)::

    out[n, o, i, j] = bias[o] + sum_{c, kh, kw} weight[o, c, kh, kw]
                                 * padded[n, g*C/groups + c, i*sh + kh*dh, j*sw + kw*dw]

and its gradients: ``dx`` is the transposed convolution of ``dout`` with the same weights,
``dweight[o, c, kh, kw]`` correlates ``dout[:, o]`` with the shifted input, ``dbias`` sums
``dout`` over batch and pixels. The kernels (``kernels/<device>/conv.py``) do the work.
"""

from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._checks import (
    as_int,
    channels_match,
    float_tensor,
    int_tuple,
    ndim_in,
    one_of,
    same_dtype,
    shape_is,
)

# Inputs of at most this many elements keep their kernel layout from forward to backward.
KEEP_LAYOUT_MAX_SIZE = 1 << 18


class Conv2d(Function):
    """y = conv(x, w) + b;  dx = conv_transpose(dy, w),  dw = corr(x, dy),  db = sum(dy)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        k = ctx.kernels
        ctx.save_for_backward(x, weight)
        ctx.params = (stride, padding, dilation, groups)
        # x as the kernels read it (CPU: padded planes; GPU: x itself), kept for the weight
        # gradient when there will be one. Measured against rebuilding it in backward
        # (bench_cpu.py's conv shapes and LeNet-5 step, one thread, CPU time, A/B in one
        # process): 1-4% less time per forward+backward (LeNet-5 step 11.0 -> 10.7 ms), for
        # one padded copy of each such conv's input held until its backward (LeNet-5 step:
        # peak +0.3 MB of 5 MB). Speed wins for small inputs; backward frees the planes
        # first. A large input's planes are rebuilt in backward instead: a copy is a few
        # percent of such a conv's time, and holding one per conv nearly doubled the peak
        # memory of a ResNet-20 step (batch 128) over PyTorch's.
        keep = ctx.needs_input_grad[1] and x.size <= KEEP_LAYOUT_MAX_SIZE
        ctx.layout = k.conv2d_input_layout(x, weight.shape, *ctx.params) if keep else None
        return k.conv2d_forward(x, weight, bias, *ctx.params, layout=ctx.layout)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_arrays
        k = ctx.kernels
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_w = k.conv2d_backward_weight(grad, x, weight.shape, *ctx.params,
                                          layout=ctx.layout) if need_w else None
        ctx.layout = None  # free the planes before the input gradient allocates its own
        grad_x = k.conv2d_backward_input(grad, weight, x.shape, *ctx.params) if need_x else None
        grad_b = k.conv2d_backward_bias(grad) if need_b else None
        return grad_x, grad_w, grad_b


def _same_padding(kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Padding that keeps the size at stride 1; an odd total puts the extra pixel after, as
    PyTorch does (even kernels need it)."""
    top = dilation[0] * (kernel[0] - 1) // 2
    left = dilation[1] * (kernel[1] - 1) // 2
    return (top, dilation[0] * (kernel[0] - 1) - top, left, dilation[1] * (kernel[1] - 1) - left)


def _conv(op: str, input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding,
          dilation, groups: int, dims: int) -> Tensor:
    """Validate a ``dims``-d convolution's arguments and run it as a 2-d one."""
    float_tensor(op, "input", input)
    float_tensor(op, "weight", weight)
    ndim_in(op, "weight", weight, (dims + 2,), "(out_channels, in_channels/groups, kH, kW)"
            if dims == 2 else "(out_channels, in_channels/groups, kL)")
    ndim_in(op, "input", input, (dims + 1, dims + 2),
            "(N, C, H, W) or (C, H, W)" if dims == 2 else "(N, C, L) or (C, L)")
    same_dtype(op, "weight", weight, input)
    groups = as_int(op, "groups", groups, minimum=1)
    out_channels = weight.shape[0]
    if out_channels % groups:
        raise ValueError(f"{op}: weight has {out_channels} output channels, not divisible by "
                         f"groups={groups}")
    channels_match(op, input.shape[-dims - 1], weight.shape[1], groups)
    if bias is not None:
        float_tensor(op, "bias", bias)
        shape_is(op, "bias", bias, (out_channels,))
        same_dtype(op, "bias", bias, input)

    lead = (1,) * (2 - dims)  # a 1-d argument applies to the W axis of the lifted 2-d conv
    stride = lead + int_tuple(op, "stride", stride, dims, minimum=1)
    dilation = lead + int_tuple(op, "dilation", dilation, dims, minimum=1)
    if isinstance(padding, str):
        one_of(op, "padding", padding, ("same", "valid"), others="ints")
    else:
        padding = (0,) * (2 - dims) + int_tuple(op, "padding", padding, dims, minimum=0)
    kernel = (1, weight.shape[-1]) if dims == 1 else tuple(weight.shape[-2:])
    if padding == "valid":
        padding4 = (0, 0, 0, 0)
    elif padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride="
                             f"{stride[2 - dims:]}")
        padding4 = _same_padding(kernel, dilation)
    else:
        padding4 = (padding[0], padding[0], padding[1], padding[1])

    unbatched = input.ndim == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    if dims == 1:
        x = x.unsqueeze(2)
        weight = weight.unsqueeze(2)
    height = x.shape[2] + padding4[0] + padding4[1]
    width = x.shape[3] + padding4[2] + padding4[3]
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    if span[0] > height or span[1] > width:
        size = f"{span[1]}" if dims == 1 else f"{span[0]}x{span[1]}"
        padded = f"{width}" if dims == 1 else f"{height}x{width}"
        raise ValueError(f"{op}: kernel size {size} (with dilation) larger than padded input "
                         f"{padded}")
    out = Conv2d.apply(x, weight, bias, stride=stride, padding=padding4, dilation=dilation,
                       groups=groups)
    if dims == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation) of a batch of images with a bank of filters.

    Shapes: input (N, C, H, W) or unbatched (C, H, W); weight (O, C // groups, kH, kW);
    bias (O,) -> (N, O, H_out, W_out) with
    ``H_out = (H + pad_top + pad_bottom - dilation * (kH - 1) - 1) // stride + 1``.

    ``stride``, ``dilation``: int or (h, w). ``padding``: int, (h, w), ``"valid"`` (none) or
    ``"same"`` (output size = input size; stride 1 only; an odd total pads one more pixel
    at the bottom/right). ``groups`` splits channels into independent convolutions
    (``groups == C == O`` is a depthwise convolution).

    Worked example: a 3x3 kernel over a 5x5 image, no padding, gives 3x3; each output is the
    sum of the 3x3 window times the kernel. With the image ``0..24`` row by row and a kernel
    of ones, the top-left output is ``0+1+2+5+6+7+10+11+12 = 54``:

    >>> x = tg.arange(25.0).reshape(1, 1, 5, 5)
    >>> conv2d(x, tg.ones((1, 1, 3, 3)))[0, 0]
    # [[ 54.,  63.,  72.],
    #  [ 99., 108., 117.],
    #  [144., 153., 162.]]
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, dims=2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-d convolution over sequences: the 2-d convolution of a 1-pixel-high image.

    Shapes: input (N, C, L) or unbatched (C, L); weight (O, C // groups, kL); bias (O,)
    -> (N, O, L_out), ``L_out = (L + 2 * padding - dilation * (kL - 1) - 1) // stride + 1``.
    ``padding`` may be an int, ``"valid"`` or ``"same"``.

    >>> conv1d(tg.tensor([[[1.0, 2.0, 3.0, 4.0]]]), tg.tensor([[[1.0, -1.0]]]))
    # [[[-1., -1., -1.]]]
    """
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, dims=1)
