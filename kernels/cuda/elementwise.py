"""Elementwise kernels on the GPU: unary maps, broadcasting binary maps, ``where``.

The math of each op is a plain scalar function in ``kernels/scalar.py`` (``gelu`` and
``gelu_grad``), the same that ``kernels/cpu/elementwise.py`` compiles, here built as a device
function with one kernel per op around it. Each kernel is a grid-stride loop over the
*output*: consecutive threads write consecutive elements (coalesced), and an input's element
is found from the output index through the merged broadcast layout of ``kernels/broadcast.py``
(stride 0 on a broadcast axis), passed as small tuples in the launch arguments.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda

from ..broadcast import broadcast_shapes, layout
from ..scalar import BINARY, COMPARISONS, UNARY, parameter_count
from .launch import device_function, flat, grid_1d, strided_offset


# Each op gets its own kernel, built on first launch and cached on disk: with the op's scalar
# function a constant of the kernel (a closure variable), it is inlined and nothing switches on
# the op at run time. ``params`` is the op's scalar parameters as a tuple: () for relu,
# (slope,) for leaky_relu.
@functools.cache
def _unary_kernel(op: str):
    forward = device_function(UNARY[op][0])

    @cuda.jit(cache=True)
    def kernel(x, out, params):
        """One thread maps elements t, t + T, ... of ``x`` (grid-stride, coalesced)."""
        start, stride = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, x.size, stride):
            out[i] = forward(x[i], *params)

    return kernel


@functools.cache
def _unary_backward_kernel(op: str):
    derivative = device_function(UNARY[op][1])

    @cuda.jit(cache=True)
    def kernel(x, y, grad, out, params):
        """One thread writes ``grad * f'(x)`` for its elements (grid-stride)."""
        start, stride = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, x.size, stride):
            out[i] = grad[i] * derivative(x[i], y[i], *params)

    return kernel


@functools.cache
def _binary_kernel(op: str):
    forward = device_function(BINARY[op][0])

    @cuda.jit(cache=True)
    def kernel(a, a_strides, b, b_strides, out, shape):
        """One thread computes output elements t, t + T, ...; each input is read through its
        broadcast strides (0 on broadcast axes), so no expanded copy is made."""
        start, stride = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, out.size, stride):
            va = a[strided_offset(i, shape, a_strides)]
            vb = b[strided_offset(i, shape, b_strides)]
            out[i] = forward(va, vb)

    return kernel


@functools.cache
def _binary_backward_kernel(op: str):
    derivatives = device_function(BINARY[op][1])

    @cuda.jit(cache=True)
    def kernel(a, a_strides, b, b_strides, grad, grad_a, grad_b, shape):
        """One thread writes both partial gradients of its output elements (grid-stride)."""
        start, stride = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, grad.size, stride):
            va = a[strided_offset(i, shape, a_strides)]
            vb = b[strided_offset(i, shape, b_strides)]
            da, db = derivatives(va, vb)
            grad_a[i] = grad[i] * da
            grad_b[i] = grad[i] * db

    return kernel


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


def _params(op: str, alpha: float, beta: float) -> tuple:
    """The scalar parameters the unary op takes, as floats: (), (alpha,) or (alpha, beta)."""
    return (float(alpha), float(beta))[:parameter_count(op)]


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
        _unary_kernel(op)[blocks, threads](flat(x), flat(out), _params(op, alpha, beta))
    return out


def unary_backward(op: str, x, y, grad, alpha: float = 0.0, beta: float = 0.0):
    """``grad * f'(x)`` elementwise, given the forward input ``x`` and output ``y``."""
    out = cuda.device_array_like(grad)
    if x.size:
        blocks, threads = grid_1d(x.size)
        _unary_backward_kernel(op)[blocks, threads](
            flat(x), flat(y), flat(grad), flat(out), _params(op, alpha, beta)
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
        _binary_kernel(op)[blocks, threads](
            flat(a), a_strides, flat(b), b_strides, flat(out), merged
        )
    return out


def binary_backward(op: str, a, b, grad):
    """``(grad * d(a op b)/da, grad * d(a op b)/db)``, both of the broadcast shape."""
    grad_a, grad_b = cuda.device_array_like(grad), cuda.device_array_like(grad)
    if grad.size:
        merged, (a_strides, b_strides) = layout(tuple(grad.shape), a.shape, b.shape)
        blocks, threads = grid_1d(grad.size)
        _binary_backward_kernel(op)[blocks, threads](
            flat(a), a_strides, flat(b), b_strides,
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
