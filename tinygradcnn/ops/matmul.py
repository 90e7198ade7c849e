"""Matrix multiplication, batched and broadcast like ``torch.matmul``."""

from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from .elementwise import operands


class MatMul(Function):
    """out = a @ b;  da = grad @ b^T, db = a^T @ grad (batch dims summed by the engine)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.kernels.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        k = ctx.kernels
        return (
            k.matmul(grad, b, transpose_b=True) if ctx.needs_input_grad[0] else None,
            k.matmul(a, grad, transpose_a=True) if ctx.needs_input_grad[1] else None,
        )


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product. (n, k) @ (k, m) -> (n, m); (*B1, n, k) @ (*B2, k, m) ->
    (*broadcast(B1, B2), n, m); a 1-D operand is a row (first) or column (second) vector
    whose dimension is removed from the result, as in PyTorch."""
    from ..kernels.broadcast import broadcast_shapes

    a, b = operands("matmul", input, other)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} "
                         f"and {b.shape}")
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not align: "
            f"{a2.shape[-1]} (last dim of the first) != {b2.shape[-2]} (rows of the second)"
        )
    if broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) is None:
        raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} do not broadcast")
    out = MatMul.apply(a2, b2)
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    return out
