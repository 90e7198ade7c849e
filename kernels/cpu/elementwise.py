"""Elementwise kernels on the CPU: unary maps, broadcasting binary maps, ``where``.

Each op is a small scalar function selected by a code from ``kernels/opcodes.py``; the
forward value and the local derivative of every op sit next to each other below, so the
backward pass of an activation is one fused loop instead of a chain of temporaries.
"""

import functools
import math

import numpy as np
from numba import get_num_threads, njit, prange

from ..broadcast import broadcast_shapes, layout
from ..opcodes import BINARY, COMPARISONS, UNARY
from .launch import threaded, use_threads

_SQRT_2_OVER_PI = 0.7978845608028654
_INV_SQRT_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


@njit(cache=True, inline="always")
def _sigmoid(x):
    # Two branches keep exp's argument non-positive, so large |x| never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True)
def _row_offset(row, shape, strides):
    """Offset of row ``row`` (an index over all but the last dimension) for ``strides``."""
    offset, rest = np.int64(0), np.int64(row)
    for axis in range(len(shape) - 2, -1, -1):
        offset += (rest % shape[axis]) * strides[axis]
        rest //= shape[axis]
    return offset


# Each op gets its own compiled loop, built on first use and cached on disk by Numba: with the
# op code a constant of the loop (a closure variable, part of Numba's cache key), the switch in
# `_unary_value` folds away and the loop vectorises -- a ReLU over 300k floats took 2 ms
# through the switch. Each chunk loops over slices from 0: LLVM vectorises that form, not
# ``range(start, stop)`` over the whole arrays (254 us against 27 us for that ReLU).
@functools.cache
def _unary_loop(op: int):
    @threaded
    def loop(x, out, alpha, beta, chunks):
        size = x.size
        step = (size + chunks - 1) // chunks
        for chunk in prange(chunks):
            stop = min(size, (chunk + 1) * step)
            xs, outs = x[chunk * step:stop], out[chunk * step:stop]
            for i in range(xs.size):
                outs[i] = _unary_value(op, xs[i], alpha, beta)

    return loop


@functools.cache
def _unary_backward_loop(op: int):
    @threaded
    def loop(x, y, grad, out, alpha, beta, chunks):
        size = x.size
        step = (size + chunks - 1) // chunks
        for chunk in prange(chunks):
            start, stop = chunk * step, min(size, (chunk + 1) * step)
            xs, ys, grads, outs = x[start:stop], y[start:stop], grad[start:stop], out[start:stop]
            for i in range(xs.size):
                outs[i] = grads[i] * _unary_derivative(op, xs[i], ys[i], alpha, beta)

    return loop


