"""Names of the elementwise operations and the small integers the kernels switch on.

One table for both devices: ``kernels/cpu/elementwise.py`` and ``kernels/cuda/elementwise.py``
read the same codes, so an op added here is added to both sides.
"""

UNARY = {
    "neg": 0, "exp": 1, "log": 2, "sqrt": 3, "abs": 4, "relu": 5, "leaky_relu": 6,
    "elu": 7, "sigmoid": 8, "tanh": 9, "gelu": 10, "gelu_tanh": 11, "silu": 12, "clamp": 13,
    "sign": 14,
}

BINARY = {
    "add": 0, "sub": 1, "mul": 2, "div": 3, "pow": 4, "maximum": 5, "minimum": 6,
    "eq": 7, "ne": 8, "lt": 9, "le": 10, "gt": 11, "ge": 12,
}

COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
