"""ResNet (He et al. 2015, "Deep Residual Learning"), weight for weight torchvision's.

    model = models.resnet18(num_classes=10)
    model = models.resnet50(weights="resnet50.safetensors")   # torchvision's, converted
    model = models.resnet20(in_channels=1)                     # the CIFAR-style ResNet

A residual block learns a correction F(x) to its input and outputs relu(F(x) + x): with
the identity path, a deeper network can always do at least as well as a shallower one
(the extra blocks learn F = 0), and the gradient reaches early layers through the sum
unchanged. The ImageNet networks are a stem (7x7 conv stride 2, 3x3 max pool stride 2),
four stages of blocks at 64/128/256/512 "planes" (each after the first halving the map),
global average pooling and one linear layer; the config (block type and blocks per stage)
is data, one builder per published variant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import nn
from ..nn import functional as F
from .registry import register_model
from .weights import load_weights, state_dict_from


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution, padded to keep the size (at stride 1), without bias (a BatchNorm
    follows, whose shift would cancel it)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias: mixes channels, changes their number."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """The two-layer residual block of ResNet-18/34 and the CIFAR ResNets:

        x -> conv3x3 (stride) -> BN -> ReLU -> conv3x3 -> BN -> (+ shortcut(x)) -> ReLU

    shortcut(x) is x, or `downsample(x)` (1x1 conv stride s -> BN) where the block changes
    the size or the channels. (N, inplanes, H, W) -> (N, planes, H / stride, W / stride).
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock: only groups=1 and base_width=64 are defined, got "
                             f"groups={groups}, base_width={base_width}")
        if dilation > 1:
            raise ValueError(f"BasicBlock: dilation must be 1, got {dilation} (torchvision "
                             "dilates only Bottleneck networks)")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """The three-layer residual block of ResNet-50/101/152 and ResNeXt:

        x -> conv1x1 -> BN -> ReLU -> conv3x3 (stride, groups) -> BN -> ReLU
          -> conv1x1 (x4 channels) -> BN -> (+ shortcut(x)) -> ReLU

    The 1x1 convolutions narrow the channels to `width` for the costly 3x3 and widen them
    back to `planes * 4`. The stride sits on the 3x3, not on the first 1x1 as in the paper
    ("ResNet v1.5", torchvision's choice: a strided 1x1 skips three pixels in four).
    ResNeXt splits the 3x3 into `groups` convolutions of `base_width * planes / 64` channels
    each. (N, inplanes, H, W) -> (N, 4 * planes, H / stride, W / stride).
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 dilation: int = 1, norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


Block = type[BasicBlock] | type[Bottleneck]


class _Stages:
    """Builds the stages of a ResNet one after the other, tracking the channels (inplanes)
    and the dilation between them, as torchvision's `ResNet._make_layer` does."""

    def __init__(self, block: Block, inplanes: int, groups: int, base_width: int,
                 norm_layer: Callable[..., nn.Module]) -> None:
        self.block, self.inplanes, self.dilation = block, inplanes, 1
        self.groups, self.base_width, self.norm_layer = groups, base_width, norm_layer

    def make_layer(self, planes: int, blocks: int, stride: int = 1,
                   dilate: bool = False) -> nn.Sequential:
        """`blocks` blocks at `planes`; the first one strides (or dilates) and, where the
        size or the channels change, carries the 1x1 projection shortcut."""
        block, previous_dilation = self.block, self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       self.norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups,
                        self.base_width, previous_dilation, self.norm_layer)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                         dilation=self.dilation, norm_layer=self.norm_layer)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)


