"""AlexNet (Krizhevsky et al. 2012), in the "one weird trick" form torchvision uses
(Krizhevsky 2014: 64 channels in the first convolution, no local response normalisation)."""

from __future__ import annotations

from typing import Any

from .. import nn
from ..nn import functional as F
from .registry import register_model
from .weights import load_weights, state_dict_from


class AlexNet(nn.Module):
    """Five convolutions and three fully connected layers; (N, 3, H, W) -> (N, num_classes),
    H and W at least 63 (the 11x11 stride-4 stem and three 3x3 stride-2 pools):

        x -> conv11x11/4 (64) -> ReLU -> maxpool3x3/2 -> conv5x5 (192) -> ReLU -> maxpool3x3/2
          -> conv3x3 (384) -> ReLU -> conv3x3 (256) -> ReLU -> conv3x3 (256) -> ReLU
          -> maxpool3x3/2 -> adaptive avg pool 6x6 -> flatten (9216)
          -> dropout -> fc 4096 -> ReLU -> dropout -> fc 4096 -> ReLU -> fc num_classes

    61,100,840 parameters at 1000 classes (58.6 M of them in the first two linear layers),
    0.71 G multiply-adds at 224. PyTorch's default initialisation, as torchvision.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(F.flatten(self.avgpool(self.features(x)), 1))


@register_model("alexnet")
def alexnet(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> AlexNet:
    """AlexNet; `weights` a path to torchvision's converted weights (see `models.weights`)."""
    state = state_dict_from(weights, "alexnet")  # a bad path fails before the build
    return load_weights(AlexNet(**kwargs), state, "alexnet")
