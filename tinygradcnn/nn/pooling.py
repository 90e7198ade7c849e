"""Pooling layers: thin modules over `nn.functional`'s pools, PyTorch's signatures."""

from __future__ import annotations

from ..ops._checks import int_tuple
from . import functional as F
from .module import Module


class _Pool(Module):
    spatial_dims = 2  # of kernel_size, stride, padding (1 for the 1-d pools)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False) -> None:
        super().__init__()
        # Checked here so that MaxPool2d(2.5) fails where it is written, not at the first
        # forward; the values are kept as given, as PyTorch keeps them.
        name, dims = type(self).__name__, self.spatial_dims
        int_tuple(name, "kernel_size", kernel_size, dims, minimum=1)
        if stride is not None:
            int_tuple(name, "stride", stride, dims, minimum=1)
        int_tuple(name, "padding", padding, dims, minimum=0)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool):
    """Maximum over each window: (N, C, H, W) -> (N, C, H_out, W_out), with
    H_out = floor((H + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1 (ceil
    with `ceil_mode`); stride defaults to the kernel size. `MaxPool2d(2)` halves H and W:
    a 4x4 map becomes 2x2, each output the largest of a 2x2 block. Padding counts as -inf;
    `ceil_mode` keeps partial windows."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        int_tuple(type(self).__name__, "dilation", dilation, self.spatial_dims, minimum=1)
        self.dilation = dilation

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool2d(_Pool):
    """Mean over each window: (N, C, H, W) -> (N, C, H_out, W_out), sizes as `MaxPool2d`.
    Padded zeros count in the mean unless `count_include_pad=False`."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class SumPool2d(_Pool):
    """Sum over each window (average pooling without the division, as in LeNet-5's
    original subsampling layers): (N, C, H, W) -> (N, C, H_out, W_out)."""

    def forward(self, x):
        return F.sum_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)


class AdaptiveAvgPool2d(Module):
    """Average to a fixed output size whatever the input size: (N, C, H, W) ->
    (N, C, *output_size); `AdaptiveAvgPool2d(1)` is global average pooling."""

    def __init__(self, output_size: int | tuple[int, int]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """Average a sequence to a fixed length whatever its length: (N, C, L) ->
    (N, C, output_size); `AdaptiveAvgPool1d(1)` is global average pooling over time."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Maximum to a fixed output size whatever the input size: (N, C, H, W) ->
    (N, C, *output_size), windows as `AdaptiveAvgPool2d`'s; with `return_indices`, also each
    maximum's flat index h * W + w in its plane (as `MaxPool2d`'s in PyTorch)."""

    def __init__(self, output_size: int | tuple[int, int], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxPool1d(MaxPool2d):
    """Maximum over windows of a sequence: (N, C, L) -> (N, C, L_out), with
    L_out = floor((L + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1."""

    spatial_dims = 1

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode)


class AvgPool1d(AvgPool2d):
    """Mean over windows of a sequence: (N, C, L) -> (N, C, L_out), with
    L_out = floor((L + 2 * padding - kernel_size) / stride) + 1."""

    spatial_dims = 1

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)
