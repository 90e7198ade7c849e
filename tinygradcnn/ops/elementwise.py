"""Elementwise arithmetic with NumPy broadcasting, and comparisons.

Gradients of broadcast operands come back in the broadcast shape; the autograd engine sums
them to each input's shape (``autograd.sum_to_shape``), so no op here repeats that.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, no_grad
from ..kernels.scalar import derivative_reads
from ..tensor import Tensor, float32, int64
from ._checks import tensor_arg


def _dtype_of(a, b) -> np.dtype:
    """PyTorch's promotion: floats win over integers, a Python number adopts the tensor's type."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.dtype.kind == "f" and b.dtype.kind != "f":
            return a.dtype
        if b.dtype.kind == "f" and a.dtype.kind != "f":
            return b.dtype
        return np.promote_types(a.dtype, b.dtype)
    tensor, number = (a, b) if isinstance(a, Tensor) else (b, a)
    if tensor.dtype.kind == "f":
        return tensor.dtype
    if isinstance(number, float):
        return np.dtype(float32)
    return tensor.dtype if tensor.dtype.kind in "iu" else np.dtype(int64)


def operands(name: str, a, b) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one dtype on one device (Python numbers become 0-d)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}: expected at least one Tensor, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    for value in (a, b):
        if not isinstance(value, (Tensor, int, float, bool, np.number, np.ndarray)):
            raise TypeError(f"{name}: unsupported operand type {type(value).__name__}")
    dtype = _dtype_of(a, b)
    device = a.device if isinstance(a, Tensor) else b.device

    def as_tensor(value) -> Tensor:
        if isinstance(value, Tensor):
            return value if value.dtype == dtype else value.to(dtype)
        if isinstance(value, np.ndarray):
            return Tensor(value, dtype=dtype, device=device)
        return Tensor._make(value_kernels.full((), value, dtype))

    value_kernels = (a if isinstance(a, Tensor) else b).kernels
    return as_tensor(a), as_tensor(b)


