"""`Upsample` and its two fixed-mode forms, layers over `F.interpolate`."""

from __future__ import annotations

from . import functional as F
from .module import Module


class Upsample(Module):
    """Resize by `size` or `scale_factor` with `F.interpolate`: (N, C, L) -> (N, C, L_out) or
    (N, C, H, W) -> (N, C, H_out, W_out); `Upsample(scale_factor=2)` doubles H and W.

    `mode`: "nearest" (default), "nearest-exact", "linear", "bilinear", "area";
    `align_corners` for the linear modes (see `F.interpolate`)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        # stored as floats, as PyTorch does (its repr shows scale_factor=2.0)
        self.scale_factor: float | tuple[float, ...] | None
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """`Upsample(size, scale_factor, mode="nearest")` for (N, C, H, W) input."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """`Upsample(size, scale_factor, mode="bilinear", align_corners=True)` for (N, C, H, W)
    input (PyTorch's older default for bilinear upsampling)."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
