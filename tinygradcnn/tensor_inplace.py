# mypy: disable-error-code="arg-type,return-value"
# (``self`` is a Tensor wherever these methods run, but through a mixin mypy sees it as
# ``InPlaceMethods``; the op functions take ``input: Tensor``, and the methods return it.)
"""The in-place methods of ``Tensor`` (a mixin it inherits): ``zero_``, ``copy_``, ``add_``,
``normal_``, ``x[i] = v`` and the rest.

They write the storage without recording a graph (for optimizers, initialisation and
buffers), and each write bumps the storage's version counter, so ``backward`` can refuse a
graph whose saved tensor was overwritten (``autograd.py``). Writing into a leaf that requires
grad, or a view of one, is an error unless gradients are off (``tg.no_grad()``), as in
PyTorch.

``tensor.py`` imports this file before the class ``Tensor`` exists (the same import cycle as
the op modules, see ``tensor_math.py``), so the methods reach it through ``_tensor_class()``.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from . import autograd, ops
from .random import next_seed

if TYPE_CHECKING:
    from types import ModuleType

    from .tensor import Operand, Tensor, _Version


class InPlaceMethods:
    """In-place writes of ``Tensor``: no graph, one version bump each."""

    __slots__ = ()

    if TYPE_CHECKING:  # defined by Tensor
        data: Any
        requires_grad: bool
        _ctx: Any

        @property
        def shape(self) -> tuple[int, ...]: ...
        @property
        def dtype(self) -> Any: ...
        @property
        def device(self) -> Any: ...
        @property
        def kernels(self) -> ModuleType: ...
        def _shared_version(self) -> _Version: ...

    def _check_inplace(self, name: str) -> None:
        if not (self.requires_grad and autograd.is_grad_enabled()):
            return
        if self._ctx is None:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad is used in an in-place operation; "
                f"wrap it in tg.no_grad()"
            )
        base = self
        while base._ctx is not None and base._ctx.function.output_is_view and base._ctx.parents:
            base = base._ctx.parents[0]
        if base is not self and base._ctx is None:
            raise RuntimeError(
                f"{name}: a view of a leaf tensor that requires grad is used in an in-place "
                f"operation; wrap it in tg.no_grad()"
            )

    def _bump_version(self) -> None:
        """Count one in-place write of the storage: for code that writes into ``.data``
        directly (the in-place methods below, the optimizers)."""
        self._shared_version().value += 1

    def zero_(self) -> Tensor:
        """In place: every element 0."""
        return self.fill_(0.0)

    def fill_(self, value: builtins.float) -> Tensor:
        """In place: every element ``value``."""
        self._check_inplace("fill_")
        self.kernels.copy_into(self.data, self.kernels.full(self.shape, value, self.dtype))
        self._bump_version()
        return self

    def copy_(self, source: Any) -> Tensor:
        """In place: take ``source``'s values (broadcast to this shape, cast to this dtype)."""
        self._check_inplace("copy_")
        if not isinstance(source, _tensor_class()):
            source = _tensor_class()(source, device=self.device)
        array = self.kernels.astype(source.data, self.dtype)
        if tuple(array.shape) != self.shape:
            array = self.kernels.expand(array, self.shape)
        self.kernels.copy_into(self.data, array)
        self._bump_version()
        return self

    def _inplace_binary(self, op: str, other: Operand, name: str,
                        alpha: builtins.float = 1) -> Tensor:
        self._check_inplace(name)
        k = self.kernels
        operand = (other.data if isinstance(other, _tensor_class())
                   else k.full((), other, self.dtype))
        if alpha != 1:
            operand = k.binary("mul", operand, k.full((), alpha, operand.dtype))
        k.binary(op, self.data, operand, out=self.data)
        self._bump_version()
        return self

    def _write_result(self, name: str, compute: Any) -> Tensor:
        """In place: the values of ``compute()``, an out-of-place op run without a graph."""
        self._check_inplace(name)
        with autograd.no_grad():
            result = compute()
        self.kernels.copy_into(self.data, self.kernels.astype(result.data, self.dtype))
        self._bump_version()
        return self

    def add_(self, other: Operand, alpha: builtins.float = 1) -> Tensor:
        """In place: self += alpha * other (broadcast to this shape)."""
        return self._inplace_binary("add", other, "add_", alpha)

    def sub_(self, other: Operand, alpha: builtins.float = 1) -> Tensor:
        """In place: self -= alpha * other."""
        return self._inplace_binary("sub", other, "sub_", alpha)

    def mul_(self, other: Operand) -> Tensor:
        """In place: self *= other."""
        return self._inplace_binary("mul", other, "mul_")

    def div_(self, other: Operand) -> Tensor:
        """In place: self /= other."""
        return self._inplace_binary("div", other, "div_")

    def clamp_(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:
        """In place: ``clamp(min, max)``."""
        return self._write_result("clamp_", lambda: ops.elementwise.clamp(self, min, max))

    def clip_(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:
        """In place: ``clamp(min, max)``."""
        return self._write_result("clip_", lambda: ops.elementwise.clamp(self, min, max))

    def masked_fill_(self, mask: Tensor, value: Operand) -> Tensor:
        """In place: ``value`` where the bool ``mask`` is true."""
        return self._write_result("masked_fill_",
                                  lambda: ops.elementwise.masked_fill(self, mask, value))

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0) -> Tensor:
        """In place: samples of N(mean, std^2); reproducible under ``manual_seed``."""
        return self._write_result("normal_", lambda: _tensor_class()._make(
            self.kernels.normal(self.shape, self.dtype, next_seed(), mean, std)))

    def uniform_(self, from_: builtins.float = 0.0, to: builtins.float = 1.0,
                 **kwargs: builtins.float) -> Tensor:
        """In place: samples uniform in [from, to) (``from`` is a keyword PyTorch allows:
        ``uniform_(**{"from": -1})``, or pass it first); reproducible under ``manual_seed``."""
        low = kwargs.pop("from", from_)
        if kwargs:
            raise TypeError(f"uniform_: unexpected arguments {sorted(kwargs)}")
        return self._write_result("uniform_", lambda: _tensor_class()._make(
            self.kernels.uniform(self.shape, self.dtype, next_seed(), low, to)))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        value = (value.data if isinstance(value, _tensor_class())
                 else self.kernels.full((), value, self.dtype))
        self.kernels.setitem(self.data, ops.shape.normalize_index(key, self.shape, self.device),
                             value)
        self._bump_version()


def _tensor_class() -> type[Tensor]:
    from .tensor import Tensor  # at call time: tensor.py imports this file before the class

    return Tensor