@njit(cache=True, inline="always")
def _split(shape, chunks):
    """(rows, inner, pieces, width): the merged layout as rows of ``inner`` elements, each
    row cut into ``pieces`` of ``width`` when there are fewer rows than ``chunks`` (the
    threads to share the work: one long row is the common, fully merged case)."""
    inner = shape[-1]
    rows = 1
    for axis in range(len(shape) - 1):
        rows *= shape[axis]
    pieces = max(1, chunks // rows) if inner > 0 else 1
    width = (inner + pieces - 1) // pieces
    return rows, inner, pieces, width


@njit(cache=True, inline="always")
def _binary_piece(op, a, a_step, b, b_step, out):
    """out[j] = a[j * a_step] (op) b[j * b_step] over one contiguous piece of the output."""
    for j in range(out.size):
        out[j] = _binary_value(op, a[j * a_step], b[j * b_step])


@njit(cache=True, inline="always")
def _binary_backward_piece(op, a, a_step, b, b_step, grad, grad_a, grad_b):
    """The two local derivatives times ``grad`` over one contiguous piece of the output."""
    for j in range(grad.size):
        da, db = _binary_derivatives(op, a[j * a_step], b[j * b_step])
        grad_a[j] = grad[j] * da
        grad_b[j] = grad[j] * db


# The innermost stride of a contiguous operand is 1, or 0 where it is broadcast. The pieces
# below are called with those strides as literals, so each call is a plain or a
# scalar-operand loop that LLVM vectorises (an add over 300k floats: 215 us with the
# strides as variables, ~30 us with them as constants).
@functools.cache
def _binary_loop(op: int):
    @threaded
    def loop(a, a_strides, b, b_strides, out, shape, chunks):
        rows, inner, pieces, width = _split(shape, chunks)
        a_step, b_step = a_strides[-1], b_strides[-1]
        for task in prange(rows * pieces):
            row, piece = task // pieces, task % pieces
            j0, j1 = piece * width, min(inner, (piece + 1) * width)
            a0 = _row_offset(row, shape, a_strides) + j0 * a_step
            b0 = _row_offset(row, shape, b_strides) + j0 * b_step
            av, bv = a[a0:], b[b0:]
            outs = out[row * inner + j0:row * inner + j1]
            if a_step == 1 and b_step == 1:
                _binary_piece(op, av, 1, bv, 1, outs)
            elif a_step == 0 and b_step == 1:
                _binary_piece(op, av, 0, bv, 1, outs)
            elif a_step == 1 and b_step == 0:
                _binary_piece(op, av, 1, bv, 0, outs)
            else:
                _binary_piece(op, av, a_step, bv, b_step, outs)

    return loop


@functools.cache
def _binary_backward_loop(op: int):
    @threaded
    def loop(a, a_strides, b, b_strides, grad, grad_a, grad_b, shape, chunks):
        rows, inner, pieces, width = _split(shape, chunks)
        a_step, b_step = a_strides[-1], b_strides[-1]
        for task in prange(rows * pieces):
            row, piece = task // pieces, task % pieces
            j0, j1 = piece * width, min(inner, (piece + 1) * width)
            a0 = _row_offset(row, shape, a_strides) + j0 * a_step
            b0 = _row_offset(row, shape, b_strides) + j0 * b_step
            av, bv = a[a0:], b[b0:]
            i0, i1 = row * inner + j0, row * inner + j1
            g, ga, gb = grad[i0:i1], grad_a[i0:i1], grad_b[i0:i1]
            if a_step == 1 and b_step == 1:
                _binary_backward_piece(op, av, 1, bv, 1, g, ga, gb)
            elif a_step == 0 and b_step == 1:
                _binary_backward_piece(op, av, 0, bv, 1, g, ga, gb)
            elif a_step == 1 and b_step == 0:
                _binary_backward_piece(op, av, 1, bv, 0, g, ga, gb)
            else:
                _binary_backward_piece(op, av, a_step, bv, b_step, g, ga, gb)

    return loop


@threaded
def _where_kernel(cond, c_strides, a, a_strides, b, b_strides, out, shape):
    inner = shape[-1]
    rows = out.size // inner if inner else 0
    for row in prange(rows):
        c0 = _row_offset(row, shape, c_strides)
        a0 = _row_offset(row, shape, a_strides)
        b0 = _row_offset(row, shape, b_strides)
        for j in range(inner):
            take_a = cond[c0 + j * c_strides[-1]]
            out[row * inner + j] = (a[a0 + j * a_strides[-1]] if take_a
                                    else b[b0 + j * b_strides[-1]])


def _chunks(size: int) -> int:
    """How many pieces a loop over ``size`` elements is cut into: one per thread it runs on."""
    return get_num_threads() if use_threads(size) else 1


def _out_shape(name: str, *shapes):
    shape = broadcast_shapes(*shapes)
    if shape is None:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{name}: shapes {listed} do not broadcast")
    return shape


def unary(op: str, x: np.ndarray, alpha: float = 0.0, beta: float = 0.0, out=None) -> np.ndarray:
    """``f(x)`` elementwise for the unary op named ``op``; same shape and dtype as ``x``."""
    out = np.empty_like(x) if out is None else out
    loop = _unary_loop(UNARY[op])
    loop(x.reshape(-1), out.reshape(-1), float(alpha), float(beta), _chunks(x.size))
    return out


def unary_backward(op: str, x, y, grad, alpha: float = 0.0, beta: float = 0.0) -> np.ndarray:
    """``grad * f'(x)`` elementwise, given the forward input ``x`` and output ``y``."""
    out = np.empty_like(grad)
    loop = _unary_backward_loop(UNARY[op])
    loop(
        x.reshape(-1), y.reshape(-1), grad.reshape(-1), out.reshape(-1),
        float(alpha), float(beta), _chunks(x.size),
    )
    return out


def binary(op: str, a: np.ndarray, b: np.ndarray, out=None) -> np.ndarray:
    """``a (op) b`` with NumPy broadcasting: shapes (*A), (*B) -> broadcast(A, B).

    Comparisons return ``bool``; ``out`` (of the broadcast shape) allows in-place updates.
    """
    shape = _out_shape(op, a.shape, b.shape)
    if out is None:
        dtype = np.bool_ if op in COMPARISONS else np.result_type(a.dtype, b.dtype)
        out = np.empty(shape, dtype=dtype)
    merged, (a_strides, b_strides) = layout(shape, a.shape, b.shape)
    loop = _binary_loop(BINARY[op])
    loop(a.reshape(-1), a_strides, b.reshape(-1), b_strides, out.reshape(-1), merged,
         _chunks(out.size))
    return out


def binary_backward(op: str, a: np.ndarray, b: np.ndarray, grad: np.ndarray):
    """``(grad * d(a op b)/da, grad * d(a op b)/db)``, both of the broadcast shape."""
    merged, (a_strides, b_strides) = layout(grad.shape, a.shape, b.shape)
    grad_a, grad_b = np.empty_like(grad), np.empty_like(grad)
    loop = _binary_backward_loop(BINARY[op])
    loop(
        a.reshape(-1), a_strides, b.reshape(-1), b_strides,
        grad.reshape(-1), grad_a.reshape(-1), grad_b.reshape(-1), merged, _chunks(grad.size),
    )
    return grad_a, grad_b


def where(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` where ``cond`` is true, else ``b``, all three broadcast together."""
    shape = _out_shape("where", cond.shape, a.shape, b.shape)
    out = np.empty(shape, dtype=np.result_type(a.dtype, b.dtype))
    merged, (c_strides, a_strides, b_strides) = layout(shape, cond.shape, a.shape, b.shape)
    _where_kernel(
        cond.reshape(-1), c_strides, a.reshape(-1), a_strides, b.reshape(-1), b_strides,
        out.reshape(-1), merged,
    )
    return out


def expand(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A contiguous copy of ``x`` broadcast to ``shape``."""
    return np.array(np.broadcast_to(x, shape), order="C")
