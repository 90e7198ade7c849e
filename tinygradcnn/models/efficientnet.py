"""EfficientNet-B0 ... B7 (Tan & Le 2019, "Rethinking Model Scaling"), weight for weight
torchvision's, all eight built from one baseline and one compound-scaling rule.

    model = models.efficientnet_b0(num_classes=10)
    model = models.efficientnet_b3(weights="efficientnet_b3.safetensors")  # torchvision's

The rule. Scale depth, width and resolution together with one coefficient phi:

    depth d = alpha^phi,  width w = beta^phi,  resolution r = gamma^phi,
    alpha = 1.2, beta = 1.1, gamma = 1.15   (found by grid search on B0, with
    alpha * beta^2 * gamma^2 ~ 2: each step of phi about doubles the multiply-adds)

The released models round these (phi = 0..7 gives d = 1.0, 1.2, 1.44, ...; the published
B1-B7 use the rounded values in `VARIANTS`, which torchvision copies from the reference
code). Each stage of the B0 table (`BASELINE`) then gets `ceil(repeats * d)` blocks and
`_make_divisible(channels * w, 8)` channels; the input resolution is `r * 224`, and larger
models take more dropout before the classifier.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from .. import nn
from .mobilenet import _make_divisible
from .registry import register_model
from .weights import load_weights

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width, resolution bases of the compound rule

# B0, the network found by architecture search: one row per stage,
# (expand ratio, kernel, stride, input channels, output channels, repeats)
BASELINE: list[tuple[int, int, int, int, int, int]] = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


@dataclass(frozen=True)
class Variant:
    """One published model: its multipliers (the rounded alpha^phi and beta^phi), input
    resolution, dropout before the classifier, and BatchNorm settings."""

    phi: int
    width_mult: float
    depth_mult: float
    resolution: int
    dropout: float
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1


# torchvision's (and the reference code's) values, beside what the rule gives unrounded:
#
#   phi  alpha^phi  width  beta^phi  resolution  224 gamma^phi
#    0     1.00      1.0    1.00       224          224
#    1     1.20      1.0    1.10       240          258
#    2     1.44      1.1    1.21       260          296
#    3     1.73      1.2    1.33       300          341
#    4     2.07      1.4    1.46       380          392
#    5     2.49      1.6    1.61       456          451
#    6     2.99      1.8    1.77       528          518
#    7     3.58      2.0    1.95       600          596
#   (published depth multipliers: 1.0, 1.1, 1.2, 1.4, 1.8, 2.2, 2.6, 3.1)
#
# B5-B7's BatchNorm keeps the TensorFlow
# settings (eps 1e-3, momentum 0.01) their ported weights were trained with; the resolution
# is the paper's (torchvision's B2 transform crops 288, the weights having been retrained).
VARIANTS: dict[str, Variant] = {
    "efficientnet_b0": Variant(0, 1.0, 1.0, 224, 0.2),
    "efficientnet_b1": Variant(1, 1.0, 1.1, 240, 0.2),
    "efficientnet_b2": Variant(2, 1.1, 1.2, 260, 0.3),
    "efficientnet_b3": Variant(3, 1.2, 1.4, 300, 0.3),
    "efficientnet_b4": Variant(4, 1.4, 1.8, 380, 0.4),
    "efficientnet_b5": Variant(5, 1.6, 2.2, 456, 0.4, 1e-3, 0.01),
    "efficientnet_b6": Variant(6, 1.8, 2.6, 528, 0.5, 1e-3, 0.01),
    "efficientnet_b7": Variant(7, 2.0, 3.1, 600, 0.5, 1e-3, 0.01),
}


@dataclass
class MBConvConfig:
    """One stage after scaling: torchvision's `MBConvConfig` fields (channels and repeats
    already multiplied and rounded)."""

    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        """Width scaling: channels * width_mult rounded to a multiple of 8."""
        return _make_divisible(channels * width_mult, 8, min_value)

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        """Depth scaling: repeats * depth_mult rounded up."""
        return int(math.ceil(num_layers * depth_mult))


def scaled_stages(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    """The compound rule applied to `BASELINE`: every stage's channels and repeats."""
    return [MBConvConfig(t, k, s, MBConvConfig.adjust_channels(c_in, width_mult),
                         MBConvConfig.adjust_channels(c_out, width_mult),
                         MBConvConfig.adjust_depth(n, depth_mult))
            for t, k, s, c_in, c_out, n in BASELINE]


