"""MobileNetV2 (Sandler et al. 2018, "Inverted Residuals and Linear Bottlenecks"), weight
for weight torchvision's.

    model = models.mobilenet_v2(num_classes=10)
    model = models.mobilenet_v2(weights="mobilenet_v2.safetensors")   # torchvision's, converted
    model = models.mobilenet_v2(width_mult=0.5)                        # a thinner network

A depthwise 3x3 convolution filters each channel on its own (groups = channels) and a 1x1
convolution mixes the channels: together about 8-9x fewer multiply-adds than one full 3x3
convolution. The inverted residual widens a thin input t times, filters it depthwise, and
projects it back to a thin output with no activation after the projection (a "linear
bottleneck": ReLU6 on a thin tensor would destroy information); the shortcut joins the thin
ends. The network is the table `INVERTED_RESIDUAL_SETTING` (t, c, n, s), as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import nn
from ..nn import functional as F
from .registry import register_model
from .weights import load_weights

# (expand ratio t, output channels c, repeats n, stride s of the first repeat), the paper's
# Table 2
INVERTED_RESIDUAL_SETTING: list[list[int]] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """`v` rounded to the nearest multiple of `divisor` (at least `min_value`, default
    `divisor`), but never more than 10% below `v`: the channel rule of the TensorFlow
    MobileNet and EfficientNet code that torchvision keeps (`_make_divisible(32 * 0.75, 8)`
    is 24, `_make_divisible(16 * 1.1, 8)` is 16, `_make_divisible(40 * 1.1, 8)` is 48)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class InvertedResidual(nn.Module):
    """MobileNetV2's block, (N, inp, H, W) -> (N, oup, H / stride, W / stride)::

        x -> conv1x1 (inp -> inp*t) -> BN -> ReLU6          (left out when t = 1)
          -> dw3x3 stride s (groups = inp*t) -> BN -> ReLU6
          -> conv1x1 (inp*t -> oup) -> BN                    (linear: no activation)
          -> (+x)                                            (only when s = 1, inp = oup)

    Keys as torchvision's: `conv.0.0.weight` (expansion conv), `conv.0.1.*` (its BN),
    `conv.1.0.weight` (depthwise), `conv.2.weight` (projection), `conv.3.*` (its BN)."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride should be 1 or 2, got {stride}")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.stride = stride
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(nn.Conv2dNormActivation(inp, hidden_dim, kernel_size=1,
                                                  norm_layer=norm_layer,
                                                  activation_layer=nn.ReLU6))
        layers += [
            nn.Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                    norm_layer=norm_layer, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2: (N, 3, H, W) -> (N, num_classes) logits, any H, W >= 1.

    stem 3x3/2 conv (32) -> 17 inverted residuals (`inverted_residual_setting`) -> 1x1 conv
    to `last_channel` (1280) -> global average pool -> Dropout(`dropout`) -> Linear.
    Channels are scaled by `width_mult` and rounded to multiples of `round_nearest`
    (`_make_divisible`); the last conv never gets thinner than 1280. torchvision's
    initialisation: convs kaiming-normal (fan_out), BN weight 1 bias 0, linear N(0, 0.01)
    with zero bias. 3,504,872 parameters at the defaults."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting: Sequence[Sequence[int]] | None = None,
                 round_nearest: int = 8, block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 dropout: float = 0.2) -> None:
        super().__init__()
        block = block or InvertedResidual
        norm_layer = norm_layer or nn.BatchNorm2d
        setting = INVERTED_RESIDUAL_SETTING if inverted_residual_setting is None \
            else inverted_residual_setting
        if len(setting) == 0 or len(setting[0]) != 4:
            raise ValueError(f"MobileNetV2: inverted_residual_setting should be a non-empty "
                             f"list of 4-element lists, got {setting}")
        input_channel = _make_divisible(32 * width_mult, round_nearest)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [nn.Conv2dNormActivation(
            3, input_channel, stride=2, norm_layer=norm_layer, activation_layer=nn.ReLU6)]
        for t, c, n, s in setting:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(block(input_channel, output_channel, s if i == 0 else 1,
                                      expand_ratio=t, norm_layer=norm_layer))
                input_channel = output_channel
        features.append(nn.Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                                norm_layer=norm_layer,
                                                activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
        return self.classifier(x)


@register_model("mobilenet_v2")
def mobilenet_v2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MobileNetV2:
    """MobileNetV2 (width 1.0): 3,504,872 parameters, about 0.3 G multiply-adds at 224."""
    model = MobileNetV2(**kwargs)
    load_weights(model, weights, "mobilenet_v2")
    return model
