# mypy: disable-error-code="arg-type"
# (``self`` is a Tensor wherever these methods run, but through a mixin mypy sees it as
# ``MathMethods``; the op functions take ``input: Tensor``.)
"""The arithmetic, elementwise and reduction methods of ``Tensor`` (a mixin it inherits).

Each method is one line that names the op it calls in ``ops/``; the op holds the math, the
checks and the gradient. ``tensor.py`` keeps what a tensor *is* (data, device, gradient,
graph edge, conversions); ``tensor_layout.py`` holds the shape methods and
``tensor_inplace.py`` the in-place writes.
The op modules are reached as attributes of the ``ops`` package: they import ``Tensor``, so
``tensor.py`` loads them at its end, once the class exists (the package's one import cycle).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from . import ops

if TYPE_CHECKING:
    from .ops.reduce import ValuesIndices
    from .tensor import Operand, Tensor


class MathMethods:
    """Operators, comparisons, elementwise functions and reductions of ``Tensor``."""

    __slots__ = ()

    # -- arithmetic and comparisons (ops/elementwise.py, ops/matmul.py) -------------------
    def __add__(self, other: Operand) -> Tensor:
        return ops.elementwise.add(self, other)

    def __radd__(self, other: Operand) -> Tensor:
        return ops.elementwise.add(other, self)

    def __sub__(self, other: Operand) -> Tensor:
        return ops.elementwise.sub(self, other)

    def __rsub__(self, other: Operand) -> Tensor:
        return ops.elementwise.sub(other, self)

    def __mul__(self, other: Operand) -> Tensor:
        return ops.elementwise.mul(self, other)

    def __rmul__(self, other: Operand) -> Tensor:
        return ops.elementwise.mul(other, self)

    def __truediv__(self, other: Operand) -> Tensor:
        return ops.elementwise.div(self, other)

    def __rtruediv__(self, other: Operand) -> Tensor:
        return ops.elementwise.div(other, self)

    def __pow__(self, other: Operand) -> Tensor:
        return ops.elementwise.pow(self, other)

    def __rpow__(self, other: Operand) -> Tensor:
        return ops.elementwise.pow(other, self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return ops.matmul.matmul(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return ops.matmul.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.elementwise.neg(self)

    def __abs__(self) -> Tensor:
        return ops.elementwise.abs(self)

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return ops.elementwise.eq(self, other)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return ops.elementwise.ne(self, other)

    def __lt__(self, other: Tensor | builtins.float) -> Tensor:
        return ops.elementwise.lt(self, other)

    def __le__(self, other: Tensor | builtins.float) -> Tensor:
        return ops.elementwise.le(self, other)

    def __gt__(self, other: Tensor | builtins.float) -> Tensor:
        return ops.elementwise.gt(self, other)

    def __ge__(self, other: Tensor | builtins.float) -> Tensor:
        return ops.elementwise.ge(self, other)

    def add(self, other: Operand) -> Tensor:
        """self + other, broadcast: (*A), (*B) -> broadcast(A, B)."""
        return ops.elementwise.add(self, other)

    def sub(self, other: Operand) -> Tensor:
        """self - other, broadcast."""
        return ops.elementwise.sub(self, other)

    def mul(self, other: Operand) -> Tensor:
        """self * other, broadcast."""
        return ops.elementwise.mul(self, other)

    def div(self, other: Operand) -> Tensor:
        """self / other, broadcast (true division)."""
        return ops.elementwise.div(self, other)

    def pow(self, exponent: Operand) -> Tensor:
        """self ** exponent, broadcast."""
        return ops.elementwise.pow(self, exponent)

    def maximum(self, other: Operand) -> Tensor:
        """Elementwise larger of self and other, broadcast."""
        return ops.elementwise.maximum(self, other)

    def minimum(self, other: Operand) -> Tensor:
        """Elementwise smaller of self and other, broadcast."""
        return ops.elementwise.minimum(self, other)

    def eq(self, other: Operand) -> Tensor:
        """self == other elementwise (bool), broadcast."""
        return ops.elementwise.eq(self, other)

    def ne(self, other: Operand) -> Tensor:
        """self != other elementwise (bool), broadcast."""
        return ops.elementwise.ne(self, other)

    def lt(self, other: Operand) -> Tensor:
        """self < other elementwise (bool), broadcast."""
        return ops.elementwise.lt(self, other)

    def le(self, other: Operand) -> Tensor:
        """self <= other elementwise (bool), broadcast."""
        return ops.elementwise.le(self, other)

    def gt(self, other: Operand) -> Tensor:
        """self > other elementwise (bool), broadcast."""
        return ops.elementwise.gt(self, other)

    def ge(self, other: Operand) -> Tensor:
        """self >= other elementwise (bool), broadcast."""
        return ops.elementwise.ge(self, other)

    def matmul(self, other: Tensor) -> Tensor:
        """Matrix product: (n, k) @ (k, m) -> (n, m), batched over leading dims."""
        return ops.matmul.matmul(self, other)

    # -- elementwise functions (ops/elementwise.py, ops/activation.py): shape unchanged ---
    def neg(self) -> Tensor:
        """-x."""
        return ops.elementwise.neg(self)

    def exp(self) -> Tensor:
        """e^x."""
        return ops.elementwise.exp(self)

    def log(self) -> Tensor:
        """Natural logarithm."""
        return ops.elementwise.log(self)

    def sqrt(self) -> Tensor:
        """Square root."""
        return ops.elementwise.sqrt(self)

    def abs(self) -> Tensor:
        """|x|."""
        return ops.elementwise.abs(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 (zero gradient)."""
        return ops.elementwise.sign(self)

    def clamp(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:
        """x limited to [min, max] (either may be None)."""
        return ops.elementwise.clamp(self, min, max)

    def clip(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:
        """``clamp`` (NumPy's name, which PyTorch also has)."""
        return ops.elementwise.clamp(self, min, max)

    def masked_fill(self, mask: Tensor, value: Operand) -> Tensor:
        """``value`` where the bool ``mask`` (broadcast to this shape) is true; same shape."""
        return ops.elementwise.masked_fill(self, mask, value)

    def relu(self) -> Tensor:
        """max(x, 0)."""
        return ops.activation.relu(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x)."""
        return ops.activation.sigmoid(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent."""
        return ops.activation.tanh(self)

    # -- reductions (ops/reduce.py): the reduced dims go, or stay as 1 with keepdim --------
    def sum(self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
        """Sum over ``dim`` (None: all): (2, 3).sum(1) -> (2,)."""
        return ops.reduce.sum(self, dim, keepdim)

    def mean(self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
        """Arithmetic mean over ``dim`` (None: all)."""
        return ops.reduce.mean(self, dim, keepdim)

    def var(self, dim: int | tuple[int, ...] | bool | None = None,
            unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """Variance over ``dim``: sum((x - mean)^2) / (n - correction), correction 1 unless
        ``unbiased=False`` (PyTorch's second positional argument) or given."""
        return ops.reduce.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim: int | tuple[int, ...] | bool | None = None,
            unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """Standard deviation over ``dim``: sqrt(var), with ``var``'s arguments."""
        return ops.reduce.std(self, dim, unbiased, keepdim, correction=correction)

    def max(self, dim: int | tuple[int, ...] | Tensor | None = None,
            keepdim: bool = False) -> Tensor | ValuesIndices:
        """Largest value: of all (0-d), or ``(values, indices)`` along an int ``dim``
        (``.values``, ``.indices``); ``max(other_tensor)`` is ``maximum``."""
        return ops.reduce.max(self, dim, keepdim)

    def min(self, dim: int | tuple[int, ...] | Tensor | None = None,
            keepdim: bool = False) -> Tensor | ValuesIndices:
        """Smallest value: of all (0-d), or ``(values, indices)`` along an int ``dim``;
        ``min(other_tensor)`` is ``minimum``."""
        return ops.reduce.min(self, dim, keepdim)

    def amax(self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
        """Largest value over ``dim`` (int or tuple; None: all)."""
        return ops.reduce.amax(self, dim, keepdim)

    def amin(self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
        """Smallest value over ``dim`` (int or tuple; None: all)."""
        return ops.reduce.amin(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index (int64) of the first largest value along ``dim`` (None: flattened)."""
        return ops.reduce.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index (int64) of the first smallest value along ``dim`` (None: flattened)."""
        return ops.reduce.argmin(self, dim, keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Product over ``dim`` (None: all): (2, 3).prod(1) -> (2,); zeros handled exactly."""
        return ops.scan.prod(self, dim, keepdim, dtype)

    def norm(self, p: builtins.float | str = "fro", dim: int | tuple[int, ...] | None = None,
             keepdim: bool = False, dtype: Any = None) -> Tensor:
        """Vector p-norm over ``dim`` (2/"fro", 1, inf, -inf, 0 or any p; None: all)."""
        return ops.reduce.norm(self, p, dim, keepdim, dtype)

    def any(self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
        """Whether any element over ``dim`` is non-zero (bool)."""
        return ops.reduce.any(self, dim, keepdim)

    def all(self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
        """Whether every element over ``dim`` is non-zero (bool)."""
        return ops.reduce.all(self, dim, keepdim)

    # -- scans and sorting (ops/scan.py, ops/sort.py): one dim at a time ------------------
    def cumsum(self, dim: int, dtype: Any = None) -> Tensor:
        """Running sums along ``dim``: [1, 2, 3] -> [1, 3, 6]; same shape."""
        return ops.scan.cumsum(self, dim, dtype)

    def sort(self, dim: int = -1, descending: bool = False,
             stable: bool = False) -> ValuesIndices:
        """``(values, indices)`` sorted along ``dim`` (stable; NaN largest); same shape."""
        return ops.sort.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The int64 indices that sort along ``dim``; same shape."""
        return ops.sort.argsort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True,
             sorted: bool = True) -> ValuesIndices:
        """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``:
        (N, C).topk(3) -> two (N, 3) tensors, largest first."""
        return ops.sort.topk(self, k, dim, largest, sorted)
