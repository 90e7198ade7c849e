"""``exp``, ``expm1``, ``tanh`` and float32 ``erf`` written so that LLVM inlines and vectorises
them (CPU only).

libm's ``exp`` is a call LLVM cannot vectorise (this llvmlite has no SVML), so a sigmoid over
300k float32 values took 1.4 ms against PyTorch's 0.1 ms. The CPU build of
``kernels/scalar.py`` sees this module as its ``math`` (``compile_scalar_functions``'s
``math_module``): ``math.exp`` in ``sigmoid`` or ``silu`` becomes ``exp`` below, every other
name is the standard module's. The GPU has fast exponentials of its own and keeps ``math``.

The method, in each precision: ``x = n ln 2 + r`` with ``n = round(x / ln 2)`` and
``|r| <= ln(2) / 2`` (``ln 2`` split in a short head, whose product with ``n`` is exact, and a
tail); ``expm1(r)`` is its Taylor polynomial (degree 7 in float32, 13 in float64, truncation
below half an ulp); ``exp(x) = 2^n (1 + expm1(r))``. ``2^n`` is written straight into a
float's exponent bits, in two halves so that results down to the subnormals and up to
overflow come out right. Rounding to an integer adds and subtracts 1.5 * 2^p, a float
operation, where ``math.floor`` would convert to an integer and stop the vectorising.
Accuracy: within 3 ulp of the exact value in float32 and float64 (tests/test_vector_math.py);
inf, -inf and NaN as libm.

``erf`` in float32 (GELU's; float64 keeps libm's, whose exactness a vectorised float64 erf
would cost as much as the call): one rational function, ``x P(x^2) / Q(x^2)`` (degrees 8
and 4), and +-1 from |x| = 3.95 on. A single branch-free formula, because a two-piece one
(a polynomial below 1, ``1 - e^(R(x) - x^2)`` above: 2.3 ulp) grew too big for LLVM to
inline into the elementwise loops, and a call per element does not vectorise. The
coefficients are this project's fit (linearised least squares on Chebyshev nodes against
mpmath, relative error 2.2e-9 in float64); evaluated in float32 the result is within 6 ulp
of the exact erf, worst near |x| = 3.8 where erf is 1 - 1e-7.
"""

import hashlib
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

_F32 = np.float32
# part of the cache id of every compiled scalar function (launch.py), so an edit here
# recompiles the elementwise loops; softmax.py and loss.py call ``exp`` as a module global
# and, like callers of shared.py, need Numba's cache cleared after an edit here
SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]

# (lowest x, highest x, 1 / ln 2, 1.5 * 2^p, ln 2 head, ln 2 tail, 1/2, 1/4, 1, 2, 20) in
# each type (a Python float literal would turn float32 arithmetic into float64). Beyond
# [lowest, highest] exp is 0 or inf, and clamping there keeps 2^n inside its two halves.
_FLOAT64 = (-746.0, 710.0, 1.4426950408889634, 6755399441055744.0,
            6.93147180369123816490e-01, 1.90821492927058770002e-10, 0.5, 0.25, 1.0, 2.0, 20.0)
_FLOAT32 = tuple(_F32(v) for v in (-104.0, 89.0, 1.4426950408889634, 12582912.0,
                                    0.693145751953125, 1.428606765330187e-06,
                                    0.5, 0.25, 1.0, 2.0, 20.0))


@intrinsic
def _pow2(typingctx, n):
    """``2.0 ** n`` for an integer-valued float ``n`` in the normal range of its type
    ([-126, 127] in float32, [-1022, 1023] in float64): ``n + bias`` shifted into the
    exponent field, an integer add and shift that vectorise (no ``ldexp`` call)."""
    if not isinstance(n, types.Float):
        return None

    def codegen(context, builder, signature, args):
        wide = n.bitwidth == 64
        word = ir.IntType(n.bitwidth)
        k = builder.fptosi(args[0], ir.IntType(32))  # f64 -> i32 vectorises on AVX2 too
        if wide:
            k = builder.sext(k, word)
        bias, shift = (1023, 52) if wide else (127, 23)
        bits = builder.shl(builder.add(k, ir.Constant(word, bias)), ir.Constant(word, shift))
        return builder.bitcast(bits, context.get_value_type(n))

    return n(n), codegen


def _constants(x):
    """The constants above in the type of ``x``."""
    return _FLOAT32 if isinstance(x, np.float32) else _FLOAT64


def _expm1_reduced(r):
    """``e^r - 1`` for ``|r| <= ln(2) / 2``: Taylor's polynomial, r (1 + r/2 + r^2/6 + ...)."""
    return _expm1_reduced32(r) if isinstance(r, np.float32) else _expm1_reduced64(r)


def _expm1_reduced32(r):
    p = _F32(1 / 40320)
    p = p * r + _F32(1 / 5040)
    p = p * r + _F32(1 / 720)
    p = p * r + _F32(1 / 120)
    p = p * r + _F32(1 / 24)
    p = p * r + _F32(1 / 6)
    p = p * r + _F32(0.5)
    return (p * r + _F32(1.0)) * r


