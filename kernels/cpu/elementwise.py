"""Elementwise kernels on the CPU: unary maps, broadcasting binary maps, ``where``.

The math of each op is a plain scalar function in ``kernels/scalar.py`` (``gelu`` and
``gelu_grad``); here each op gets its own loop around the Numba build of that function, so
the backward pass of an activation is one fused loop instead of a chain of temporaries.
"""

import functools

import numpy as np
from numba import get_num_threads, njit, prange

from ..broadcast import broadcast_shapes, layout
from ..scalar import BINARY, COMPARISONS, UNARY, parameter_count
from .launch import device_function, threaded, use_threads


@njit(cache=True)
def _row_offset(row, shape, strides):
    """Offset of row ``row`` (an index over all but the last dimension) for ``strides``."""
    offset, rest = np.int64(0), np.int64(row)
    for axis in range(len(shape) - 2, -1, -1):
        offset += (rest % shape[axis]) * strides[axis]
        rest //= shape[axis]
    return offset


# Each op gets its own compiled loop, built on first use and cached on disk by Numba: with the
# op's scalar function a constant of the loop (a closure variable, part of Numba's cache key),
# it inlines and the loop vectorises -- a ReLU over 300k floats took 2 ms when the op was
# chosen at run time. Each chunk loops over slices from 0: LLVM vectorises that form, not
# ``range(start, stop)`` over the whole arrays (254 us against 27 us for that ReLU).
# ``params`` is the op's scalar parameters as a tuple: () for relu, (slope,) for leaky_relu.
@functools.cache
def _unary_loop(op: str):
    forward = device_function(UNARY[op][0])

    @threaded
    def loop(x, out, params, chunks):
        size = x.size
        step = (size + chunks - 1) // chunks
        for chunk in prange(chunks):
            stop = min(size, (chunk + 1) * step)
            xs, outs = x[chunk * step:stop], out[chunk * step:stop]
            for i in range(xs.size):
                outs[i] = forward(xs[i], *params)

    return loop


@functools.cache
def _unary_backward_loop(op: str):
    derivative = device_function(UNARY[op][1])

    @threaded
    def loop(x, y, grad, out, params, chunks):
        size = x.size
        step = (size + chunks - 1) // chunks
        for chunk in prange(chunks):
            start, stop = chunk * step, min(size, (chunk + 1) * step)
            xs, ys, grads, outs = x[start:stop], y[start:stop], grad[start:stop], out[start:stop]
            for i in range(xs.size):
                outs[i] = grads[i] * derivative(xs[i], ys[i], *params)

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
def _binary_piece(forward, a, a_step, b, b_step, out):
    """out[j] = forward(a[j * a_step], b[j * b_step]) over one contiguous piece of the output."""
    for j in range(out.size):
        out[j] = forward(a[j * a_step], b[j * b_step])


@njit(cache=True, inline="always")
def _binary_backward_piece(derivatives, a, a_step, b, b_step, grad, grad_a, grad_b):
    """The two local derivatives times ``grad`` over one contiguous piece of the output."""
    for j in range(grad.size):
        da, db = derivatives(a[j * a_step], b[j * b_step])
        grad_a[j] = grad[j] * da
        grad_b[j] = grad[j] * db


# The innermost stride of a contiguous operand is 1, or 0 where it is broadcast. The pieces
# below are called with those strides as literals, so each call is a plain or a
# scalar-operand loop that LLVM vectorises (an add over 300k floats: 215 us with the
# strides as variables, ~30 us with them as constants).
@functools.cache
def _binary_loop(op: str):
    forward = device_function(BINARY[op][0])

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
                _binary_piece(forward, av, 1, bv, 1, outs)
            elif a_step == 0 and b_step == 1:
                _binary_piece(forward, av, 0, bv, 1, outs)
            elif a_step == 1 and b_step == 0:
                _binary_piece(forward, av, 1, bv, 0, outs)
            else:
                _binary_piece(forward, av, a_step, bv, b_step, outs)

    return loop


@functools.cache
def _binary_backward_loop(op: str):
    derivatives = device_function(BINARY[op][1])

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
                _binary_backward_piece(derivatives, av, 1, bv, 1, g, ga, gb)
            elif a_step == 0 and b_step == 1:
                _binary_backward_piece(derivatives, av, 0, bv, 1, g, ga, gb)
            elif a_step == 1 and b_step == 0:
                _binary_backward_piece(derivatives, av, 1, bv, 0, g, ga, gb)
            else:
                _binary_backward_piece(derivatives, av, a_step, bv, b_step, g, ga, gb)

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


def _params(op: str, alpha: float, beta: float) -> tuple:
    """The scalar parameters the unary op takes, as floats: (), (alpha,) or (alpha, beta)."""
    return (float(alpha), float(beta))[:parameter_count(op)]


def _out_shape(name: str, *shapes):
    shape = broadcast_shapes(*shapes)
    if shape is None:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{name}: shapes {listed} do not broadcast")
    return shape


def unary(op: str, x: np.ndarray, alpha: float = 0.0, beta: float = 0.0, out=None) -> np.ndarray:
    """``f(x)`` elementwise for the unary op named ``op``; same shape and dtype as ``x``."""
    out = np.empty_like(x) if out is None else out
    loop = _unary_loop(op)
    loop(x.reshape(-1), out.reshape(-1), _params(op, alpha, beta), _chunks(x.size))
    return out


def unary_backward(op: str, x, y, grad, alpha: float = 0.0, beta: float = 0.0) -> np.ndarray:
    """``grad * f'(x)`` elementwise, given the forward input ``x`` and output ``y``."""
    out = np.empty_like(grad)
    loop = _unary_backward_loop(op)
    loop(
        x.reshape(-1), y.reshape(-1), grad.reshape(-1), out.reshape(-1),
        _params(op, alpha, beta), _chunks(x.size),
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
    loop = _binary_loop(op)
    loop(a.reshape(-1), a_strides, b.reshape(-1), b_strides, out.reshape(-1), merged,
         _chunks(out.size))
    return out


def binary_backward(op: str, a: np.ndarray, b: np.ndarray, grad: np.ndarray):
    """``(grad * d(a op b)/da, grad * d(a op b)/db)``, both of the broadcast shape."""
    merged, (a_strides, b_strides) = layout(grad.shape, a.shape, b.shape)
    grad_a, grad_b = np.empty_like(grad), np.empty_like(grad)
    loop = _binary_backward_loop(op)
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
