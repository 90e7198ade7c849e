"""The functional interface, imported as ``F``: every op a layer is built from, by PyTorch's
names."""

from tinygradcnn.ops.activation import (  # noqa: F401
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    leaky_relu,
    relu,
    relu6,
    sigmoid,
    silu,
    tanh,
)
from tinygradcnn.ops.conv import conv1d, conv2d  # noqa: F401
from tinygradcnn.ops.dropout import dropout, gaussian_noise, stochastic_depth  # noqa: F401
from tinygradcnn.ops.interpolate import interpolate  # noqa: F401
from tinygradcnn.ops.linear import linear  # noqa: F401
from tinygradcnn.ops.loss import (  # noqa: F401
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from tinygradcnn.ops.norm import batch_norm, layer_norm, layer_norm2d  # noqa: F401
from tinygradcnn.ops.pool import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    sum_pool2d,
)
from tinygradcnn.ops.shape import flatten, pad  # noqa: F401
from tinygradcnn.ops.softmax import log_softmax, softmax  # noqa: F401
