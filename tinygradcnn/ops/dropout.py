"""Regularising noise: inverted dropout and additive Gaussian noise, active only in training.

Random numbers come from the counter-based kernels (``kernels.dropout_mask``,
``kernels.normal``) with a seed drawn from ``tinygradcnn.random``, so ``tg.manual_seed(n)``
replays the same masks, and the CPU and the GPU draw the same ones.
"""

from __future__ import annotations

from .. import random
from ..autograd import Function
from ..tensor import Tensor
from ._checks import float_tensor, one_of, real
from .activation import writes_in_place


class Dropout(Function):
    """y = x * mask, mask = 1/(1-p) with probability 1-p else 0;  dx = g * mask."""

    @staticmethod
    def forward(ctx, x, p, seed):
        k = ctx.kernels
        mask = k.dropout_mask(x.shape, p, x.dtype, seed)
        ctx.save_for_backward(mask)
        return k.binary("mul", x, mask)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_arrays
        return ctx.kernels.binary("mul", grad, mask)


class GaussianNoise(Function):
    """y = x + std * z, z ~ N(0, 1) elementwise;  dx = g (the noise is a constant)."""

    @staticmethod
    def forward(ctx, x, std, seed):
        k = ctx.kernels
        return k.binary("add", x, k.normal(x.shape, x.dtype, seed, 0.0, std))

    @staticmethod
    def backward(ctx, grad):
        return grad


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the survivors by
    ``1 / (1 - p)`` so the expected value is unchanged. Any shape -> same shape.

    Not training (or ``p = 0``): returns ``input`` itself. ``p = 1`` zeros everything.
    ``inplace=True`` overwrites ``input`` when no graph is recorded through it (PyTorch's
    semantics), and computes out of place otherwise (the same values, the same mask).
    """
    float_tensor("dropout", "input", input)
    p = real("dropout", "p", p, 0, 1)
    if not training or p == 0.0:
        return input
    seed = random.next_seed()
    if writes_in_place(input, inplace):
        return input.mul_(Tensor._make(input.kernels.dropout_mask(input.shape, p, input.dtype,
                                                                  seed)))
    return Dropout.apply(input, p=p, seed=seed)


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    """Drop whole residual branches (Huang et al. 2016), as ``torchvision.ops.stochastic_depth``:
    (N, *) -> (N, *).

    ``mode="row"`` zeros each sample's branch with probability ``p`` (one draw per sample,
    a mask of shape (N, 1, ..., 1)); ``mode="batch"`` zeros the branch for the whole batch
    (one draw). Survivors are scaled by ``1 / (1 - p)``, the survival rate's inverse, so the
    expected value is unchanged; the gradient is the same mask times the upstream gradient.
    Not training, or ``p = 0``: returns ``input`` itself. The mask comes from the
    counter-based generator on the input's device (reproducible under ``tg.manual_seed``).

    >>> stochastic_depth(x, 0.5, "row")   # each sample's x kept (times 2) or zeroed
    """
    op = "stochastic_depth"
    float_tensor(op, "input", input)
    p = real(op, "p", p, 0, 1)
    one_of(op, "mode", mode, ("batch", "row"))
    if not training or p == 0.0:
        return input
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a batch dimension, got shape {input.shape}")
    size = (input.shape[0] if mode == "row" else 1,) + (1,) * (input.ndim - 1)
    noise = input.kernels.dropout_mask(size, p, input.dtype, random.next_seed())
    return input * Tensor._make(noise)


def gaussian_noise(input: Tensor, std: float, training: bool = True) -> Tensor:
    """Noise injection: ``input + std * N(0, 1)`` elementwise. Any shape -> same shape.

    The gradient passes through unchanged. Not training (or ``std = 0``): returns ``input``.
    No PyTorch twin; the seed material's regulariser for small data sets.
    """
    float_tensor("gaussian_noise", "input", input)
    std = real("gaussian_noise", "std", std, 0)
    if not training or std == 0.0:
        return input
    return GaussianNoise.apply(input, std=std, seed=random.next_seed())
