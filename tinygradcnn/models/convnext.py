"""ConvNeXt (Liu et al. 2022, "A ConvNet for the 2020s"), weight for weight torchvision's.

    model = models.convnext_tiny(num_classes=10)
    model = models.convnext_tiny(weights="convnext_tiny.safetensors")   # torchvision's

A ResNet modernised step by step towards a vision transformer, staying a pure ConvNet: a
"patchify" stem (4x4 conv, stride 4), stages of 3:3:9:3 blocks, large 7x7 depthwise
kernels, an inverted bottleneck (4x wider in the middle), LayerNorm instead of BatchNorm,
GELU, fewer activations and norms, separate downsampling layers (LayerNorm + 2x2 conv,
stride 2), a per-channel layer scale initialised to 1e-6 and stochastic depth.

How it is computed here: the block's LayerNorm and two Linear layers act on channels-last
pixels, as in torchvision (`Permute`, then `Linear` over the last axis): measured against a
channels-first form (LayerNorm2d and 1x1 convolutions on the same weights), the two
permuted copies cost less than 1x1 convolutions save, the matmul being this engine's
fastest kernel. The stem, downsampling and head norms are `LayerNorm2d`, computed over the
channel axis in place, without permuted copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .. import nn
from .registry import register_model
from .weights import load_weights


class CNBlock(nn.Module):
    """ConvNeXt's block, (N, C, H, W) -> (N, C, H, W)::

        x -> dw7x7 (bias) -> Permute(N, H, W, C) -> LayerNorm(eps 1e-6)
          -> Linear C->4C -> GELU -> Linear 4C->C -> Permute(N, C, H, W)
          -> * layer_scale (C, 1, 1) -> StochasticDepth(p, "row") -> (+x)

    Keys as torchvision's: `layer_scale`, `block.0.*` (depthwise conv), `block.2.*`
    (LayerNorm), `block.3.*` and `block.5.*` (the Linear layers)."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            nn.Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            nn.Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(np.full((dim, 1, 1), layer_scale, dtype=np.float32))
        self.stochastic_depth = nn.StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x):
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


@dataclass
class CNBlockConfig:
    """One stage: its width, the width after its downsampling layer (None for the last
    stage) and its number of blocks, as torchvision's `CNBlockConfig`."""

    input_channels: int
    out_channels: int | None
    num_layers: int


class ConvNeXt(nn.Module):
    """ConvNeXt: (N, 3, H, W) -> (N, num_classes) logits, H, W >= 32.

    features: stem [4x4/4 conv (bias), LayerNorm2d] -> for each stage of `block_setting`,
    a Sequential of CNBlocks, then (between stages) a downsample [LayerNorm2d, 2x2/2 conv];
    then global average pool -> classifier [LayerNorm2d, Flatten, Linear]. Block i of all
    `total` gets stochastic depth `stochastic_depth_prob * i / (total - 1)`. torchvision's
    initialisation: conv and linear weights truncated normal (std 0.02), zero biases;
    LayerNorms weight 1, bias 0; layer scales `layer_scale`."""

    def __init__(self, block_setting: Sequence[CNBlockConfig], stochastic_depth_prob: float = 0.0,
                 layer_scale: float = 1e-6, num_classes: int = 1000,
                 block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None, **kwargs: Any) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("ConvNeXt: the block_setting should not be empty")
        block = block or CNBlock
        norm_layer = norm_layer or partial(nn.LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [nn.Conv2dNormActivation(
            3, block_setting[0].input_channels, kernel_size=4, stride=4, padding=0,
            norm_layer=norm_layer, activation_layer=None, bias=True)]
        total = sum(cnf.num_layers for cnf in block_setting)
        index = 0
        for cnf in block_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                probability = stochastic_depth_prob * index / (total - 1.0) if total > 1 else 0.0
                stage.append(block(cnf.input_channels, layer_scale, probability))
                index += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(
                    norm_layer(cnf.input_channels),
                    nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2),
                ))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        width = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(norm_layer(width), nn.Flatten(1),
                                        nn.Linear(width, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))


# (stage widths, blocks per stage, default stochastic depth) of the published variants
VARIANTS: dict[str, tuple[tuple[int, ...], tuple[int, ...], float]] = {
    "convnext_tiny": ((96, 192, 384, 768), (3, 3, 9, 3), 0.1),
    "convnext_small": ((96, 192, 384, 768), (3, 3, 27, 3), 0.4),
    "convnext_base": ((128, 256, 512, 1024), (3, 3, 27, 3), 0.5),
    "convnext_large": ((192, 384, 768, 1536), (3, 3, 27, 3), 0.5),
}


def _convnext(name: str, weights: Any, **kwargs: Any) -> ConvNeXt:
    widths, depths, stochastic_depth_prob = VARIANTS[name]
    setting = [CNBlockConfig(width, widths[i + 1] if i + 1 < len(widths) else None, depth)
               for i, (width, depth) in enumerate(zip(widths, depths, strict=True))]
    model = ConvNeXt(setting, kwargs.pop("stochastic_depth_prob", stochastic_depth_prob),
                     **kwargs)
    load_weights(model, weights, name)
    return model


@register_model("convnext_tiny")
def convnext_tiny(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-T: widths 96-768, blocks 3-3-9-3, 28,589,128 parameters, 4.5 G MACs at 224."""
    return _convnext("convnext_tiny", weights, **kwargs)


@register_model("convnext_small")
def convnext_small(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-S: widths 96-768, blocks 3-3-27-3, 50,223,688 parameters."""
    return _convnext("convnext_small", weights, **kwargs)


@register_model("convnext_base")
def convnext_base(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-B: widths 128-1024, blocks 3-3-27-3, 88,591,464 parameters."""
    return _convnext("convnext_base", weights, **kwargs)


@register_model("convnext_large")
def convnext_large(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-L: widths 192-1536, blocks 3-3-27-3, 197,767,336 parameters."""
    return _convnext("convnext_large", weights, **kwargs)