class MBConv(nn.Module):
    """The mobile inverted bottleneck with squeeze-excitation, (N, C_in, H, W) ->
    (N, C_out, H / stride, W / stride)::

        x -> conv1x1 (C_in -> C_in*t) -> BN -> SiLU          (left out when t = 1)
          -> dw kxk stride s -> BN -> SiLU
          -> SE (squeeze to max(1, C_in // 4), SiLU, sigmoid gate)
          -> conv1x1 (-> C_out) -> BN                        (linear bottleneck)
          -> StochasticDepth(p, "row") -> (+x)                (only when s = 1, C_in = C_out)

    Keys as torchvision's: `block.0.0.weight` ... `block.2.fc1.weight` ... ."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = nn.SqueezeExcitation) -> None:
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError(f"MBConv: stride should be 1 or 2, got {cnf.stride}")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers: list[nn.Module] = []
        if expanded != cnf.input_channels:
            layers.append(nn.Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1,
                                                  norm_layer=norm_layer,
                                                  activation_layer=nn.SiLU))
        layers.append(nn.Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel,
                                              stride=cnf.stride, groups=expanded,
                                              norm_layer=norm_layer, activation_layer=nn.SiLU))
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded, squeeze_channels,
                               activation=partial(nn.SiLU, inplace=True)))
        layers.append(nn.Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1,
                                              norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = nn.StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


class EfficientNet(nn.Module):
    """EfficientNet: (N, 3, H, W) -> (N, num_classes) logits, any H, W >= 1.

    stem 3x3/2 conv -> one Sequential of MBConv blocks per stage of
    `inverted_residual_setting` -> 1x1 conv to 4x the last stage's channels -> global
    average pool -> Dropout(`dropout`) -> Linear. Block i of all `total` gets stochastic
    depth `stochastic_depth_prob * i / total`. torchvision's initialisation: convs
    kaiming-normal (fan_out), BN weight 1 bias 0, linear U(-1/sqrt(out), 1/sqrt(out)) with
    zero bias."""

    def __init__(self, inverted_residual_setting: Sequence[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None,
                 last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("EfficientNet: the inverted_residual_setting should not be empty")
        norm_layer = norm_layer or nn.BatchNorm2d
        layers: list[nn.Module] = [nn.Conv2dNormActivation(
            3, inverted_residual_setting[0].input_channels, kernel_size=3, stride=2,
            norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total = sum(cnf.num_layers for cnf in inverted_residual_setting)
        index = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # repeats after the first keep the size and the width
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                stage.append(MBConv(block_cnf, stochastic_depth_prob * index / total,
                                    norm_layer))
                index += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(nn.Conv2dNormActivation(last_in, last_out, kernel_size=1,
                                              norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(last_out, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.features(x)).flatten(1)
        return self.classifier(x)


def _efficientnet(name: str, weights: Any, **kwargs: Any) -> EfficientNet:
    """Build variant `name` by the compound rule; `dropout`, `norm_layer` and the other
    `EfficientNet` arguments may be overridden, as in torchvision."""
    variant = VARIANTS[name]
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=variant.bn_eps,
                                            momentum=variant.bn_momentum)
                      if variant.bn_eps != 1e-5 else None)
    model = EfficientNet(scaled_stages(variant.width_mult, variant.depth_mult),
                         kwargs.pop("dropout", variant.dropout), **kwargs)
    load_weights(model, weights, name)
    return model


def _builder(name: str, doc: str) -> Callable[..., EfficientNet]:
    def build(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
        return _efficientnet(name, weights, **kwargs)

    variant = VARIANTS[name]
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"EfficientNet-B{variant.phi}: width x{variant.width_mult}, depth "
                     f"x{variant.depth_mult}, {variant.resolution}x{variant.resolution} "
                     f"input, dropout {variant.dropout}; {doc}")
    return register_model(name, build)


efficientnet_b0 = _builder("efficientnet_b0", "5,288,548 parameters, 0.39 G multiply-adds.")
efficientnet_b1 = _builder("efficientnet_b1", "7,794,184 parameters.")
efficientnet_b2 = _builder("efficientnet_b2", "9,109,994 parameters.")
efficientnet_b3 = _builder("efficientnet_b3", "12,233,232 parameters.")
efficientnet_b4 = _builder("efficientnet_b4", "19,341,616 parameters.")
efficientnet_b5 = _builder("efficientnet_b5", "30,389,784 parameters.")
efficientnet_b6 = _builder("efficientnet_b6", "43,040,704 parameters.")
efficientnet_b7 = _builder("efficientnet_b7", "66,347,960 parameters.")