class Add(Function):
    """out = a + b;  da = grad, db = grad."""

    @staticmethod
    def forward(ctx, a, b):
        return ctx.kernels.binary("add", a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """out = a - b;  da = grad, db = -grad."""

    @staticmethod
    def forward(ctx, a, b):
        return ctx.kernels.binary("sub", a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, (ctx.kernels.unary("neg", grad) if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """out = a * b;  da = grad * b, db = grad * a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.kernels.binary("mul", a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        k = ctx.kernels
        return (
            k.binary("mul", grad, b) if ctx.needs_input_grad[0] else None,
            k.binary("mul", grad, a) if ctx.needs_input_grad[1] else None,
        )


class Div(Function):
    """out = a / b;  da = grad / b, db = -grad * a / b^2 = -da * out."""

    @staticmethod
    def forward(ctx, a, b):
        out = ctx.kernels.binary("div", a, b)
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_arrays
        k = ctx.kernels
        grad_a = k.binary("div", grad, b)
        grad_b = k.unary("neg", k.binary("mul", grad_a, out)) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class BinaryWithDerivative(Function):
    """pow, maximum, minimum: the fused kernel gives both partial derivatives in one pass.

    pow: da = b a^(b-1), db = a^b log a;  maximum/minimum: the gradient goes to the larger
    (smaller) operand and is split in half on ties.
    """

    @staticmethod
    def forward(ctx, a, b, *, op):
        ctx.op = op
        ctx.save_for_backward(a, b)
        return ctx.kernels.binary(op, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return ctx.kernels.binary_backward(ctx.op, a, b, grad)


class Unary(Function):
    """y = f(x) for the kernels' unary ops; backward is grad * f'(x), fused in one kernel.
    It keeps x, y or both, whichever the derivative reads (``derivative_reads``)."""

    @staticmethod
    def forward(ctx, x, *, op, alpha=0.0, beta=0.0):
        y = ctx.kernels.unary(op, x, alpha, beta)
        ctx.op, ctx.alpha, ctx.beta = op, alpha, beta
        reads_x, reads_y = derivative_reads(op)
        ctx.save_for_backward(x if reads_x else None, y if reads_y else None)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_arrays
        # an operand the derivative never reads: any array of its shape stands in for it
        stand_in = grad if x is None and y is None else (y if x is None else x)
        return ctx.kernels.unary_backward(ctx.op, stand_in if x is None else x,
                                          stand_in if y is None else y, grad, ctx.alpha,
                                          ctx.beta)


class Where(Function):
    """out = a where cond else b;  da = grad where cond, db = grad elsewhere."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return ctx.kernels.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_arrays
        k = ctx.kernels
        zero = k.full((), 0, grad.dtype)
        return (
            None,
            k.where(cond, grad, zero) if ctx.needs_input_grad[1] else None,
            k.where(cond, zero, grad) if ctx.needs_input_grad[2] else None,
        )


def _float_input(name: str, x: Tensor) -> Tensor:
    tensor_arg(name, "input", x)
    return x if x.dtype.kind == "f" else x.to(float32)


def unary(name: str, x: Tensor, alpha: float = 0.0, beta: float = 0.0) -> Tensor:
    """Apply the kernels' unary op ``name`` to a float tensor (any shape -> same shape)."""
    return Unary.apply(_float_input(name, x), op=name, alpha=alpha, beta=beta)


def add(a, b) -> Tensor:
    """a + b, broadcast: (*A), (*B) -> broadcast(A, B)."""
    return Add.apply(*operands("add", a, b))


def sub(a, b) -> Tensor:
    """a - b, broadcast: (*A), (*B) -> broadcast(A, B)."""
    return Sub.apply(*operands("sub", a, b))


def mul(a, b) -> Tensor:
    """a * b, broadcast: (*A), (*B) -> broadcast(A, B); (2, 3) * (3,) -> (2, 3)."""
    return Mul.apply(*operands("mul", a, b))


def div(a, b) -> Tensor:
    """a / b, broadcast: (*A), (*B) -> broadcast(A, B) (true division: integer operands give
    float32)."""
    a, b = operands("div", a, b)
    if a.dtype.kind != "f":
        a, b = a.to(float32), b.to(float32)
    return Div.apply(a, b)


def pow(a, b) -> Tensor:  # noqa: A001 - PyTorch's name
    """a ** b, broadcast: (*A), (*B) -> broadcast(A, B)."""
    return BinaryWithDerivative.apply(*operands("pow", a, b), op="pow")


def maximum(a, b) -> Tensor:
    """Elementwise larger of a and b, broadcast: (*A), (*B) -> broadcast(A, B)."""
    return BinaryWithDerivative.apply(*operands("maximum", a, b), op="maximum")


def minimum(a, b) -> Tensor:
    """Elementwise smaller of a and b, broadcast: (*A), (*B) -> broadcast(A, B)."""
    return BinaryWithDerivative.apply(*operands("minimum", a, b), op="minimum")


def neg(x: Tensor) -> Tensor:
    """-x. Any shape -> same shape."""
    return Unary.apply(x, op="neg") if x.dtype.kind == "f" else sub(0, x)


def exp(x: Tensor) -> Tensor:
    """e^x; d/dx = e^x. Any shape -> same shape (integers give float32)."""
    return unary("exp", x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm; d/dx = 1/x. Any shape -> same shape."""
    return unary("log", x)


def sqrt(x: Tensor) -> Tensor:
    """Square root; d/dx = 1 / (2 sqrt x). Any shape -> same shape."""
    return unary("sqrt", x)


def abs(x: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    """|x|; d/dx = sign(x) (0 at 0, as PyTorch). Any shape -> same shape."""
    return unary("abs", x)


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1; its gradient is 0 everywhere. Any shape -> same shape."""
    return unary("sign", x)


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """x limited to [min, max]; the gradient passes where min <= x <= max. Any shape -> same
    shape (broadcast with tensor bounds).

    Bounds may be numbers or tensors (broadcast); None leaves that side open.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x if min is None else maximum(x, min)
        return out if max is None else minimum(out, max)
    low = -math.inf if min is None else float(min)
    high = math.inf if max is None else float(max)
    return unary("clamp", x, low, high)


clip = clamp  # NumPy's name, which PyTorch also has


def where(condition: Tensor, input, other) -> Tensor:
    """``input`` where ``condition`` is true, else ``other``; all three broadcast:
    (*C), (*A), (*B) -> broadcast(C, A, B)."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"where: condition must be a Tensor, got {type(condition).__name__}")
    a, b = operands("where", input, other)
    condition = condition if condition.dtype == np.bool_ else condition.ne(0)
    return Where.apply(condition, a, b)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` where the bool ``mask`` (broadcast to ``input``) is true; same
    shape as ``input``. The gradient passes where the mask is false (and to a tensor
    ``value`` where it is true)."""
    tensor_arg("masked_fill", "input", input)
    tensor_arg("masked_fill", "mask", mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
    if isinstance(value, Tensor) and value.ndim:
        raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{value.shape}")
    value = value if isinstance(value, Tensor) else Tensor._make(
        input.kernels.full((), value, input.dtype))
    out = Where.apply(mask, value.to(input.dtype), input)
    if out.shape != input.shape:
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                         f"input's shape {input.shape}")
    return out


class Compare(Function):
    """out = a <op> b, a bool tensor: no gradient flows through a comparison."""

    @staticmethod
    def forward(ctx, a, b, *, op):
        return ctx.kernels.binary(op, a, b)

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - never recorded (see _compare)
        return None, None


def _compare(op: str, a, b) -> Tensor:
    a, b = operands(op, a, b)
    with no_grad():  # an op (so that tracing sees it) whose bool output needs no grad
        return Compare.apply(a, b, op=op)


def eq(a, b) -> Tensor:
    """a == b elementwise (bool, no gradient): (*A), (*B) -> broadcast(A, B)."""
    return _compare("eq", a, b)


def ne(a, b) -> Tensor:
    """a != b elementwise (bool); shapes as ``eq``."""
    return _compare("ne", a, b)


def lt(a, b) -> Tensor:
    """a < b elementwise (bool); shapes as ``eq``."""
    return _compare("lt", a, b)


def le(a, b) -> Tensor:
    """a <= b elementwise (bool); shapes as ``eq``."""
    return _compare("le", a, b)


def gt(a, b) -> Tensor:
    """a > b elementwise (bool); shapes as ``eq``."""
    return _compare("gt", a, b)


def ge(a, b) -> Tensor:
    """a >= b elementwise (bool); shapes as ``eq``."""
    return _compare("ge", a, b)
