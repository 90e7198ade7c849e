"""The CPU backend: every kernel the ops call, by name (see DESIGN.md, the kernel contract)."""

from .augment import affine_warp, crop, horizontal_flip
from .elementwise import binary, binary_backward, expand, unary, unary_backward, where
from .loss import (
    bce_with_logits_backward,
    bce_with_logits_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    cross_entropy_probs_backward,
    cross_entropy_probs_forward,
    nll_loss_backward,
    nll_loss_forward,
)
from .matmul import matmul
from .memory import arange, astype, copy, copy_into, empty, from_numpy, full, to_numpy, zeros
from .optim import adam_step, sgd_step
from .random import dropout_mask, normal, uniform
from .reduce import argmax, reduce
from .shape import cat, getitem, getitem_backward, pad, permute, setitem
from .softmax import log_softmax_backward, log_softmax_forward, softmax_backward, softmax_forward
