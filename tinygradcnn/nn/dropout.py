"""Regularising noise layers, active only in training mode."""

from __future__ import annotations

from ..ops._checks import one_of, real
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability p during training and scale the rest by 1/(1-p);
    the identity in eval mode. Any shape -> same shape. `inplace` as PyTorch's (see
    `F.dropout`: in place only when no graph is recorded)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = real("Dropout", "p", p, 0, 1)
        self.inplace = inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class StochasticDepth(Module):
    """Randomly drop a residual branch in training, as `torchvision.ops.StochasticDepth`:
    (N, *) -> (N, *). `mode="row"`: each sample's branch is dropped with probability `p`;
    `mode="batch"`: the whole batch's. Survivors are scaled by 1 / (1 - p); the identity in
    eval mode. Used as `x + StochasticDepth(p, "row")(branch(x))`."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = real("StochasticDepth", "p", p, 0, 1)
        one_of("StochasticDepth", "mode", mode, ("batch", "row"))
        self.mode = mode

    def forward(self, x):
        return F.stochastic_depth(x, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, mode={self.mode})"  # torchvision's form


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
