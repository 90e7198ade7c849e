"""The scalar math of the elementwise ops, once, in plain Python: both backends compile it.

Each op is a named function of one element (``gelu(x)``) next to its local derivative
(``gelu_grad(x, y)``: dy/dx at input ``x`` with output ``y = gelu(x)``, using whichever is
cheaper). ``kernels/cpu/launch.py`` compiles these functions with Numba and
``kernels/cuda/launch.py`` as CUDA device functions (``device_function`` on both); the loops
in ``kernels/*/elementwise.py`` are built per op around them, so the op is a constant of its
compiled loop and nothing switches on an op code at run time.

Adding an activation: write ``def mish(x)`` and ``def mish_grad(x, y)`` here, add
``"mish": (mish, mish_grad)`` to ``UNARY``, and call ``ctx.kernels.unary("mish", x)`` from an
op; ``tests/test_scalar.py`` checks every table entry on both devices. Extra scalar
parameters (a slope, bounds) follow ``x`` in the forward and ``x, y`` in the derivative;
``unary(op, x, alpha, beta)`` passes as many of ``alpha, beta`` as the forward takes.

The other scalar code both backends share (the random hash, the SGD and Adam updates of one
element, bilinear sampling, the log-sum-exp) lives beside this file, in ``kernels/shared.py``.

Write these functions for Numba as well as for Python: scalars in, scalars (or a tuple of
two) out, and ``0.0``/``1.0`` literals where an integer would change the result type.
"""

import ast
import functools
import inspect
import math
import textwrap

_SQRT_2_OVER_PI = 0.7978845608028654
_INV_SQRT_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_GELU_TANH_CUBIC = 0.044715


# ---------------------------------------------------------------------------------------------
# unary ops: y = f(x), dy/dx


def negative(x):
    return -x


def negative_grad(x, y):
    return -1.0


def exp(x):
    return math.exp(x)


def exp_grad(x, y):
    return y


def log(x):
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


def log_grad(x, y):
    return 1.0 / x


def sqrt(x):
    return math.sqrt(x) if x >= 0 else math.nan


def sqrt_grad(x, y):
    return 0.5 / y


def absolute(x):
    return abs(x)


def absolute_grad(x, y):
    return sign(x)


def relu(x):
    return x if x > 0 else 0.0


def relu_grad(x, y):
    """From y alone (y > 0 exactly where x > 0), so the op need not keep its input."""
    return 1.0 if y > 0 else 0.0


def leaky_relu(x, negative_slope):
    return x if x > 0 else negative_slope * x


def leaky_relu_grad(x, y, negative_slope):
    return 1.0 if x > 0 else negative_slope


def elu(x, alpha):
    return x if x > 0 else alpha * (math.exp(x) - 1.0)


def elu_grad(x, y, alpha):
    return 1.0 if x > 0 else y + alpha


def sigmoid(x):
    """1 / (1 + e^-x), from ``e = e^-|x|`` <= 1, which never overflows; one exponential and a
    choice of quotient, so that the CPU loop vectorises (two branches with an exp each did not)."""
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


def sigmoid_grad(x, y):
    return y * (1.0 - y)


def tanh(x):
    return math.tanh(x)


def tanh_grad(x, y):
    return 1.0 - y * y


def gelu(x):
    """x * Phi(x), Phi the standard normal CDF. In x's precision, as PyTorch computes it (the
    constants take x's type): float32 stays float32, so the CPU's vectorising erf serves it."""
    f = type(x)
    return f(0.5) * x * (f(1.0) + math.erf(x * f(_INV_SQRT_2)))


def gelu_grad(x, y):
    """Phi(x) + x * phi(x), phi the standard normal density, in x's precision as `gelu`.

    Phi(x) is y / x, from the forward's y = x Phi(x): no second erf, which keeps the CPU
    loop small enough for LLVM to inline and vectorise. Near 0 (where y / x would lose bits
    to subnormals, or be 0 / 0) Phi is 1/2 to within 4e-31."""
    f = type(x)
    cdf = y / x if abs(x) > f(1e-30) else f(0.5)
    return cdf + x * f(_INV_SQRT_2PI) * math.exp(f(-0.5) * x * x)


