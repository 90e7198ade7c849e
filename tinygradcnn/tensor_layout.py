# mypy: disable-error-code="arg-type"
# (``self`` is a Tensor wherever these methods run, but through a mixin mypy sees it as
# ``LayoutMethods``; the op functions take ``input: Tensor``.)
"""The shape, indexing and dtype methods of ``Tensor`` (a mixin it inherits).

Each method is one line that names the op it calls in ``ops/`` (see ``tensor_math.py`` for
how the op modules are reached). The dtype conversions live here rather than in
``tensor.py`` because ``int()`` and ``bool()`` are method names: in the class body that
declares them, an annotation ``int`` would mean the method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ops

if TYPE_CHECKING:
    from .tensor import Tensor


class LayoutMethods:
    """Shape, indexing and dtype conversion methods of ``Tensor``."""

    __slots__ = ()

    if TYPE_CHECKING:  # defined by Tensor

        def to(self, target: Any = None, dtype: Any = None) -> Tensor: ...

    # -- shape (ops/shape.py): reshape shares the storage, the others copy ---------------
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in ``shape`` (one entry may be -1): (2, 6).reshape(3, -1) -> (3, 4)."""
        return ops.shape.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """``reshape`` (storage is always contiguous, so every view is a reshape)."""
        return ops.shape.reshape(self, *shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims start_dim..end_dim merged: (N, C, H, W).flatten(1) -> (N, C*H*W)."""
        return ops.shape.flatten(self, start_dim, end_dim)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Two dims swapped: (A, B, C).transpose(0, 2) -> (C, B, A)."""
        return ops.shape.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        """Axes reordered: out.shape[i] = self.shape[dims[i]]."""
        return ops.shape.permute(self, *dims)

    def squeeze(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        """Size-1 dims removed (all, or those in ``dim``): (1, 3, 1) -> (3,)."""
        return ops.shape.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        """A size-1 dim inserted at ``dim``: (3, 4).unsqueeze(0) -> (1, 3, 4)."""
        return ops.shape.unsqueeze(self, dim)

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to ``sizes`` (-1 keeps a dim): (3, 1).expand(2, 3, 4) -> (2, 3, 4)."""
        return ops.shape.expand(self, *sizes)

    def __getitem__(self, key: Any) -> Tensor:
        """``x[key]``: ints, slices, None, Ellipsis, integer and bool arrays (a copy)."""
        return ops.shape.getitem(self, key)

    # -- dtype conversions ------------------------------------------------------------
    def float(self) -> Tensor:
        return self.to("float32")

    def double(self) -> Tensor:
        return self.to("float64")

    def long(self) -> Tensor:
        return self.to("int64")
