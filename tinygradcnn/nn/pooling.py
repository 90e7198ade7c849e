"""Pooling layers. A 1-d pool is the 2-d pool of a one-pixel-high image."""

from __future__ import annotations

from . import functional as F
from .module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over each window: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to
    the kernel size. `MaxPool2d(2)` halves H and W: a 4x4 map becomes 2x2, each output the
    largest of a 2x2 block. Padding counts as -inf."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1) -> None:
        super().__init__(kernel_size, stride, padding)
        self.dilation = dilation

    def forward(self, x):
        if self.dilation == 1:
            return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", dilation={self.dilation}"


class AvgPool2d(_Pool2d):
    """Mean over each window: (N, C, H, W) -> (N, C, H_out, W_out)."""

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class SumPool2d(_Pool2d):
    """Sum over each window (average pooling without the division, as in LeNet-5's
    original subsampling layers): (N, C, H, W) -> (N, C, H_out, W_out)."""

    def forward(self, x):
        return F.sum_pool2d(x, self.kernel_size, self.stride, self.padding)


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


def _single(value) -> int:
    return value if isinstance(value, int) else int(value[0])


class _Pool1d(Module):
    pool2d_name = ""  # the functional 2-d pool that does the work

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = self.kernel_size if stride is None else _single(stride)
        self.padding = _single(padding)

    def forward(self, x):
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__}: expected (N, C, L) input, got {x.shape}")
        pool2d = getattr(F, self.pool2d_name)
        pooled = pool2d(x.unsqueeze(2), (1, self.kernel_size), (1, self.stride), (0, self.padding))
        return pooled.squeeze(2)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_Pool1d):
    """Maximum over windows of a sequence: (N, C, L) -> (N, C, L_out)."""

    pool2d_name = "max_pool2d"


class AvgPool1d(_Pool1d):
    """Mean over windows of a sequence: (N, C, L) -> (N, C, L_out)."""

    pool2d_name = "avg_pool2d"
