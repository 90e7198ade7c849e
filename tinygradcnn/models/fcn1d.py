"""The fully convolutional network for time series (Wang, Yan and Oates 2017, "Time Series
Classification from Scratch with Deep Neural Networks: A Strong Baseline", IJCNN)."""

from __future__ import annotations

from .. import nn
from ..ops.shape import stack
from ..tensor import Tensor


class FCN1d(nn.Module):
    """Three conv blocks (1-d conv with "same" padding, batch norm, ReLU) of 128, 256 and
    128 filters with kernels 8, 5 and 3, global average pooling over time, a linear layer
    (the paper's softmax). No pooling between blocks and no dropout, as in the paper: the
    length is kept, so the last block's maps line up with the input's time steps and give
    the class activation map (`cam`).

    (N, in_channels, T) -> (N, num_classes) logits, for any T.

    Args:
        in_channels: dimensions of the series (1: univariate; JapaneseVowels: 12).
        num_classes: classes.
        widths: filters of the three blocks (the paper's 128, 256, 128).
        kernel_sizes: their kernel lengths (8, 5, 3).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2,
                 widths: tuple[int, int, int] = (128, 256, 128),
                 kernel_sizes: tuple[int, int, int] = (8, 5, 3)) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = in_channels
        for width, kernel in zip(widths, kernel_sizes, strict=True):
            blocks += [nn.Conv1d(channels, width, kernel, padding="same"),
                       nn.BatchNorm1d(width), nn.ReLU()]
            channels = width
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))

    def cam(self, x: Tensor, classes=None) -> Tensor:
        """Class activation map over time (Zhou et al. 2016, as the paper draws it):
        sum_k w[c, k] * A_k(t), A the last block's (N, K, T) maps and w the linear layer's
        (C, K) weights: (N, in_channels, T) -> (N, num_classes, T), or (N, T) for one class
        per series when `classes` (N,) int64 is given. Its mean over time plus the bias is
        the logit, so a high CAM marks the time steps that voted for that class."""
        maps = self.features(x)
        weights = self.fc.weight.unsqueeze(0)  # (1, C, K)
        cams = weights @ maps                   # (N, C, T)
        if classes is None:
            return cams
        return stack([cams[n, int(c)] for n, c in enumerate(classes)])
