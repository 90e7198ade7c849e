"""LeNet-5 (LeCun et al. 1998, with ReLU and max pooling) and a small Fashion-MNIST CNN."""

from __future__ import annotations

from .. import nn


class LeNet5(nn.Module):
    """LeNet-5: conv 6@5x5 (pad 2) -> ReLU -> max pool 2 -> conv 16@5x5 -> ReLU -> max pool 2
    -> 400 -> 120 -> 84 -> num_classes. (N, in_channels, 28, 28) -> (N, num_classes) logits.

    Args:
        num_classes: output classes.
        in_channels: image channels (1 for grayscale).
        input_size: side of the square input. Below 16 (the 8x8 digits) the second
            convolution is padded too, so the maps stay at least 2x2: 8x8 -> 8x8 -> 4x4 ->
            4x4 -> 2x2, and the classifier starts from 16 * 2 * 2 = 64 features.
        dropout: dropout probability before each of the two hidden fully connected layers'
            outputs (0 = none, as in the original).
        activation: "relu" (modern) or "tanh" (the 1998 paper).
        pool: "max" (modern) or "avg".

    ~61.7k parameters at 28x28.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 28,
        dropout: float = 0.0,
        activation: str = "relu",
        pool: str = "max",
    ) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        pooling = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[pool]
        pad2 = 2 if input_size < 16 else 0
        side = (input_size // 2 + 2 * pad2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet5: input_size {input_size} is too small (at least 8)")
        self.input_size = input_size
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), act(), pooling(2),
            nn.Conv2d(6, 16, 5, padding=pad2), act(), pooling(2),
        )
        hidden = [nn.Flatten(), nn.Linear(16 * side * side, 120), act()]
        if dropout:
            hidden.append(nn.Dropout(dropout))
        hidden += [nn.Linear(120, 84), act()]
        if dropout:
            hidden.append(nn.Dropout(dropout))
        hidden.append(nn.Linear(84, num_classes))
        self.classifier = nn.Sequential(*hidden)

    def forward(self, x):
        return self.classifier(self.features(x))


class FashionCNN(nn.Module):
    """A small CNN for Fashion-MNIST (431k parameters at width 32, 209k at width 16):
    [conv 32@3x3 -> BN -> ReLU] x2 -> max pool -> [conv 64@3x3 -> BN -> ReLU] x1 -> max pool
    -> dropout -> 64*7*7 -> 128 -> ReLU -> dropout -> num_classes.
    (N, in_channels, 28, 28) -> (N, num_classes) logits; `input_size` must be divisible by 4.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 28,
        dropout: float = 0.25,
        width: int = 32,
    ) -> None:
        super().__init__()
        if input_size % 4:
            raise ValueError(f"FashionCNN: input_size must be divisible by 4, got {input_size}")
        side = input_size // 4

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                    nn.ReLU()]

        self.features = nn.Sequential(
            *block(in_channels, width), *block(width, width), nn.MaxPool2d(2),
            *block(width, 2 * width), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * side * side, 128),
            nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
