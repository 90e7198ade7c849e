"""Small CNNs for grey faces: FaceCNN (64x64 or halved faces: recognition), FaceEmbedder (its
unit-length embedding for verification), the CosFace margin head that trains the embedder, and
FaceDetectorCNN (25x25 face / non-face patches, slid over a photo to detect faces)."""

from __future__ import annotations

import numpy as np

from .. import nn
from ..creation import randn
from ..tensor import Tensor


def l2_normalize(x: Tensor, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """`x / ||x||` along `dim` (as `torch.nn.functional.normalize(x, dim=dim)`); the eps under
    the root keeps the gradient finite at zero. Any shape -> same shape."""
    return x / ((x * x).sum(dim, keepdim=True) + eps).sqrt()


class FaceCNN(nn.Module):
    """Three conv blocks (3x3 conv, batch norm, ReLU, 2x2 max pool: 32 -> 16 -> 8 -> 4), the
    maps flattened (where a feature is matters in an aligned face: no global pooling),
    dropout and a linear layer.

    (N, 1, S, S) -> (N, num_classes) logits, or with `num_classes=0` the (N, embedding_dim)
    embedding for a margin head (`CosFace`); `embed(x)` gives the flattened features,
    (N, 4 * width * (S / 8) ** 2).

    Args:
        num_classes: people to classify (0: no classifier, `forward` returns the embedding).
        width: channels of the first block; the blocks have width, 2 and 4 x width.
        input_size: side S of the square input, a multiple of 8 (32: the halved faces).
        embedding_dim: size of the embedding when `num_classes=0`.
        dropout: dropout probability before the last linear layer.
        in_channels: 1 for grey images.
    """

    def __init__(self, num_classes: int = 40, width: int = 16, input_size: int = 32,
                 embedding_dim: int = 64, dropout: float = 0.5, in_channels: int = 1) -> None:
        super().__init__()
        if input_size % 8:
            raise ValueError(f"FaceCNN: input_size must be a multiple of 8, got {input_size}")
        blocks: list[nn.Module] = []
        channels = in_channels
        for scale in (1, 2, 4):
            blocks += [nn.Conv2d(channels, width * scale, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width * scale), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width * scale
        blocks.append(nn.Flatten())
        self.features = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        out = num_classes if num_classes else embedding_dim
        self.head = nn.Linear(channels * (input_size // 8) ** 2, out)
        self.num_classes = num_classes

    def embed(self, x: Tensor) -> Tensor:
        """(N, 1, S, S) -> (N, 4 * width * (S / 8) ** 2) flattened features."""
        return self.features(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.embed(x)))


class FaceEmbedder(nn.Module):
    """A FaceCNN trunk with a linear embedding: (N, 1, S, S) -> (N, embedding_dim), unit
    length, so the dot product of two embeddings is their cosine similarity."""

    def __init__(self, width: int = 16, input_size: int = 32, embedding_dim: int = 64,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.net = FaceCNN(0, width=width, input_size=input_size, embedding_dim=embedding_dim,
                           dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        return l2_normalize(self.net(x))


class FaceDetectorCNN(nn.Module):
    """Face or not, for a 25x25 grey patch (scikit-image's LFW subset): two conv blocks
    (3x3 conv, batch norm, ReLU, 2x2 max pool: 25 -> 12 -> 6), a third conv block without
    pooling, the maps flattened, a linear layer.

    (N, 1, 25, 25) -> (N, 2) logits (class 1: face).

    Args:
        width: channels of the first block; the blocks have width, 2 and 4 x width.
        dropout: dropout probability before the linear layer.
    """

    def __init__(self, width: int = 8, dropout: float = 0.3) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = 1
        for scale, pool in ((1, True), (2, True), (4, False)):
            blocks += [nn.Conv2d(channels, width * scale, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width * scale), nn.ReLU()]
            blocks += [nn.MaxPool2d(2)] if pool else []
            channels = width * scale
        blocks.append(nn.Flatten())
        self.features = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels * 6 * 6, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.features(x)))


class CosFace(nn.Module):
    """The large margin cosine loss's logits (Wang et al. 2018, "CosFace"):
    `s * (cos(theta_j) - m * [j == label])`, cos between the normalised embedding and the
    normalised class weight j. Fed to cross-entropy, it pulls each embedding toward its
    class direction until its cosine beats every other class's by at least `m`.

    (N, embedding_dim) embeddings, (N,) int64 labels -> (N, num_classes) logits; without
    labels (evaluation) no margin is subtracted.
    """

    def __init__(self, embedding_dim: int, num_classes: int, s: float = 16.0,
                 m: float = 0.35) -> None:
        super().__init__()
        self.weight = nn.Parameter(randn(num_classes, embedding_dim) * 0.1)
        self.s, self.m = float(s), float(m)

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        cosine = l2_normalize(embeddings) @ l2_normalize(self.weight).t()
        if labels is None:
            return cosine * self.s
        margin = np.zeros(cosine.shape, dtype=np.float32)
        margin[np.arange(cosine.shape[0]), labels.numpy()] = self.m
        return (cosine - Tensor(margin, device=cosine.device)) * self.s

    def extra_repr(self) -> str:
        return f"num_classes={self.weight.shape[0]}, s={self.s}, m={self.m}"
