"""Activation modules: one per functional activation, computed by `nn.functional`."""

from __future__ import annotations

from . import functional as F
from .module import Module


class ReLU(Module):
    """max(0, x), elementwise. Any shape -> same shape."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise. Any shape -> same shape."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) otherwise. Any shape -> same shape."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)). Any shape -> same shape."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x). Any shape -> same shape."""

    def forward(self, x):
        return F.tanh(x)


class GELU(Module):
    """x * Phi(x); approximate="tanh" uses the tanh formula. Any shape -> same shape."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x) (also called swish). Any shape -> same shape."""

    def forward(self, x):
        return F.silu(x)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `dim`. Any shape -> same shape, each slice along `dim`
    summing to 1: (N, C) logits -> (N, C) probabilities for dim=1. `dim=None` (PyTorch's
    default) picks dim 0 for 0-, 1- and 3-d input and 1 otherwise, with a warning."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along `dim`, computed stably. Any shape -> same shape; `dim=None` as
    in `Softmax`."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