def _init_resnet(model: nn.Module, zero_init_residual: bool) -> None:
    """torchvision's scheme: He-normal (fan_out, ReLU gain) convolutions, BN weight 1 and
    bias 0, the linear layer PyTorch's default; with `zero_init_residual` the last BN of
    each residual branch starts at 0, so every block starts as the identity (Goyal et al.
    2017: +0.2-0.3% on ImageNet)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d) and module.weight is not None:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    if zero_init_residual:
        for module in model.modules():
            last = (module.bn3 if isinstance(module, Bottleneck)
                    else module.bn2 if isinstance(module, BasicBlock) else None)
            if last is not None and last.weight is not None:
                nn.init.zeros_(last.weight)


class ResNet(nn.Module):
    """The ImageNet ResNet: (N, 3, H, W) -> (N, num_classes) logits, any H, W >= 1.

        x -> conv7x7/2 (64) -> BN -> ReLU -> maxpool3x3/2 -> layer1 (64) -> layer2 (128, /2)
          -> layer3 (256, /2) -> layer4 (512, /2) -> global avg pool -> flatten -> fc

    Args:
        block: `BasicBlock` or `Bottleneck`.
        layers: blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18.
        num_classes: outputs of `fc`.
        zero_init_residual: start every residual branch at zero (see `_init_resnet`).
        groups, width_per_group: ResNeXt's cardinality and group width (Bottleneck only).
        replace_stride_with_dilation: three bools, for layers 2-4: keep the map size and
            dilate the convolutions instead of striding (for dense prediction).
        norm_layer: the normalisation class (default `nn.BatchNorm2d`).
    """

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation: Sequence[bool] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        dilate = list(replace_stride_with_dilation or [False, False, False])
        if len(dilate) != 3 or len(layers) != 4:
            raise ValueError(f"ResNet: layers needs 4 entries and replace_stride_with_dilation "
                             f"3, got {list(layers)} and {dilate}")
        self.groups, self.base_width = groups, width_per_group
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages = _Stages(block, 64, groups, width_per_group, norm_layer)
        self.layer1 = stages.make_layer(64, layers[0])
        self.layer2 = stages.make_layer(128, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = stages.make_layer(256, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = stages.make_layer(512, layers[3], stride=2, dilate=dilate[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_resnet(self, zero_init_residual)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(F.flatten(self.avgpool(x), 1))


class CifarResNet(nn.Module):
    """The CIFAR ResNet of He et al. 2015 (section 4.2), depth 6n + 2:

        x -> conv3x3 (16) -> BN -> ReLU -> layer1 (n blocks, 16) -> layer2 (n, 32, /2)
          -> layer3 (n, 64, /2) -> global avg pool -> flatten -> fc

    (N, in_channels, H, W) -> (N, num_classes); 32x32 (CIFAR) or 28x28 (MNIST) inputs go
    to 8x8 or 7x7 maps before the pooling.

    Shortcuts: option B of the paper, a 1x1 projection (conv stride 2 -> BN) where the
    channels double, the identity elsewhere. Option A (the paper's CIFAR choice) pads the
    strided identity with zero channels and saves 2,752 of 272,474 parameters in ResNet-20;
    B reuses `BasicBlock` and torchvision's downsample layout unchanged (so these models
    read the widely used CIFAR ResNet weights with torchvision-style keys, `conv1`, `bn1`,
    `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`), and the paper finds B marginally more
    accurate than A (Table 3).

    Args:
        layers: blocks per stage, three entries (n, n, n).
        num_classes: outputs of `fc`.
        in_channels: image channels (3 for CIFAR, 1 for MNIST).
        zero_init_residual: start every residual branch at zero.
    """

    def __init__(self, layers: Sequence[int], num_classes: int = 10, in_channels: int = 3,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        if len(layers) != 3:
            raise ValueError(f"CifarResNet: layers needs 3 entries, got {list(layers)}")
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        stages = _Stages(BasicBlock, 16, 1, 64, nn.BatchNorm2d)
        self.layer1 = stages.make_layer(16, layers[0])
        self.layer2 = stages.make_layer(32, layers[1], stride=2)
        self.layer3 = stages.make_layer(64, layers[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        _init_resnet(self, zero_init_residual)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(F.flatten(self.avgpool(x), 1))


def _resnet(name: str, block: Block, layers: list[int], weights: Any,
            **kwargs: Any) -> ResNet:
    state = state_dict_from(weights, name)  # a bad path fails before the build
    return load_weights(ResNet(block, layers, **kwargs), state, name)


def _cifar_resnet(name: str, depth: int, weights: Any, **kwargs: Any) -> CifarResNet:
    n = (depth - 2) // 6
    state = state_dict_from(weights, name)
    return load_weights(CifarResNet([n, n, n], **kwargs), state, name)


@register_model("resnet18")
def resnet18(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlock x [2, 2, 2, 2], 11,689,512 parameters, 1.8 G MACs at 224."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, **kwargs)


@register_model("resnet34")
def resnet34(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlock x [3, 4, 6, 3], 21,797,672 parameters, 3.7 G MACs at 224."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, **kwargs)


@register_model("resnet50")
def resnet50(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-50: Bottleneck x [3, 4, 6, 3], 25,557,032 parameters, 4.1 G MACs at 224."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, **kwargs)


@register_model("resnet101")
def resnet101(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-101: Bottleneck x [3, 4, 23, 3], 44,549,160 parameters, 7.8 G MACs at 224."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, **kwargs)


@register_model("resnet152")
def resnet152(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-152: Bottleneck x [3, 8, 36, 3], 60,192,808 parameters, 11.5 G MACs at 224."""
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, **kwargs)


