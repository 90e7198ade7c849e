"""kernels/cpu/vector_math.py: the CPU's vectorising exp, expm1 and tanh against NumPy's libm,
in float32 and float64, over their whole range and at the special values."""

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
