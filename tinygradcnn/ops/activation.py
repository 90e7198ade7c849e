"""Activation functions: elementwise non-linearities, each a fused forward/derivative kernel.

The formulas and their derivatives live together in ``kernels/scalar.py``.

``inplace=True`` (PyTorch's argument, which torchvision's models pass) writes the result
into the input and returns the input when no graph is recorded (under ``no_grad``, or for an
input that does not require grad), as PyTorch does. When the graph is recorded the result is
computed out of place: this engine records no in-place op, and the values are the same.
"""

from ..autograd import is_grad_enabled
from ..tensor import Tensor
from ._checks import one_of, real
from .elementwise import unary


def writes_in_place(input: Tensor, inplace: bool) -> bool:
    """Whether an ``inplace=True`` op may overwrite ``input``: only when no graph is recorded
    through it and it holds floats (the result's dtype)."""
    return (bool(inplace) and isinstance(input, Tensor) and input.dtype.kind == "f"
            and not (input.requires_grad and is_grad_enabled()))


def _activation(name: str, input: Tensor, inplace: bool, alpha: float = 0.0,
                beta: float = 0.0) -> Tensor:
    if writes_in_place(input, inplace):
        input._check_inplace(name + "_")
        input.kernels.unary(name, input.data, alpha, beta, out=input.data)
        input._bump_version()
        return input
    return unary(name, input, alpha, beta)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); the gradient is 1 where x > 0, else 0. Any shape -> same shape.

    >>> relu(tensor([-2.0, 0.0, 3.0]))   # tensor([0., 0., 3.])
    """
    return _activation("relu", input, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (MobileNetV2's activation); the gradient is 1 for 0 < x < 6, else 0
    (PyTorch's rule at both kinks). Any shape -> same shape.

    >>> relu6(tensor([-1.0, 3.0, 8.0]))   # tensor([0., 3., 6.])
    """
    return _activation("relu6", input, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3, x/6 + 1/2 between; the gradient is 1/6
    strictly inside (-3, 3), else 0. Any shape -> same shape."""
    return _activation("hardsigmoid", input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (MobileNetV3); the gradient is x/3 + 1/2 on [-3, 3], 0 below and
    1 above. Any shape -> same shape."""
    return _activation("hardswish", input, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x. Any shape -> same shape."""
    return _activation("leaky_relu", input, inplace,
                       real("leaky_relu", "negative_slope", negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1). Any shape -> same shape."""
    return _activation("elu", input, inplace, real("elu", "alpha", alpha))


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


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish). Any shape -> same shape."""
    return _activation("silu", input, inplace)
