"""Batch and layer normalisation."""

from __future__ import annotations

import numpy as np

from ..ops._checks import int_sequence
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    expected_dims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=np.float32))
            self.bias = Parameter(np.zeros(num_features, dtype=np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        name = type(self).__name__
        if x.ndim not in self.expected_dims:
            raise ValueError(f"{name}: expected a {' or '.join(map(str, self.expected_dims))}-d "
                             f"input, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: input has {x.shape[1]} channels, the layer was built "
                             f"for {self.num_features}")
        # Without running statistics the batch's own are used in evaluation too. The op
        # updates the running statistics and the counter (training mode only).
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, self.momentum, self.eps,
                            num_batches_tracked=self.num_batches_tracked)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data = self.running_mean.kernels.zeros(
                (self.num_features,), np.float32)
            self.running_var.data = self.running_var.kernels.full(
                (self.num_features,), 1.0, np.float32)
            self.num_batches_tracked.data = self.num_batches_tracked.kernels.zeros((), np.int64)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalise each feature over the batch: (N, C) or (N, C, L) -> same shape.

    Training: y = (x - mean_batch) / sqrt(var_batch + eps) * weight + bias, and the running
    averages move by `momentum` towards the batch statistics (unbiased variance; with
    ``momentum=None`` they are the cumulative average of all batches, counted in
    ``num_batches_tracked``). Eval: the running averages replace the batch statistics.
    """

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Normalise each channel over the batch and the pixels: (N, C, H, W) -> same shape.
    See `BatchNorm1d` for the formula and the running statistics."""

    expected_dims = (4,)


class LayerNorm(Module):
    """Normalise over the last dims given by `normalized_shape`, per sample:
    y = (x - mean) / sqrt(var + eps) * weight + bias. (*, *normalized_shape) -> same shape."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(normalized_shape, (tuple, list)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = int_sequence("LayerNorm", "normalized_shape", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=np.float32))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=np.float32))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LayerNorm2d(LayerNorm):
    """Layer norm over the channels of each pixel, channels-first: (N, C, H, W) -> same
    shape, as torchvision's `LayerNorm2d(nn.LayerNorm)` (ConvNeXt, with eps=1e-6). Built as
    `LayerNorm2d(C)`: `weight` and `bias` are (C,), keys as LayerNorm's. Computed in place
    of torchvision's permute -> layer_norm -> permute, without the two copies."""

    def forward(self, x):
        if x.ndim < 2 or (x.shape[1],) != self.normalized_shape:
            raise ValueError(f"LayerNorm2d: input {x.shape} does not have "
                             f"{self.normalized_shape} channels on axis 1")
        return F.layer_norm2d(x, self.weight, self.bias, self.eps)
