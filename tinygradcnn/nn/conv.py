"""Convolution layers `Conv1d` and `Conv2d` (PyTorch's signatures, defaults and init)."""

from __future__ import annotations

import math

import numpy as np

from ..ops._checks import as_int, int_tuple, one_of
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class _ConvNd(Module):
    def __init__(self, ndim, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, name) -> None:
        super().__init__()
        in_channels = as_int(name, "in_channels", in_channels, minimum=1)
        out_channels = as_int(name, "out_channels", out_channels, minimum=1)
        groups = as_int(name, "groups", groups, minimum=1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = int_tuple(name, "kernel_size", kernel_size, ndim, minimum=1)
        self.stride = int_tuple(name, "stride", stride, ndim, minimum=1)
        self.dilation = int_tuple(name, "dilation", dilation, ndim, minimum=1)
        self.groups = groups
        # "same" and "valid" stay strings, as in PyTorch: F.conv2d computes the padding, and
        # an even (dilated) kernel gets its extra row/column at the bottom/right.
        self.padding: str | tuple[int, ...]
        if isinstance(padding, str):
            one_of(name, "padding", padding, ("same", "valid"), others="ints")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got "
                                 f"stride={self.stride}")
            self.padding = padding
        else:
            self.padding = int_tuple(name, "padding", padding, ndim, minimum=0)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=np.float32))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for the weight, i.e.
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same range for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-d convolution (cross-correlation, as in every framework).

    (N, C_in, H, W) -> (N, C_out, H_out, W_out) with
    H_out = floor((H + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
    (and the same for W); also unbatched (C_in, H, W) -> (C_out, H_out, W_out).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, padding, dilation: an int or an (h, w) pair of ints; padding may
            also be "valid" (0) or "same" (H_out = H, W_out = W; stride 1 only; an even
            dilated kernel pads one more row/column at the bottom/right, as PyTorch).
        groups: split the channels into this many independent convolutions.
        bias: add a learned per-channel bias.

    Weight shape (C_out, C_in / groups, kh, kw), bias (C_out,).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, "Conv2d")

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvNd):
    """1-d convolution over sequences: (N, C_in, L) -> (N, C_out, L_out), with
    L_out = floor((L + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1.
    Arguments as `Conv2d`, with ints (or 1-tuples), or padding "same"/"valid".
    Weight (C_out, C_in / groups, k)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] | str = 0,
        dilation: int | tuple[int] = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, "Conv1d")

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)
