"""The functional interface, imported as ``F``: every op a layer is built from, by PyTorch's names."""

from tinygradcnn.ops.activation import elu, gelu, leaky_relu, relu, sigmoid, silu, tanh  # noqa: F401
from tinygradcnn.ops.shape import flatten, pad  # noqa: F401
