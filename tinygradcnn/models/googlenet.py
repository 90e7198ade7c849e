"""GoogLeNet / Inception v1 (Szegedy et al. 2014), weight for weight torchvision's.

An inception module runs four branches side by side on the same input, a 1x1, a 3x3 and
a "5x5" convolution and a max pool, and concatenates their channels: the network chooses,
per layer, what mix of receptive fields to use. 1x1 convolutions first shrink the channels
of the expensive branches ("reductions"), so nine modules cost 1.5 G multiply-adds at 224,
a tenth of VGG-16's. Two auxiliary classifiers on intermediate maps add gradient to the
early layers during training (their loss weighted by 0.3 in the paper); at evaluation only
the main output is returned.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from .. import nn
from ..nn import functional as F
from ..ops.shape import cat
from .registry import register_model
from .weights import load_weights, state_dict_from

# torchvision's training-mode output: the main logits first, then aux2, then aux1
GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    """x -> conv (no bias) -> BN (eps 0.001, as the TensorFlow original) -> ReLU.
    (N, in_channels, H, W) -> (N, out_channels, H_out, W_out); `kwargs` go to the conv."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four branches, concatenated along the channels:

              +-> 1x1 (ch1x1) -------------------------------+
              +-> 1x1 (ch3x3red) -> 3x3 (ch3x3) -------------+
        x ----+-> 1x1 (ch5x5red) -> 3x3 (ch5x5) -------------+--> cat -> (N, total, H, W)
              +-> maxpool 3x3/1 (pad 1) -> 1x1 (pool_proj) --+

    total = ch1x1 + ch3x3 + ch5x5 + pool_proj; every conv is a `BasicConv2d`. The "5x5"
    branch is a 3x3 convolution: a slip in torchvision's port (pytorch/vision#906) that its
    published weights were trained with, kept here so they load and give the same logits.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                 ch5x5red: int, ch5x5: int, pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """The auxiliary classifier: x -> adaptive avg pool 4x4 -> 1x1 conv (128) -> flatten
    (2048) -> fc 1024 -> ReLU -> dropout (0.7) -> fc num_classes.
    (N, in_channels, H, W) -> (N, num_classes)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = F.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """(N, 3, H, W) -> (N, num_classes) logits, H and W at least 15; in training mode with
    `aux_logits`, a `GoogLeNetOutputs(logits, aux_logits2, aux_logits1)` instead.

        x -> conv7x7/2 (64) -> maxpool/2 -> conv1x1 (64) -> conv3x3 (192) -> maxpool/2
          -> inception 3a, 3b -> maxpool/2 -> 4a [aux1] 4b 4c 4d [aux2] 4e -> maxpool/2
          -> 5a, 5b -> global avg pool -> dropout -> fc

    Every max pool rounds its output size up (`ceil_mode=True`, as Caffe did).

    Args:
        num_classes: outputs of `fc` and of the aux heads.
        aux_logits: build the two auxiliary classifiers (`aux1`, `aux2`).
        transform_input: re-normalise an input normalised with ImageNet's mean and std to
            the (x - 0.5) / 0.5 the original weights were trained on, per channel.
        init_weights: torchvision's initialisation (None, its default, means True): conv and
            linear weights from N(0, 0.01) truncated at +-2 (200 standard deviations, so
            the truncation never happens: a normal draw), BN weight 1 and bias 0.
        dropout, dropout_aux: before `fc`, and in the aux heads.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: bool | None = None,
                 dropout: float = 0.2, dropout_aux: float = 0.7) -> None:
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux1: InceptionAux | None = None
        self.aux2: InceptionAux | None = None
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights is None or init_weights:
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(module.weight, 0.0, 0.01)
                elif isinstance(module, nn.BatchNorm2d):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)

    def _transform_input(self, x):
        # x_c * std_c / 0.5 + (mean_c - 0.5) / 0.5: undo ImageNet's normalisation, apply 0.5's
        channels = [x[:, c:c + 1] * (std / 0.5) + (mean - 0.5) / 0.5
                    for c, (mean, std) in enumerate(((0.485, 0.229), (0.456, 0.224),
                                                     (0.406, 0.225)))]
        return cat(channels, 1)

    def forward(self, x):
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        with_aux = self.training and self.aux1 is not None and self.aux2 is not None
        aux1 = self.aux1(x) if with_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if with_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(F.flatten(self.avgpool(x), 1)))
        if with_aux and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model("googlenet")
def googlenet(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> GoogLeNet:
    """GoogLeNet: 6,624,904 parameters without the aux heads (13,004,888 with them, at
    1000 classes), 1.5 G multiply-adds at 224.

    With `weights` (torchvision's file, converted), as torchvision: `transform_input`
    defaults to True (those weights expect inputs normalised with ImageNet's mean and std),
    and the aux heads in the file are loaded and then dropped unless `aux_logits=True`."""
    if weights is None:
        return GoogLeNet(**kwargs)
    state = state_dict_from(weights, "googlenet")
    wanted_aux = kwargs.get("aux_logits", False)
    kwargs.setdefault("transform_input", True)
    # torchvision's file has the aux heads; a file saved here without them loads too
    kwargs["aux_logits"] = any(key.startswith("aux1.") for key in state)
    kwargs["init_weights"] = False
    model = load_weights(GoogLeNet(**kwargs), state, "googlenet")
    if model.aux_logits and not wanted_aux:
        model.aux_logits, model.aux1, model.aux2 = False, None, None
    # what rebuilds this model (tg.save_model): the file changed the call's arguments
    object.__setattr__(model, "_build_args", {"transform_input": kwargs["transform_input"],
                                              "aux_logits": model.aux_logits})
    return model
