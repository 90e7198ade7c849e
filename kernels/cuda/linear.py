"""The fully connected layer on the GPU: ``y = x @ W^T + b`` and its gradients.

The products run on the tiled matmul kernel with its transpose flags (``W`` and ``grad`` are
read transposed in place, no copy), the bias is added into the product's output in place,
and ``grad_b`` is a column reduction (``kernels/cuda/reduce.py``).
"""

from __future__ import annotations

from .elementwise import binary
from .matmul import matmul
from .reduce import reduce


def linear_forward(x, weight, bias):
    """(M, in) @ (out, in)^T + (out,) -> (M, out)."""
    out = matmul(x, weight, transpose_b=True)
    if bias is not None:
        binary("add", out, bias, out=out)
    return out


def linear_backward(grad, x, weight, needs: tuple[bool, bool, bool]):
    """Gradients for input, weight and bias, each only where ``needs`` asks for it.

    ``grad_x = grad @ W`` (M, in), ``grad_w = grad^T @ x`` (out, in), ``grad_b = sum_rows grad``.
    """
    grad_x = matmul(grad, weight) if needs[0] else None
    grad_weight = matmul(grad, x, transpose_a=True) if needs[1] else None
    grad_bias = reduce("sum", grad, (0,)) if needs[2] else None
    return grad_x, grad_weight, grad_bias