def _expm1_reduced64(r):
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    return (p * r + 1.0) * r


# The precision is chosen when Numba types the call, by these overloads: ``isinstance`` inside
# an ``inline="always"`` function is decided before the types are known, and took the
# float64 branch for float32 arguments.
@overload(_constants, inline="always")
def _constants_typed(x):
    return (lambda x: _FLOAT32) if x == types.float32 else (lambda x: _FLOAT64)


@overload(_expm1_reduced, inline="always")
def _expm1_reduced_typed(r):
    return _expm1_reduced32 if r == types.float32 else _expm1_reduced64


@njit(inline="always", error_model="numpy")
def _reduce(x):
    """(e^r - 1, n, h) with x = n ln 2 + r and h = floor(n / 2), x clamped first."""
    low, high, log2e, rounder, ln2_hi, ln2_lo, half, quarter = _constants(x)[:8]
    x = low if x < low else (high if x > high else x)  # NaN passes both tests
    n = (x * log2e + rounder) - rounder
    r = (x - n * ln2_hi) - n * ln2_lo
    h = (n * half - quarter + rounder) - rounder
    return _expm1_reduced(r), n, h


@njit(inline="always", error_model="numpy")
def exp(x):
    """e^x, as ``math.exp`` (overflow gives inf, not an error): (1 + expm1(r)) 2^h 2^(n-h)."""
    em, n, h = _reduce(x)
    return (em + _constants(x)[8]) * _pow2(h) * _pow2(n - h)


@njit(inline="always", error_model="numpy")
def expm1(x):
    """e^x - 1, accurate near 0: 2^n expm1(r) + (2^n - 1), as (2^h expm1(r) - (2^(h-n) - 2^h))
    2^(n-h), so that 2^n itself, which overflows just below exp's overflow, is never formed;
    the subtraction keeps expm1(-0.0) = -0.0."""
    em, n, h = _reduce(x)
    scale = _pow2(h)
    return (scale * em - (_pow2(h - n) - scale)) * _pow2(n - h)


@njit(inline="always", error_model="numpy")
def tanh(x):
    """tanh x = expm1(2x) / (expm1(2x) + 2), with |x| clamped at 20 (tanh is +-1 there in
    float64) so that no inf / inf appears."""
    two, limit = _constants(x)[9:]
    x = -limit if x < -limit else (limit if x > limit else x)
    em = expm1(two * x)
    return em / (em + two)


# erf(x) = x P(s) / Q(s), s = x^2 / 3.95^2, for |x| < 3.95 (beyond, erf is +-1 in float32):
# the fit's coefficients, lowest power first
_ERF_P = tuple(_F32(c) for c in (
    1.1283791663283622, 1.5255784265290933, 9.99771050611673, 0.5656490421793541,
    9.818549118131097, -6.584419086178009, 3.4410779188402425, -1.095297370662846,
    0.15863048783374023))
_ERF_Q = tuple(_F32(c) for c in (
    1.0, 6.55284125877001, 18.59675865828411, 28.12977061574397, 20.59627098232852))
_ERF_BOUNDS = (_F32(1.0), _F32(3.95), _F32(1 / 3.95**2))


def _erf32(x):
    one, top, scale = _ERF_BOUNDS
    p, q = _ERF_P, _ERF_Q
    s = x * x * scale
    num = (((((((p[8] * s + p[7]) * s + p[6]) * s + p[5]) * s + p[4]) * s + p[3]) * s
            + p[2]) * s + p[1]) * s + p[0]
    den = (((q[4] * s + q[3]) * s + q[2]) * s + q[1]) * s + q[0]
    # NaN fails the test and keeps x * num / den: NaN
    return (one if x > 0 else -one) if abs(x) >= top else x * (num / den)


def erf(x):
    """The error function: the vectorising float32 one above, libm's for float64."""
    return math.erf(x)


@overload(erf, inline="always")
def _erf_typed(x):
    return _erf32 if x == types.float32 else (lambda x: math.erf(x))


def math_module() -> ModuleType:
    """A module that is ``math`` but for ``exp``, ``expm1``, ``tanh`` and ``erf``, which are the
    functions above: what the CPU build of ``kernels/scalar.py`` calls ``math``.

    It is registered in ``sys.modules``: Numba's cache key pickles the compiled scalar
    functions with their globals, and an importable module pickles as its name, where one
    that is not would pickle its contents, new ids each process: a cache miss every run."""
    name = __name__ + ".math"
    if name not in sys.modules:
        module = ModuleType(name)
        module.__dict__.update({key: value for key, value in vars(math).items()
                                if not key.startswith("__")},
                               exp=exp, expm1=expm1, tanh=tanh, erf=erf)
        sys.modules[name] = module
    return sys.modules[name]
