"""Activation modules: one per functional activation, computed by `nn.functional`.

`inplace=True` is PyTorch's argument: the result overwrites the input when no graph is
recorded through it, and is computed out of place otherwise (see ops/activation.py); repr
shows it as PyTorch prints it.
"""

from __future__ import annotations

from . import functional as F
from .module import Module


class _InplaceActivation(Module):
    """An activation with only PyTorch's `inplace` argument."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """max(0, x), elementwise. Any shape -> same shape."""

    def forward(self, x):
        return F.relu(x, self.inplace)


class ReLU6(_InplaceActivation):
    """min(max(0, x), 6), elementwise (MobileNetV2). Any shape -> same shape."""

    def forward(self, x):
        return F.relu6(x, self.inplace)


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6, a piecewise-linear sigmoid. Any shape -> same shape."""

    def forward(self, x):
        return F.hardsigmoid(x, self.inplace)

    def extra_repr(self) -> str:
        return ""  # PyTorch prints no arguments for it


class Hardswish(_InplaceActivation):
    """x * relu6(x + 3) / 6, a piecewise swish (MobileNetV3). Any shape -> same shape."""

    def forward(self, x):
        return F.hardswish(x, self.inplace)

    def extra_repr(self) -> str:
        return ""  # PyTorch prints no arguments for it


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise. Any shape -> same shape."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) otherwise. Any shape -> same shape."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


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


class SiLU(_InplaceActivation):
    """x * sigmoid(x) (also called swish). Any shape -> same shape."""

    def forward(self, x):
        return F.silu(x, self.inplace)


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
