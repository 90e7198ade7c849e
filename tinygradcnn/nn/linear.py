"""`Linear`, `Identity`, `Flatten` and its inverse `Unflatten`."""

from __future__ import annotations

import math

import numpy as np

from ..ops._checks import as_int, int_sequence
from ..ops._checks import dim as check_dim
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Fully connected layer y = x @ W^T + b: (N, *, in_features) -> (N, *, out_features).

    Weight (out_features, in_features), bias (out_features,); initialised as PyTorch does,
    U(-1/sqrt(in_features), 1/sqrt(in_features)) for both.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = as_int("Linear", "in_features", in_features, minimum=0)
        self.out_features = as_int("Linear", "out_features", out_features, minimum=0)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=np.float32))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer). Any shape ->
    same shape."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = as_int("Flatten", "start_dim", start_dim)
        self.end_dim = as_int("Flatten", "end_dim", end_dim)

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim `dim` into `unflattened_size` (one entry may be -1: inferred), the inverse
    of Flatten: (N, 784) -> (N, 1, 28, 28) for `Unflatten(1, (1, 28, 28))`."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        self.dim = as_int("Unflatten", "dim", dim)
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or list of ints, "
                            f"got {type(unflattened_size).__name__}")
        sizes = int_sequence("Unflatten", "unflattened_size", unflattened_size)
        if not sizes or sizes.count(-1) > 1 or any(size < -1 for size in sizes):
            raise ValueError(f"Unflatten: unflattened_size {tuple(sizes)} must be non-empty, "
                             "of sizes >= 0 with at most one -1")
        self.unflattened_size = unflattened_size

    def forward(self, x):
        dim = check_dim("Unflatten", self.dim, x.ndim, scalar_ok=False)
        sizes = list(self.unflattened_size)
        known = math.prod(size for size in sizes if size != -1)
        length = x.shape[dim]
        if -1 in sizes and known and length % known == 0:
            sizes[sizes.index(-1)] = length // known
        if math.prod(sizes) != length or -1 in sizes:
            raise ValueError(f"Unflatten: sizes {tuple(self.unflattened_size)} don't multiply "
                             f"up to the size of dim {self.dim} ({length}) of the input of "
                             f"shape {x.shape}")
        return x.reshape(*x.shape[:dim], *sizes, *x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
