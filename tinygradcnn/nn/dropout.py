"""Regularising noise layers, active only in training mode."""

from __future__ import annotations

from ..ops._checks import real
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability p during training and scale the rest by 1/(1-p);
    the identity in eval mode. Any shape -> same shape."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = real("Dropout", "p", p, 0, 1)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class GaussianNoise(Module):
    """Add N(0, std^2) noise during training; the identity in eval mode. Any shape -> same
    shape."""

    def __init__(self, std: float = 0.1) -> None:
        super().__init__()
        self.std = real("GaussianNoise", "std", std, 0)

    def forward(self, x):
        return F.gaussian_noise(x, self.std, self.training)

    def extra_repr(self) -> str:
        return f"std={self.std}"
