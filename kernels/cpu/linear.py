"""The fully connected layer on the CPU: ``y = x @ W^T + b`` and its gradients.

The products go to NumPy's BLAS, which reads ``W`` and ``grad`` transposed in place (no copy);
the bias is added into the product's output and summed back with NumPy. At LeNet's sizes
(64 x 400 -> 120) the whole op is a few microseconds of Python around one BLAS call, so this
file exists to keep that overhead small, not to beat BLAS. A large layer's products are cut
across the cores (``matmul.product``).
"""

import numpy as np

from .matmul import product

Array = np.ndarray


def linear_forward(x: Array, weight: Array, bias: Array | None) -> Array:
    """(M, in) @ (out, in)^T + (out,) -> (M, out)."""
    out = product(x, weight.T)
    if bias is not None:
        out += bias
    return out


def linear_backward(
    grad: Array, x: Array, weight: Array, needs: tuple[bool, bool, bool]
) -> tuple[Array | None, Array | None, Array | None]:
    """Gradients for input, weight and bias, each only where ``needs`` asks for it.

    ``grad_x = grad @ W`` (M, in), ``grad_w = grad^T @ x`` (out, in), ``grad_b = sum_rows grad``.
    """
    grad_x = product(grad, weight) if needs[0] else None
    grad_weight = product(grad.T, x) if needs[1] else None
    grad_bias = grad.sum(axis=0) if needs[2] else None
    return grad_x, grad_weight, grad_bias
