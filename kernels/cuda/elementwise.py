"""Elementwise kernels on the GPU: unary maps, broadcasting binary maps, ``where``.

The scalar math (``_unary_value``, ``_unary_derivative``, ...) is the same as in
``kernels/cpu/elementwise.py``, op code for op code (``kernels/opcodes.py``), compiled as
device functions. Each kernel is a grid-stride loop over the *output*: consecutive threads
write consecutive elements (coalesced), and an input's element is found from the output
index through the merged broadcast layout of ``kernels/broadcast.py`` (stride 0 on a
broadcast axis), passed as small tuples in the launch arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..broadcast import broadcast_shapes, layout
from ..opcodes import BINARY, COMPARISONS, UNARY
from .launch import flat, grid_1d, strided_offset

_SQRT_2_OVER_PI = 0.7978845608028654
_INV_SQRT_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


@cuda.jit(device=True, inline=True, cache=True)
def _sigmoid(x):
    # Two branches keep exp's argument non-positive, so large |x| never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@cuda.jit(device=True, inline=True, cache=True)
def _unary_value(op, x, alpha, beta):
    """y = f(x) for unary op ``op``; alpha/beta are the op's scalar parameters."""
    if op == 0:
        return -x
    if op == 1:
        return math.exp(x)
    if op == 2:
        return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
    if op == 3:
        return math.sqrt(x) if x >= 0 else math.nan
    if op == 4:
        return abs(x)
    if op == 5:
        return x if x > 0 else 0.0
    if op == 6:
        return x if x > 0 else alpha * x
    if op == 7:
        return x if x > 0 else alpha * (math.exp(x) - 1.0)
    if op == 8:
        return _sigmoid(x)
    if op == 9:
        return math.tanh(x)
    if op == 10:
        return 0.5 * x * (1.0 + math.erf(x * _INV_SQRT_2))
    if op == 11:
        return 0.5 * x * (1.0 + math.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    if op == 12:
        return x * _sigmoid(x)
    if op == 13:
        return min(max(x, alpha), beta)
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


@cuda.jit(device=True, inline=True, cache=True)
def _unary_derivative(op, x, y, alpha, beta):
    """dy/dx for unary op ``op`` at input x with output y (whichever is cheaper)."""
    if op == 0:
        return -1.0
    if op == 1:
        return y
    if op == 2:
        return 1.0 / x
    if op == 3:
        return 0.5 / y
    if op == 4:
        return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
    if op == 5:
        return 1.0 if x > 0 else 0.0
    if op == 6:
        return 1.0 if x > 0 else alpha
    if op == 7:
        return 1.0 if x > 0 else y + alpha
    if op == 8:
        return y * (1.0 - y)
    if op == 9:
        return 1.0 - y * y
    if op == 10:
        return 0.5 * (1.0 + math.erf(x * _INV_SQRT_2)) + x * _INV_SQRT_2PI * math.exp(-0.5 * x * x)
    if op == 11:
        t = math.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        dt = (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x)
        return 0.5 * (1.0 + t) + 0.5 * x * dt
    if op == 12:
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if op == 13:
        return 1.0 if alpha <= x <= beta else 0.0
    return 0.0


@cuda.jit(device=True, inline=True, cache=True)
def _binary_value(op, a, b):
    """out = a (op) b; comparisons give 1.0 or 0.0."""
    if op == 0:
        return a + b
    if op == 1:
        return a - b
    if op == 2:
        return a * b
    if op == 3:
        return a / b
    if op == 4:
        return a**b
    if op == 5:
        return a if a >= b else b
    if op == 6:
        return a if a <= b else b
    if op == 7:
        return 1.0 if a == b else 0.0
    if op == 8:
        return 1.0 if a != b else 0.0
    if op == 9:
        return 1.0 if a < b else 0.0
    if op == 10:
        return 1.0 if a <= b else 0.0
    if op == 11:
        return 1.0 if a > b else 0.0
    return 1.0 if a >= b else 0.0


@cuda.jit(device=True, inline=True, cache=True)
def _binary_derivatives(op, a, b):
    """(d out/d a, d out/d b) for binary op ``op``; ties of max/min split the gradient."""
    if op == 0:
        return 1.0, 1.0
    if op == 1:
        return 1.0, -1.0
    if op == 2:
        return b, a
    if op == 3:
        return 1.0 / b, -a / (b * b)
    if op == 4:
        da = b * a ** (b - 1.0) if b != 0 else 0.0
        # As PyTorch: d/db of 0**b is taken as 0 for b >= 0 instead of 0 * log(0) = nan.
        db = 0.0 if (a == 0 and b >= 0) else a**b * math.log(a) if a > 0 else math.nan
        return da, db
    if op == 5:
        tie = 0.5 if a == b else 0.0
        return (1.0 if a > b else tie), (1.0 if b > a else tie)
    if op == 6:
        tie = 0.5 if a == b else 0.0
        return (1.0 if a < b else tie), (1.0 if b < a else tie)
    return 0.0, 0.0


@cuda.jit(cache=True)
def _unary_kernel(op, x, out, alpha, beta):
    """One thread maps elements t, t + T, ... of ``x`` (grid-stride, coalesced)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        out[i] = _unary_value(op, x[i], alpha, beta)


@cuda.jit(cache=True)
def _unary_backward_kernel(op, x, y, grad, out, alpha, beta):
    """One thread writes ``grad * f'(x)`` for its elements (grid-stride)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.size, stride):
        out[i] = grad[i] * _unary_derivative(op, x[i], y[i], alpha, beta)


@cuda.jit(cache=True)
def _binary_kernel(op, a, a_strides, b, b_strides, out, shape):
    """One thread computes output elements t, t + T, ...; each input is read through its
    broadcast strides (0 on broadcast axes), so no expanded copy is made."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        va = a[strided_offset(i, shape, a_strides)]
        vb = b[strided_offset(i, shape, b_strides)]
        out[i] = _binary_value(op, va, vb)


@cuda.jit(cache=True)
def _binary_backward_kernel(op, a, a_strides, b, b_strides, grad, grad_a, grad_b, shape):
    """One thread writes both partial gradients of its output elements (grid-stride)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, grad.size, stride):
        va = a[strided_offset(i, shape, a_strides)]
        vb = b[strided_offset(i, shape, b_strides)]
        da, db = _binary_derivatives(op, va, vb)
        grad_a[i] = grad[i] * da
        grad_b[i] = grad[i] * db


