"""The scalar math of kernels/scalar.py and kernels/shared.py: every table entry is checked
against finite differences, the compiled kernels against the plain Python functions, and the
two backends against each other, so adding an op to a table tests it without a new test."""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from conftest import DEVICES

import tinygradcnn as tg
from tinygradcnn.kernels import cpu as cpu_kernels
from tinygradcnn.kernels import scalar, shared
from tinygradcnn.ops import elementwise

# scalar parameters for the unary ops that take them, and inputs away from their kinks
PARAMS = {"leaky_relu": (0.1, 0.0), "elu": (0.7, 0.0), "clamp": (-0.5, 0.7)}
KINKS = {"abs": [0.0], "relu": [0.0], "leaky_relu": [0.0], "elu": [0.0], "sign": [0.0],
         "clamp": [-0.5, 0.7], "relu6": [0.0], "hardsigmoid": [-3.0, 3.0],
         "hardswish": [-3.0, 3.0]}
POSITIVE = {"log", "sqrt"}


def _inputs(op: str, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 3.0, size) if op in POSITIVE else rng.uniform(-3.0, 3.0, size)
    for kink in KINKS.get(op, []):
        x = np.where(np.abs(x - kink) < 1e-3, x + 0.01, x)
    return x


@pytest.mark.parametrize("op", sorted(scalar.UNARY))
def test_every_unary_derivative_matches_finite_differences(op):
    x = _inputs(op)
    alpha, beta = PARAMS.get(op, (0.0, 0.0))
    y = cpu_kernels.unary(op, x, alpha, beta)
    step = 1e-6
    numeric = (cpu_kernels.unary(op, x + step, alpha, beta)
               - cpu_kernels.unary(op, x - step, alpha, beta)) / (2 * step)
    analytic = cpu_kernels.unary_backward(op, x, y, np.ones_like(x), alpha, beta)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("op", sorted(op for op in scalar.BINARY if op not in scalar.COMPARISONS))
def test_every_binary_derivative_matches_finite_differences(op):
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.5, 2.0, 64), rng.uniform(0.5, 2.0, 64) + 0.05
    step = 1e-6
    grad_a, grad_b = cpu_kernels.binary_backward(op, a, b, np.ones_like(a))
    for analytic, da, db in ((grad_a, step, 0.0), (grad_b, 0.0, step)):
        numeric = (cpu_kernels.binary(op, a + da, b + db)
                   - cpu_kernels.binary(op, a - da, b - db)) / (2 * step)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("op", sorted(scalar.UNARY))
def test_the_compiled_unary_loop_computes_the_plain_python_function(op):
    x = _inputs(op, 16)
    forward, derivative = scalar.UNARY[op]
    params = PARAMS.get(op, (0.0, 0.0))[:scalar.parameter_count(op)]
    y = cpu_kernels.unary(op, x, *params)
    # The CPU build's exp, expm1 and tanh are kernels/cpu/vector_math.py's, a few ulp from
    # libm's; the atol covers results near 0 after a cancellation (gelu_tanh's 1 + tanh).
    np.testing.assert_allclose(y, [forward(v, *params) for v in x], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(cpu_kernels.unary_backward(op, x, y, np.ones_like(x), *params),
                               [derivative(v, w, *params) for v, w in zip(x, y, strict=True)],
                               rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("op", sorted(scalar.UNARY))
def test_the_op_keeps_what_its_derivative_reads_and_the_gradient_is_unchanged(op):
    # the op saves x, y or both (derivative_reads) and lets another array stand in for the
    # rest: the gradient must be the one the kernel gives with both
    x = _inputs(op, 16)
    params = PARAMS.get(op, (0.0, 0.0))[:scalar.parameter_count(op)]
    t = tg.tensor(x, requires_grad=True)
    y = elementwise.unary(op, t, *params)
    reads_x, reads_y = scalar.derivative_reads(op)
    saved_x, saved_y = y._ctx.saved_arrays
    assert (saved_x is not None, saved_y is not None) == (reads_x, reads_y)
    upstream = np.random.default_rng(4).uniform(0.5, 1.5, x.shape)
    y.backward(tg.tensor(upstream))
    np.testing.assert_array_equal(
        t.grad.numpy(), cpu_kernels.unary_backward(op, x, y.numpy(), upstream, *params))


def test_derivative_reads_finds_the_operands_in_the_source():
    assert scalar.derivative_reads("relu") == (False, True)  # y > 0 where x > 0
    assert scalar.derivative_reads("sigmoid") == (False, True)
    assert scalar.derivative_reads("silu") == (True, False)
    assert scalar.derivative_reads("gelu") == (True, True)  # Phi = y / x
    assert scalar.derivative_reads("neg") == (False, False)


@pytest.mark.parametrize("op", sorted(scalar.REDUCTIONS))
def test_every_reduction_folds_with_its_combine(op):
    x = np.random.default_rng(3).standard_normal((4, 5, 6))
    combine, initial = scalar.REDUCTIONS[op]
    expected = np.full((4, 6), initial)
    for r in range(5):
        expected = np.vectorize(combine)(expected, x[:, r])
    np.testing.assert_allclose(cpu_kernels.reduce(op, x, (1,)), expected, rtol=1e-12)


def test_comparisons_return_bool_and_follow_the_table():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0])
    for op in scalar.COMPARISONS:
        out = cpu_kernels.binary(op, a, b)
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out, [bool(scalar.BINARY[op][0](v, 2.0)) for v in a])


