# ruff: noqa: F401 -- re-exports: the kernel namespace is this package
"""The GPU backend: the same entry points as ``kernels/cpu``, by the same names, as numba.cuda
kernels over device arrays (see DESIGN.md, the kernel contract). Importing this package
compiles nothing: each kernel is compiled on its first launch (and cached on disk).
"""

from .augment import affine_warp, crop, erase, horizontal_flip
from .boxes import box_iou, nms_keep
from .conv import (
    conv2d_backward_bias,
    conv2d_backward_input,
    conv2d_backward_weight,
    conv2d_forward,
    conv2d_input_layout,
)
from .elementwise import binary, binary_backward, expand, unary, unary_backward, where
from .interpolate import interpolate_backward_input, interpolate_forward
from .layer_norm2d import layer_norm2d_backward, layer_norm2d_forward
from .linear import linear_backward, linear_forward
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
from .memory import (
    arange,
    astype,
    copy,
    copy_into,
    cuda_array_interface,
    empty,
    from_cuda_array,
    from_numpy,
    full,
    storage,
    to_numpy,
    zeros,
)
from .norm import (
    batch_norm_backward,
    batch_norm_backward_eval,
    batch_norm_count,
    batch_norm_forward_eval,
    batch_norm_forward_train,
    layer_norm_backward,
    layer_norm_forward,
)
from .optim import (
    adadelta_step,
    adagrad_step,
    adam_step,
    nadam_step,
    rmsprop_step,
    sgd_step,
)
from .pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_max_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    pool_output_size,
)
from .random import dropout_mask, normal, uniform
from .reduce import argmax, reduce
from .scan import cumsum
from .shape import cat, getitem, getitem_backward, pad, permute, setitem
from .softmax import log_softmax_backward, log_softmax_forward, softmax_backward, softmax_forward
from .sort import sort_backward, sort_forward