@cuda.jit(cache=True)
def _where_kernel(cond, c_strides, a, a_strides, b, b_strides, out, shape):
    """One thread picks ``a`` or ``b`` for each of its output elements (grid-stride)."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        if cond[strided_offset(i, shape, c_strides)]:
            out[i] = a[strided_offset(i, shape, a_strides)]
        else:
            out[i] = b[strided_offset(i, shape, b_strides)]


@cuda.jit(cache=True)
def _expand_kernel(x, x_strides, out, shape):
    """One thread copies its output elements from ``x`` through broadcast strides."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.size, stride):
        out[i] = x[strided_offset(i, shape, x_strides)]


def _out_shape(name: str, *shapes):
    shape = broadcast_shapes(*shapes)
    if shape is None:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{name}: shapes {listed} do not broadcast")
    return shape


def unary(op: str, x, alpha: float = 0.0, beta: float = 0.0, out=None):
    """``f(x)`` elementwise for the unary op named ``op``; same shape and dtype as ``x``."""
    out = cuda.device_array_like(x) if out is None else out
    if x.size:
        blocks, threads = grid_1d(x.size)
        _unary_kernel[blocks, threads](UNARY[op], flat(x), flat(out), float(alpha), float(beta))
    return out


def unary_backward(op: str, x, y, grad, alpha: float = 0.0, beta: float = 0.0):
    """``grad * f'(x)`` elementwise, given the forward input ``x`` and output ``y``."""
    out = cuda.device_array_like(grad)
    if x.size:
        blocks, threads = grid_1d(x.size)
        _unary_backward_kernel[blocks, threads](
            UNARY[op], flat(x), flat(y), flat(grad), flat(out), float(alpha), float(beta)
        )
    return out


def binary(op: str, a, b, out=None):
    """``a (op) b`` with NumPy broadcasting: shapes (*A), (*B) -> broadcast(A, B).

    Comparisons return ``bool``; ``out`` (of the broadcast shape) allows in-place updates.
    """
    shape = _out_shape(op, a.shape, b.shape)
    if out is None:
        dtype = np.bool_ if op in COMPARISONS else np.result_type(a.dtype, b.dtype)
        out = cuda.device_array(shape, dtype=dtype)
    if out.size:
        merged, (a_strides, b_strides) = layout(shape, a.shape, b.shape)
        blocks, threads = grid_1d(out.size)
        _binary_kernel[blocks, threads](
            BINARY[op], flat(a), a_strides, flat(b), b_strides, flat(out), merged
        )
    return out


def binary_backward(op: str, a, b, grad):
    """``(grad * d(a op b)/da, grad * d(a op b)/db)``, both of the broadcast shape."""
    grad_a, grad_b = cuda.device_array_like(grad), cuda.device_array_like(grad)
    if grad.size:
        merged, (a_strides, b_strides) = layout(tuple(grad.shape), a.shape, b.shape)
        blocks, threads = grid_1d(grad.size)
        _binary_backward_kernel[blocks, threads](
            BINARY[op], flat(a), a_strides, flat(b), b_strides,
            flat(grad), flat(grad_a), flat(grad_b), merged,
        )  # fmt: skip
    return grad_a, grad_b


def where(cond, a, b):
    """``a`` where ``cond`` is true, else ``b``, all three broadcast together."""
    shape = _out_shape("where", cond.shape, a.shape, b.shape)
    out = cuda.device_array(shape, dtype=np.result_type(a.dtype, b.dtype))
    if out.size:
        merged, (c_strides, a_strides, b_strides) = layout(shape, cond.shape, a.shape, b.shape)
        blocks, threads = grid_1d(out.size)
        _where_kernel[blocks, threads](
            flat(cond), c_strides, flat(a), a_strides, flat(b), b_strides, flat(out), merged
        )
    return out


def expand(x, shape: tuple[int, ...]):
    """A contiguous copy of ``x`` broadcast to ``shape``."""
    shape = tuple(shape)
    out = cuda.device_array(shape, dtype=x.dtype)
    if out.size:
        merged, (x_strides,) = layout(shape, x.shape)
        blocks, threads = grid_1d(out.size)
        _expand_kernel[blocks, threads](flat(x), x_strides, flat(out), merged)
    return out
