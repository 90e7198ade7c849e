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

import numpy as np

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

    def view_as(self, other: Tensor) -> Tensor:
        """``view(other.shape)``."""
        return ops.shape.reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """``reshape(other.shape)``."""
        return ops.shape.reshape(self, other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        """``expand(other.shape)``."""
        return ops.shape.expand(self, other.shape)

    def t(self) -> Tensor:
        """The transpose of a matrix: (A, B) -> (B, A); 0-d and 1-d tensors come back as
        they are."""
        return ops.shape.t(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (a batch of matrices transposed): (*, A, B) -> (*, B, A)."""
        return ops.shape.transpose(self, -2, -1)

    def clone(self) -> Tensor:
        """A copy in new storage that stays in the graph (gradients flow back to ``self``)."""
        return ops.shape.clone(self)

    def flip(self, *dims: Any) -> Tensor:
        """Elements reversed along ``dims``: [[1, 2], [3, 4]].flip(1) -> [[2, 1], [4, 3]]."""
        return ops.rearrange.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts: int | tuple[int, ...], dims: int | tuple[int, ...] | None = None
             ) -> Tensor:
        """Elements shifted along ``dims``, wrapping: [1, 2, 3, 4].roll(1) -> [4, 1, 2, 3]."""
        return ops.rearrange.roll(self, shifts, dims)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tiled ``sizes[d]`` times along each dim: (2, 3).repeat(2, 2) -> (4, 6)."""
        return ops.rearrange.repeat(self, *sizes)

    def split(self, split_size: int | list[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along ``dim`` of ``split_size`` each, or of the sizes in a list."""
        return ops.rearrange.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` equal pieces along ``dim`` (the last may be smaller)."""
        return ops.rearrange.chunk(self, chunks, dim)

    def __getitem__(self, key: Any) -> Tensor:
        """``x[key]``: ints, slices, None, Ellipsis, integer and bool arrays (a copy)."""
        return ops.shape.getitem(self, key)

    # -- dtype conversions ------------------------------------------------------------
    def float(self) -> Tensor:
        """``to(float32)``."""
        return self.to(dtype=np.float32)

    def double(self) -> Tensor:
        """``to(float64)``."""
        return self.to(dtype=np.float64)

    def long(self) -> Tensor:
        """``to(int64)``."""
        return self.to(dtype=np.int64)

    def int(self) -> Tensor:
        """``to(int32)``, PyTorch's ``int``."""
        return self.to(dtype=np.int32)

    def bool(self) -> Tensor:
        """``to(bool)``: non-zero is True."""
        return self.to(dtype=np.bool_)

    def type(self, dtype: Any = None) -> Tensor | str:
        """``type(tg.float)`` converts, as ``to(dtype)``; ``type()`` names the tensor's type
        as PyTorch does ("tinygradcnn.FloatTensor", "tinygradcnn.cuda.LongTensor")."""
        return ops.shape.tensor_type(self, dtype)