def gelu_tanh(x):
    """GELU's tanh approximation (PyTorch's ``approximate="tanh"``)."""
    return 0.5 * x * (1.0 + math.tanh(_SQRT_2_OVER_PI * (x + _GELU_TANH_CUBIC * x * x * x)))


def gelu_tanh_grad(x, y):
    t = math.tanh(_SQRT_2_OVER_PI * (x + _GELU_TANH_CUBIC * x * x * x))
    dt = (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_CUBIC * x * x)
    return 0.5 * (1.0 + t) + 0.5 * x * dt


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return x * sigmoid(x)


def silu_grad(x, y):
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def relu6(x):
    """min(max(x, 0), 6), written with tests so that NaN passes through, as in PyTorch."""
    return 0.0 if x <= 0 else (6.0 if x >= 6 else x)


def relu6_grad(x, y):
    """PyTorch's hardtanh rule: 0 at both kinks (x = 0 and x = 6) and beyond them. From y
    alone: y lies strictly inside (0, 6) exactly where x does (NaN passes as NaN)."""
    return 0.0 if (y <= 0 or y >= 6) else 1.0


def hardsigmoid(x):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, the line x / 6 + 1/2 between."""
    return 0.0 if x <= -3 else (1.0 if x >= 3 else x / 6.0 + 0.5)


def hardsigmoid_grad(x, y):
    """1/6 strictly inside (-3, 3), 0 at the kinks and outside (PyTorch's rule)."""
    return 1.0 / 6.0 if (x > -3 and x < 3) else 0.0


def hardswish(x):
    """x * relu6(x + 3) / 6 (MobileNetV3's cheap swish)."""
    return 0.0 if x <= -3 else (x if x >= 3 else x * (x + 3.0) / 6.0)


def hardswish_grad(x, y):
    """x / 3 + 1/2 strictly inside (-3, 3); at the kinks the outer side's slope, as PyTorch
    2.13 (0 at -3, 1 at 3): the derivative is continuous from outside."""
    return 0.0 if x <= -3 else (1.0 if x >= 3 else x / 3.0 + 0.5)


def clamp(x, low, high):
    return min(max(x, low), high)


def clamp_grad(x, y, low, high):
    return 1.0 if low <= x <= high else 0.0


def sign(x):
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def sign_grad(x, y):
    return 0.0


def softplus(x):
    """log(1 + e^x), written as max(x, 0) + log1p(e^-|x|) so that no exponential overflows."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def softplus_grad(x, y):
    return sigmoid(x)


# ---------------------------------------------------------------------------------------------
# binary ops: out = a (op) b, (d out/d a, d out/d b)


def add(a, b):
    return a + b


def add_grad(a, b):
    return 1.0, 1.0


def sub(a, b):
    return a - b


def sub_grad(a, b):
    return 1.0, -1.0


def mul(a, b):
    return a * b


def mul_grad(a, b):
    return b, a


def div(a, b):
    return a / b


def div_grad(a, b):
    return 1.0 / b, -a / (b * b)


def power(a, b):
    return a**b


def power_grad(a, b):
    da = b * a ** (b - 1.0) if b != 0 else 0.0
    # As PyTorch: d/db of 0**b is taken as 0 for b >= 0 instead of 0 * log(0) = nan.
    db = 0.0 if (a == 0 and b >= 0) else a**b * math.log(a) if a > 0 else math.nan
    return da, db


def maximum(a, b):
    return a if a >= b else b


def maximum_grad(a, b):
    """A tie splits the gradient between the two, as PyTorch does."""
    tie = 0.5 if a == b else 0.0
    return (1.0 if a > b else tie), (1.0 if b > a else tie)


def minimum(a, b):
    return a if a <= b else b


def minimum_grad(a, b):
    tie = 0.5 if a == b else 0.0
    return (1.0 if a < b else tie), (1.0 if b < a else tie)


# Comparisons give 1.0 or 0.0 (stored into a bool array) and have no gradient.
def eq(a, b):
    return 1.0 if a == b else 0.0


def ne(a, b):
    return 1.0 if a != b else 0.0


def lt(a, b):
    return 1.0 if a < b else 0.0


def le(a, b):
    return 1.0 if a <= b else 0.0


def gt(a, b):
    return 1.0 if a > b else 0.0


def ge(a, b):
    return 1.0 if a >= b else 0.0


# ---------------------------------------------------------------------------------------------
# reductions: the running result ``acc`` combined with one more value


def sum_combine(acc, value):
    return acc + value


def max_combine(acc, value):
    return value if value > acc else acc


def min_combine(acc, value):
    return value if value < acc else acc


def prod_combine(acc, value):
    return acc * value


# ---------------------------------------------------------------------------------------------
# losses of one element (the reductions over samples are in kernels/*/loss.py)


def bce_with_logits(x, target, pos_weight):
    """Binary cross-entropy of the logit ``x`` against ``target`` in [0, 1], with PyTorch's
    ``pos_weight`` (pw) on the positive term: -pw t log sigmoid(x) - (1 - t) log(1 - sigmoid(x))
    = (1 - t) x + (1 + (pw - 1) t) softplus(-x), the stable form."""
    return (1.0 - target) * x + (1.0 + (pos_weight - 1.0) * target) * softplus(-x)


def bce_with_logits_grad(x, target, pos_weight):
    """(d loss/d x, d loss/d target) of ``bce_with_logits``."""
    d_input = (1.0 + (pos_weight - 1.0) * target) * sigmoid(x) - pos_weight * target
    d_target = (pos_weight - 1.0) * softplus(-x) - x
    return d_input, d_target


# ---------------------------------------------------------------------------------------------
# the tables the kernels are built from: op name -> (forward, derivative)

UNARY = {
    "neg": (negative, negative_grad),
    "exp": (exp, exp_grad),
    "log": (log, log_grad),
    "sqrt": (sqrt, sqrt_grad),
    "abs": (absolute, absolute_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "gelu": (gelu, gelu_grad),
    "gelu_tanh": (gelu_tanh, gelu_tanh_grad),
    "silu": (silu, silu_grad),
    "relu6": (relu6, relu6_grad),
    "hardsigmoid": (hardsigmoid, hardsigmoid_grad),
    "hardswish": (hardswish, hardswish_grad),
    "clamp": (clamp, clamp_grad),
    "sign": (sign, sign_grad),
    "softplus": (softplus, softplus_grad),
}

BINARY = {
    "add": (add, add_grad),
    "sub": (sub, sub_grad),
    "mul": (mul, mul_grad),
    "div": (div, div_grad),
    "pow": (power, power_grad),
    "maximum": (maximum, maximum_grad),
    "minimum": (minimum, minimum_grad),
    "eq": (eq, None),
    "ne": (ne, None),
    "lt": (lt, None),
    "le": (le, None),
    "gt": (gt, None),
    "ge": (ge, None),
}

# reduction name -> (combine, the initial value of the running result)
REDUCTIONS = {
    "sum": (sum_combine, 0.0),
    "max": (max_combine, -math.inf),
    "min": (min_combine, math.inf),
    "prod": (prod_combine, 1.0),
}

COMPARISONS = frozenset(name for name, (_, grad) in BINARY.items() if grad is None)


@functools.cache
def derivative_reads(op: str) -> tuple[bool, bool]:
    """(reads x, reads y): which of its two operands the derivative of unary op ``op`` reads,
    from its source. An op keeps for the backward only what its derivative reads: ReLU,
    sigmoid and tanh their output, as PyTorch's do, which in a ResNet spares a copy of every
    activation (the ReLU's input is a batch norm's output that nothing else keeps)."""
    derivative = UNARY[op][1]
    x_name, y_name = derivative.__code__.co_varnames[:2]
    try:
        source = textwrap.dedent(inspect.getsource(derivative.__code__))
    except (OSError, TypeError):  # installed without its sources: keep both, always right
        return True, True
    loaded = {node.id for node in ast.walk(ast.parse(source))
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return x_name in loaded, y_name in loaded


def parameter_count(op: str) -> int:
    """How many scalar parameters (after ``x``) the unary op ``op`` takes: 0, 1 or 2."""
    return UNARY[op][0].__code__.co_argcount - 1
