"""Output sizes of sliding-window ops, a convolution's geometry and the losses' class layout,
shared by the CPU and GPU kernels (plain Python).

The sizes go one axis at a time, for an input of ``size`` with a window of ``kernel`` taps
``dilation`` apart, moved ``stride`` at a time over the input with its padding.
"""

from __future__ import annotations

from typing import NamedTuple

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # top, bottom, left, right


def class_layout(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(N, C, inner) for class scores of ``shape``: (C,), (N, C) or (N, C, d1, ...), as the
    losses read them (the class axis is 1, every axis after it is a position)."""
    if len(shape) == 1:
        return 1, shape[0], 1
    inner = 1
    for size in shape[2:]:
        inner *= size
    return shape[0], shape[1], inner


def conv2d_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                       dilation: int) -> int:
    """Output length of a convolution along one axis (floor mode)."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int,
                     ceil_mode: bool) -> int:
    """PyTorch's pooling output length: with ``ceil_mode`` a partial last window counts, but
    it must start inside the input or its left padding."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window would start in the right padding
    return out


class ConvGeometry(NamedTuple):
    """The shapes of one 2-d convolution, named once for every function that needs them:
    input (N, C, H, W) * weight (O, C // groups, KH, KW) -> output (N, O, OH, OW)."""

    batch: int
    in_channels: int
    height: int
    width: int
    out_channels: int
    kernel_height: int
    kernel_width: int
    out_height: int
    out_width: int
    stride: Pair
    padding: Padding  # top, bottom, left, right
    dilation: Pair
    groups: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels // self.groups, self.kernel_height,
                self.kernel_width)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.out_channels, self.out_height, self.out_width)

    @property
    def padded_size(self) -> Pair:
        """(rows, cols) of the zero-padded input."""
        top, bottom, left, right = self.padding
        return (self.height + top + bottom, self.width + left + right)

    def at_unit_stride(self) -> ConvGeometry:
        """The same convolution at stride 1 (whose output, subsampled, is this one's)."""
        return conv2d_geometry(self.input_shape, self.weight_shape, (1, 1), self.padding,
                               self.dilation, self.groups)


def conv2d_geometry(input_shape, weight_shape, stride: Pair, padding: Padding, dilation: Pair,
                    groups: int) -> ConvGeometry:
    """The geometry of convolving (N, C, H, W) with (O, C // groups, KH, KW), output sizes
    included (built on every kernel call, so plain tuple unpacking: a few microseconds)."""
    N, C, H, W = input_shape
    O, _, KH, KW = weight_shape
    top, bottom, left, right = padding
    return ConvGeometry(
        N, C, H, W, O, KH, KW,
        conv2d_output_size(H, KH, stride[0], top, bottom, dilation[0]),
        conv2d_output_size(W, KW, stride[1], left, right, dilation[1]),
        (stride[0], stride[1]), (top, bottom, left, right), (dilation[0], dilation[1]), groups,
    )  # fmt: skip