@register_model("resnext50_32x4d")
def resnext50_32x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-50 32x4d (Xie et al. 2017): ResNet-50 whose 3x3 convolutions are 32 groups
    of 4 * planes / 64 channels; 25,028,904 parameters, 4.2 G MACs at 224."""
    kwargs.setdefault("groups", 32)
    kwargs.setdefault("width_per_group", 4)
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, **kwargs)


@register_model("resnext101_32x8d")
def resnext101_32x8d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 32x8d: 88,791,336 parameters, 16.4 G MACs at 224."""
    kwargs.setdefault("groups", 32)
    kwargs.setdefault("width_per_group", 8)
    return _resnet("resnext101_32x8d", Bottleneck, [3, 4, 23, 3], weights, **kwargs)


@register_model("resnext101_64x4d")
def resnext101_64x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 64x4d: 83,455,272 parameters, 15.5 G MACs at 224."""
    kwargs.setdefault("groups", 64)
    kwargs.setdefault("width_per_group", 4)
    return _resnet("resnext101_64x4d", Bottleneck, [3, 4, 23, 3], weights, **kwargs)


@register_model("wide_resnet50_2")
def wide_resnet50_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis 2016): bottlenecks twice as wide inside;
    68,883,240 parameters, 11.4 G MACs at 224."""
    kwargs.setdefault("width_per_group", 128)
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, **kwargs)


@register_model("wide_resnet101_2")
def wide_resnet101_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2: 126,886,696 parameters, 22.8 G MACs at 224."""
    kwargs.setdefault("width_per_group", 128)
    return _resnet("wide_resnet101_2", Bottleneck, [3, 4, 23, 3], weights, **kwargs)


@register_model("resnet20", input_size=(3, 32, 32))
def resnet20(*, weights: Any = None, progress: bool = True, num_classes: int = 10,
             in_channels: int = 3, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-20 (3 blocks per stage): 272,474 parameters at 10 classes, 3 channels."""
    return _cifar_resnet("resnet20", 20, weights, num_classes=num_classes,
                         in_channels=in_channels, **kwargs)


@register_model("resnet32", input_size=(3, 32, 32))
def resnet32(*, weights: Any = None, progress: bool = True, num_classes: int = 10,
             in_channels: int = 3, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-32 (5 blocks per stage): 466,906 parameters at 10 classes, 3 channels."""
    return _cifar_resnet("resnet32", 32, weights, num_classes=num_classes,
                         in_channels=in_channels, **kwargs)


@register_model("resnet44", input_size=(3, 32, 32))
def resnet44(*, weights: Any = None, progress: bool = True, num_classes: int = 10,
             in_channels: int = 3, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-44 (7 blocks per stage): 661,338 parameters at 10 classes, 3 channels."""
    return _cifar_resnet("resnet44", 44, weights, num_classes=num_classes,
                         in_channels=in_channels, **kwargs)


@register_model("resnet56", input_size=(3, 32, 32))
def resnet56(*, weights: Any = None, progress: bool = True, num_classes: int = 10,
             in_channels: int = 3, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-56 (9 blocks per stage): 855,770 parameters at 10 classes, 3 channels."""
    return _cifar_resnet("resnet56", 56, weights, num_classes=num_classes,
                         in_channels=in_channels, **kwargs)
