"""VGG (Simonyan & Zisserman 2014): stacks of 3x3 convolutions, one config table for all.

Two 3x3 convolutions see a 5x5 window and three a 7x7, with fewer weights and more
non-linearities than one large kernel; VGG is nothing but that idea, repeated, with a max
pool halving the map after each stack. A config lists the output channels of each
convolution and "M" for each pool; the `_bn` variants put a BatchNorm after every
convolution (which shifts the indices of `features`: conv, BN, ReLU triples).
"""

from __future__ import annotations

from typing import Any

from .. import nn
from ..nn import functional as F
from .registry import register_model
from .weights import load_weights, state_dict_from

# the configurations of the paper's Table 1: A = VGG-11, B = 13, D = 16, E = 19
CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


def make_layers(config: list[int | str], batch_norm: bool = False,
                in_channels: int = 3) -> nn.Sequential:
    """The convolutional part of a VGG from its config: each int c is
    conv3x3 (c, padding 1) [-> BN] -> ReLU, each "M" a 2x2 max pool stride 2."""
    layers: list[nn.Module] = []
    for value in config:
        if value == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        channels = int(value)
        layers.append(nn.Conv2d(in_channels, channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.ReLU())
        in_channels = channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features (the config's stacks) -> adaptive avg pool 7x7 -> flatten (25088)
    -> fc 4096 -> ReLU -> dropout -> fc 4096 -> ReLU -> dropout -> fc num_classes.

    (N, 3, H, W) -> (N, num_classes), H and W at least 32 (five halvings). With
    `init_weights`, torchvision's scheme: He-normal (fan_out) convolutions with zero
    bias, BN weight 1 and bias 0, linear weights N(0, 0.01) with zero bias.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000,
                 init_weights: bool = True, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
                elif isinstance(module, nn.BatchNorm2d):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)
                elif isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0.0, 0.01)
                    nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.classifier(F.flatten(self.avgpool(self.features(x)), 1))


def _vgg(name: str, config: str, batch_norm: bool, weights: Any, **kwargs: Any) -> VGG:
    state = state_dict_from(weights, name)  # a bad path fails before the 133 M weights
    if state is not None:
        kwargs["init_weights"] = False  # the file overwrites every weight: skip the draws
    model = VGG(make_layers(CONFIGS[config], batch_norm), **kwargs)
    return load_weights(model, state, name)


@register_model("vgg11")
def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (config A): 132,863,336 parameters, 7.6 G multiply-adds at 224."""
    return _vgg("vgg11", "A", False, weights, **kwargs)


@register_model("vgg11_bn")
def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with BatchNorm: 132,868,840 parameters."""
    return _vgg("vgg11_bn", "A", True, weights, **kwargs)


@register_model("vgg13")
def vgg13(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 (config B): 133,047,848 parameters, 11.3 G multiply-adds at 224."""
    return _vgg("vgg13", "B", False, weights, **kwargs)


@register_model("vgg13_bn")
def vgg13_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 with BatchNorm: 133,053,736 parameters."""
    return _vgg("vgg13_bn", "B", True, weights, **kwargs)


@register_model("vgg16")
def vgg16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (config D): 138,357,544 parameters, 15.5 G multiply-adds at 224."""
    return _vgg("vgg16", "D", False, weights, **kwargs)


@register_model("vgg16_bn")
def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with BatchNorm: 138,365,992 parameters."""
    return _vgg("vgg16_bn", "D", True, weights, **kwargs)


@register_model("vgg19")
def vgg19(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 (config E): 143,667,240 parameters, 19.6 G multiply-adds at 224."""
    return _vgg("vgg19", "E", False, weights, **kwargs)


@register_model("vgg19_bn")
def vgg19_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 with BatchNorm: 143,678,248 parameters."""
    return _vgg("vgg19_bn", "E", True, weights, **kwargs)