def test_uniform_draws_are_the_plain_python_hash():
    seed = 12345
    with np.errstate(over="ignore"):  # the hash wraps uint64 on purpose
        expected = [shared.hash_to_unit(np.uint64(seed), i) for i in range(33)]
    np.testing.assert_array_equal(cpu_kernels.uniform((33,), np.float64, seed), expected)


@pytest.mark.skipif("cuda" not in DEVICES, reason="no GPU and no CUDA simulator")
def test_every_table_op_gives_the_same_result_on_both_devices():
    from tinygradcnn.kernels import cuda as cuda_kernels

    for op in scalar.UNARY:
        x = _inputs(op, 12).astype(np.float32)
        params = PARAMS.get(op, (0.0, 0.0))
        y = cpu_kernels.unary(op, x, *params)
        on_gpu = cuda_kernels.unary(op, cuda_kernels.from_numpy(x), *params)
        np.testing.assert_allclose(cuda_kernels.to_numpy(on_gpu), y, rtol=1e-6, atol=1e-7)
        grad = cuda_kernels.unary_backward(op, *(cuda_kernels.from_numpy(v) for v in (x, y, x)),
                                           *params)
        np.testing.assert_allclose(cuda_kernels.to_numpy(grad),
                                   cpu_kernels.unary_backward(op, x, y, x, *params),
                                   rtol=1e-5, atol=1e-6)
    a = np.random.default_rng(2).uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    b = a[:1] + 0.25
    for op in scalar.BINARY:
        on_gpu = cuda_kernels.binary(op, cuda_kernels.from_numpy(a), cuda_kernels.from_numpy(b))
        np.testing.assert_allclose(cuda_kernels.to_numpy(on_gpu), cpu_kernels.binary(op, a, b),
                                   rtol=1e-6)


@pytest.mark.skipif("cuda" not in DEVICES, reason="no GPU and no CUDA simulator")
def test_random_draws_are_identical_on_both_devices_and_warn_of_nothing():
    from tinygradcnn.kernels import cuda as cuda_kernels

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's uint64 overflow warnings under the simulator
        for seed in (0, 7, 2**63 + 5):
            on_gpu = cuda_kernels.to_numpy(cuda_kernels.uniform((70,), np.float64, seed))
            np.testing.assert_array_equal(on_gpu, cpu_kernels.uniform((70,), np.float64, seed))
            mask = cuda_kernels.to_numpy(cuda_kernels.dropout_mask((70,), 0.4, np.float32, seed))
            np.testing.assert_array_equal(mask, cpu_kernels.dropout_mask((70,), 0.4, np.float32,
                                                                         seed))


def test_per_op_loops_load_from_numbas_cache_in_a_new_process(tmp_path):
    # The elementwise and reduction loops close over compiled scalar functions, which are
    # part of Numba's cache key: a key that changed from process to process would recompile
    # every op on every start.
    script = textwrap.dedent("""
        import importlib
        import numpy as np
        e = importlib.import_module("tinygradcnn.kernels.cpu.elementwise")
        r = importlib.import_module("tinygradcnn.kernels.cpu.reduce")  # the module, not reduce()
        x = np.ones(8, np.float32)
        e.unary("gelu", x); e.binary("mul", x, x); e.binary_backward("div", x, x, x)
        r.reduce("max", x, (0,))
        loops = [e._unary_loop("gelu"), e._binary_loop("mul"), e._binary_backward_loop("div"),
                 r._reduce_kernel("max")]
        print(sum(sum(loop.serial.stats.cache_hits.values()) for loop in loops))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True) for _ in range(2)]
    assert [run.stdout.split()[-1] for run in runs] == ["0", "4"]
    assert "NumbaWarning" not in runs[0].stderr + runs[1].stderr


def test_the_cache_key_of_the_loops_does_not_depend_on_how_python_loaded_the_module():
    # Numba keys a loop's cache by the pickle of the compiled scalar functions it closes
    # over; with ``__file__`` among their globals that pickle differed between a module
    # compiled from source (a first run) and one loaded from its .pyc (every later run), so
    # the second run of a new install compiled every elementwise loop again.
    from tinygradcnn.kernels.cpu.launch import _compiled_scalar_functions

    compiled = _compiled_scalar_functions()
    assert compiled and all("__file__" not in function.py_func.__globals__
                            for function in compiled.values())
