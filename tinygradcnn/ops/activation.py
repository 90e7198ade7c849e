"""Activation functions: elementwise non-linearities, each a fused forward/derivative kernel.

The formulas and their derivatives live together in ``kernels/<device>/elementwise.py``.
"""

from ..tensor import Tensor
from ._checks import one_of, real
from .elementwise import unary


def relu(input: Tensor) -> Tensor:
    """max(x, 0); the gradient is 1 where x > 0, else 0. Any shape -> same shape.

    >>> relu(tensor([-2.0, 0.0, 3.0]))   # tensor([0., 0., 3.])
    """
    return unary("relu", input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x. Any shape -> same shape."""
    return unary("leaky_relu", input, real("leaky_relu", "negative_slope", negative_slope))


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1). Any shape -> same shape."""
    return unary("elu", input, real("elu", "alpha", alpha))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x), computed without overflow for large |x|; d/dx = y (1 - y).
    Any shape -> same shape."""
    return unary("sigmoid", input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent; d/dx = 1 - y^2. Any shape -> same shape."""
    return unary("tanh", input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (Phi the standard normal CDF), or its tanh approximation. Any shape ->
    same shape.

    ``approximate="tanh"``: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    """
    one_of("gelu", "approximate", approximate, ("none", "tanh"))
    return unary("gelu" if approximate == "none" else "gelu_tanh", input)


def silu(input: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish). Any shape -> same shape."""
    return unary("silu", input)
