"""The fully connected layer's math: ``y = x @ W^T + b``.

One op rather than matmul + transpose + add (``kernels.linear_forward``/``linear_backward``):
BLAS reads ``W`` transposed in place, the bias is added into the product's output, and one
graph node instead of three keeps the per-call overhead small at LeNet's sizes.
"""

from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._checks import float_tensor, ndim_in, same_dtype, shape_is


class Linear(Function):
    """y = x W^T + b;  dx = g W,  dW = g^T x,  db = sum over rows of g."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        rows = x.reshape(-1, x.shape[-1])
        out = ctx.kernels.linear_forward(rows, weight, bias)
        ctx.save_for_backward(rows, weight)
        ctx.input_shape = x.shape
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, grad):
        rows, weight = ctx.saved_arrays
        grad_rows = grad.reshape(-1, weight.shape[0])
        grad_x, grad_weight, grad_bias = ctx.kernels.linear_backward(
            grad_rows, rows, weight, ctx.needs_input_grad
        )
        if grad_x is not None:
            grad_x = grad_x.reshape(ctx.input_shape)
        return grad_x, grad_weight, grad_bias


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map of the last dimension: ``y = input @ weight^T + bias``.

    Shapes: input (*, in_features), weight (out_features, in_features), bias (out_features,)
    -> (*, out_features). Each output is ``y[n, o] = b[o] + sum_i x[n, i] * W[o, i]``:

    >>> linear(tensor([[1.0, 2.0]]), tensor([[1.0, 1.0], [0.0, 1.0]]), tensor([0.5, 0.0]))
    # tensor([[3.5, 2.0]])
    """
    op = "linear"
    float_tensor(op, "input", input)
    float_tensor(op, "weight", weight)
    ndim_in(op, "weight", weight, (2,), "(out_features, in_features)")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{op}: input has shape {input.shape}, its last dimension must equal weight's "
            f"in_features {weight.shape[1]} (weight {weight.shape})"
        )
    same_dtype(op, "weight", weight, input)
    if bias is not None:
        float_tensor(op, "bias", bias)
        shape_is(op, "bias", bias, (weight.shape[0],), f"for weight {weight.shape}")
        same_dtype(op, "bias", bias, input)
    return Linear.apply(input, weight, bias)
