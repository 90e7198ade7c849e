"""torchvision.ops' building blocks that the model zoo is made of: `Permute`,
`SqueezeExcitation` and `Conv2dNormActivation`, with torchvision's signatures, defaults and
state_dict keys, so that a torchvision model's code and weights port unchanged.

They live in `tinygradcnn.nn` with every other layer (a user finds all modules in one
place); the other torchvision.ops pieces are in the file of their kind: `StochasticDepth`
in dropout.py, `LayerNorm2d` (from torchvision.models.convnext) in normalization.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ops._checks import as_int
from .activation import ReLU, Sigmoid
from .containers import Sequential
from .conv import Conv2d
from .module import Module
from .normalization import BatchNorm2d
from .pooling import AdaptiveAvgPool2d


class Permute(Module):
    """Reorder the axes, as `torchvision.ops.Permute(dims)`: `Permute([0, 2, 3, 1])` maps
    (N, C, H, W) -> (N, H, W, C). A copy, as every permute in this engine."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return x.permute(*self.dims)


class SqueezeExcitation(Module):
    """Squeeze-and-excitation (Hu et al. 2018), as `torchvision.ops.SqueezeExcitation`:
    (N, C, H, W) -> (N, C, H, W), each channel scaled by a gate computed from all channels::

        x -> avgpool (N, C, 1, 1) -> fc1 1x1 conv C->S -> activation -> fc2 1x1 conv S->C
          -> scale_activation (N, C, 1, 1) -> (* x)

    `fc1`/`fc2` are 1x1 convolutions with bias (torchvision's keys `fc1.weight`,
    `fc2.bias`...); `activation` and `scale_activation` are module classes (ReLU and
    Sigmoid by default; EfficientNet passes SiLU)."""

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., Module] = ReLU,
                 scale_activation: Callable[..., Module] = Sigmoid) -> None:
        super().__init__()
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc1 = Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, x):
        scale = self.avgpool(x)
        scale = self.activation(self.fc1(scale))
        return self.scale_activation(self.fc2(scale))

    def forward(self, x):
        return self._scale(x) * x


class Conv2dNormActivation(Sequential):
    """conv -> norm -> activation, as `torchvision.ops.Conv2dNormActivation`:
    (N, C_in, H, W) -> (N, C_out, H_out, W_out), a Sequential with keys `0` (conv), `1`
    (norm), `2` (activation) when present.

    `padding=None` is "same" for odd kernels at stride 1: (kernel_size - 1) // 2 * dilation.
    `bias=None` gives the conv a bias only when there is no norm layer. `norm_layer` and
    `activation_layer` are module classes (or None to leave the step out); `inplace` is
    passed to the activation (None passes nothing)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., Module] | None = BatchNorm2d,
        activation_layer: Callable[..., Module] | None = ReLU,
        dilation: int | tuple[int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
    ) -> None:
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size,) * 2
                dh, dw = dilation if isinstance(dilation, tuple) else (dilation,) * 2
                padding = ((kh - 1) // 2 * dh, (kw - 1) // 2 * dw)
        if bias is None:
            bias = norm_layer is None
        layers: list[Module] = [Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                                       dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = as_int("Conv2dNormActivation", "out_channels", out_channels)
