"""kernels/cpu/vector_math.py: the CPU's vectorising exp, expm1, tanh (against NumPy's libm,
in float32 and float64, over their whole range and at the special values) and float32 erf."""

import math

import numpy as np
import pytest
from numba import njit

from tinygradcnn.kernels.cpu import vector_math

FUNCTIONS = {"exp": np.exp, "expm1": np.expm1, "tanh": np.tanh}
SPECIAL = [-np.inf, -1e4, -800.0, -745.5, -744.0, -740.0, -708.5, -104.5, -103.5, -100.0,
           -88.0, -87.5, -40.0, -20.5, -1e-9, -0.0, 0.0, 1e-30, 1e-9, 0.35, 20.5, 88.0, 88.7,
           88.8, 709.0, 709.78, 709.8, 1e4, np.inf, np.nan]


# not cached: a cache here would not see an edit of vector_math.py, inlined into it
@njit(error_model="numpy")
def _map(name_code, x, out):
    for i in range(x.size):
        if name_code == 0:
            out[i] = vector_math.exp(x[i])
        elif name_code == 1:
            out[i] = vector_math.expm1(x[i])
        else:
            out[i] = vector_math.tanh(x[i])


def _apply(name: str, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _map(list(FUNCTIONS).index(name), x, out)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_within_a_few_ulp_of_libm_over_the_range(name, dtype):
    info = np.finfo(dtype)
    low, high = np.log(info.tiny), np.log(info.max)  # where exp is a normal number
    x = np.concatenate([np.linspace(low, high, 20001), np.geomspace(1e-12, 1.0, 2001),
                        -np.geomspace(1e-12, 1.0, 2001)]).astype(dtype)
    got = _apply(name, x)
    assert got.dtype == dtype  # float32 is computed in float32, not promoted
    exact = FUNCTIONS[name](x.astype(np.longdouble))
    x, got, exact = x[exact < info.max], got[exact < info.max], exact[exact < info.max]
    ulp = np.abs(got.astype(np.longdouble) - exact) / np.spacing(np.abs(exact).astype(dtype))
    assert ulp.max() <= 3, f"{name} {dtype.__name__}: {ulp.max():.2f} ulp at x = {x[ulp.argmax()]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_special_values_overflow_and_subnormals_as_libm(name, dtype):
    x = np.array(SPECIAL, dtype=dtype)
    with np.errstate(over="ignore", under="ignore"):
        expected = FUNCTIONS[name](x)
    got = _apply(name, x)
    finite = np.isfinite(expected) & (expected != 0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(got[~finite & ~np.isnan(expected)],
                                  expected[~finite & ~np.isnan(expected)])
    tiny = np.abs(expected) < np.finfo(dtype).tiny  # subnormal results: within one of their steps
    close = np.abs(got - expected) <= 4 * np.spacing(np.abs(expected))
    assert np.all(close[finite] | tiny[finite]), x[finite][~close[finite] & ~tiny[finite]]
    assert np.all(np.abs(got[tiny] - expected[tiny]) <= 2 * np.finfo(dtype).smallest_subnormal)
    assert np.signbit(_apply(name, np.array([-0.0], dtype))[0]) == np.signbit(expected[15])


@njit(error_model="numpy")
def _erf_map(x, out):
    for i in range(x.size):
        out[i] = vector_math.erf(x[i])


def _erf(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _erf_map(x, out)
    return out


def test_float32_erf_within_6_ulp_and_exact_at_the_special_values():
    # float64 math.erf is exact to within an ulp of float64: a reference for float32
    x = np.concatenate([np.linspace(-6, 6, 120001), np.geomspace(1e-38, 1, 2001),
                        -np.geomspace(1e-38, 1, 2001)]).astype(np.float32)
    got = _erf(x)
    assert got.dtype == np.float32
    exact = np.array([math.erf(v) for v in x.astype(np.float64)])
    ulp = np.abs(got - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulp.max() <= 6, f"erf float32: {ulp.max():.2f} ulp at x = {x[ulp.argmax()]}"
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 3.95, -10.0, 1e-45], np.float32)
    got = _erf(special)
    assert np.isnan(got[0]) and list(got[1:3]) == [1.0, -1.0] and list(got[5:7]) == [1.0, -1.0]
    assert got[3] == 0 and np.signbit(got[4])
    assert abs(got[7] - np.float32(1e-45) * 1.1283792) <= np.finfo(np.float32).smallest_subnormal


def test_float64_erf_is_libm():
    x = np.linspace(-7, 7, 1001)
    np.testing.assert_array_equal(_erf(x), [math.erf(v) for v in x])
