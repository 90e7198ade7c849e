"""Resizing: ``interpolate`` (nearest, nearest-exact, linear, bilinear, area), PyTorch's
``F.interpolate`` with its arguments, output sizes and pixel arithmetic.

The output size along each spatial axis is ``size`` when given, else
``floor(in * scale_factor)``; the kernels then read, for every output row and column, the
input rows and columns that ``kernels/interpolate_taps.py`` computes (PyTorch's formulas,
with the caller's ``scale_factor`` in place of ``in / out`` unless
``recompute_scale_factor=True``). Linear modes are separable: bilinear = linear along rows,
then along columns. The gradient of a resize scatters each output gradient back to the
pixels it read, with the same weights.

Worked example, one row [1, 3] upsampled 2x (``scale_factor=2``):

- nearest:                         [1, 1, 3, 3]
- linear, align_corners=False:     [1, 1.5, 2.5, 3]  (pixel centres line up)
- linear, align_corners=True:      [1, 1.667, 2.333, 3]  (corner pixels line up)
"""

from __future__ import annotations

import math

from ..autograd import Function
from ..tensor import Tensor
from ._checks import float_tensor, is_int, one_of, real
from .pool import adaptive_avg_pool2d

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")
# the spatial dims each mode resizes (PyTorch's "linear" is 1-d only, "bilinear" 2-d only)
_MODE_DIMS = {"nearest": (1, 2), "nearest-exact": (1, 2), "linear": (1,), "bilinear": (2,),
              "area": (1, 2)}


class Interpolate(Function):
    """y[i, j] = sum of w_row * w_col * x[taps of i, taps of j];  dx[taps] += w * dy."""

    @staticmethod
    def forward(ctx, x, size, modes, scales, align_corners):
        ctx.input_size = x.shape[2:]
        ctx.params = (modes, scales, align_corners)
        return ctx.kernels.interpolate_forward(x, size, modes, scales, align_corners)

    @staticmethod
    def backward(ctx, grad):
        return ctx.kernels.interpolate_backward_input(grad, ctx.input_size, *ctx.params)


def _per_axis(op: str, name: str, value, spatial: int, check) -> tuple:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * spatial
    if len(values) != spatial:
        raise ValueError(f"{op}: {name} {value!r} has {len(values)} entries, the input has "
                         f"{spatial} spatial dimension(s)")
    return tuple(check(v) for v in values)


def _size(op: str, value) -> int:
    if not is_int(value):
        raise TypeError(f"{op}: size must be ints, got {value!r}")
    if value < 1:
        raise ValueError(f"{op}: output sizes must be >= 1, got {value}")
    return int(value)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims: (N, C, L) -> (N, C, L_out) or (N, C, H, W) -> (N, C, H_out,
    W_out).

    Give ``size`` (an int or one per spatial dim) or ``scale_factor`` (a number or one per
    dim; the output is ``floor(in * scale_factor)``). ``mode``: "nearest" (PyTorch's legacy
    rule, ``src = floor(dst * in / out)``), "nearest-exact" (pixel centres), "linear" (3-d
    input), "bilinear" (4-d input), "area" (adaptive average pooling).
    ``align_corners`` (linear modes only; default False) maps the corner pixels of input and
    output onto each other instead of their edges.
    """
    op = "interpolate"
    float_tensor(op, "input", input)
    one_of(op, "mode", mode, MODES)
    spatial = input.ndim - 2
    if spatial not in _MODE_DIMS[mode]:
        layouts = {1: "(N, C, L)", 2: "(N, C, H, W)"}
        expected = " or ".join(layouts[d] for d in _MODE_DIMS[mode])
        raise ValueError(f"{op}: mode {mode!r} needs {expected} input, got shape "
                         f"{input.shape}")
    if antialias:
        raise ValueError(f"{op}: antialias=True is not supported (mode {mode!r})")
    linear = mode in ("linear", "bilinear")
    if align_corners is not None and not linear:
        raise ValueError(f"{op}: align_corners can only be set with the interpolating modes "
                         f"'linear' and 'bilinear', got mode {mode!r}")
    align_corners = bool(align_corners)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got size={size!r}"
                         f" and scale_factor={scale_factor!r}")
    in_size = input.shape[2:]
    scales: tuple = (None,) * spatial
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        out_size = _per_axis(op, "size", size, spatial, lambda v: _size(op, v))
    else:
        factors = _per_axis(op, "scale_factor", scale_factor, spatial,
                            lambda v: real(op, "scale_factor", v))
        out_size = tuple(math.floor(float(n) * f) for n, f in zip(in_size, factors,
                                                                   strict=True))
        if any(n < 1 for n in out_size):
            raise ValueError(f"{op}: scale_factor {scale_factor!r} gives output size "
                             f"{out_size} for input size {in_size}; sizes must be >= 1")
        if not recompute_scale_factor:
            scales = factors
    if mode == "area":  # PyTorch's area mode is adaptive average pooling
        if spatial == 1:
            return adaptive_avg_pool2d(input.unsqueeze(2), (1, *out_size)).squeeze(2)
        return adaptive_avg_pool2d(input, out_size)
    axis_mode = "linear" if linear else mode
    if spatial == 1:  # a 1-d resize is a 2-d one whose single row stays put
        axis_mode = "nearest-1d" if axis_mode == "nearest" else axis_mode  # (no shortcuts)
        out = Interpolate.apply(input.unsqueeze(2), size=(1, *out_size),
                                modes=("nearest", axis_mode), scales=(None, *scales),
                                align_corners=align_corners)
        return out.squeeze(2)
    return Interpolate.apply(input, size=out_size, modes=(axis_mode, axis_mode),
                             scales=scales, align_corners=align_corners)
