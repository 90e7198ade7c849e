"""Elementwise ops: forward against NumPy, gradients by gradcheck, broadcasting, errors."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, tensors
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, broadcastable_pair, small_shapes

import tinygradcnn as tg

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "maximum": (tg.maximum, np.maximum),
    "minimum": (tg.minimum, np.minimum),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcastable_pair(low=0.5, high=2.0))
def test_binary_op_broadcasts_like_numpy_and_passes_gradcheck(device, name, pair):
    ours, numpys = BINARY[name]
    a, b = pair
    if name in ("maximum", "minimum"):
        b = b + 0.05  # keep ties (where the gradient is split) out of the finite differences
    x, y = tensors(a, b, device=device)
    np.testing.assert_allclose(ours(x, y).numpy(), numpys(a, b), rtol=1e-12)
    check_gradients(ours, a, b, device=device)


@pytest.mark.parametrize("device", DEVICES)
@given(pair=broadcastable_pair(low=0.5, high=1.5))
def test_pow_with_tensor_exponent_passes_gradcheck(device, pair):
    a, b = pair
    x, y = tensors(a, b, device=device)
    np.testing.assert_allclose((x**y).numpy(), a**b, rtol=1e-12)
    check_gradients(lambda x, y: x**y, a, b, device=device)


UNARY = {
    "exp": (tg.exp, np.exp, None),
    "log": (tg.log, np.log, "positive"),
    "sqrt": (tg.sqrt, np.sqrt, "positive"),
    "abs": (tg.abs, np.abs, 0.0),
    "neg": (tg.neg, np.negative, None),
    "relu": (tg.relu, lambda a: np.maximum(a, 0), 0.0),
    "sigmoid": (tg.sigmoid, lambda a: 1 / (1 + np.exp(-a)), None),
    "tanh": (tg.tanh, np.tanh, None),
    "clamp": (lambda x: tg.clamp(x, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), 0.5),
    "square": (lambda x: x**2, np.square, None),
    "rsub": (lambda x: 1.5 - x, lambda a: 1.5 - a, None),
    "rdiv": (lambda x: 2.0 / x, lambda a: 2.0 / a, "positive"),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_op_matches_numpy_and_passes_gradcheck(device, name, data):
    ours, numpys, domain = UNARY[name]
    shape = data.draw(small_shapes)
    if domain == "positive":
        a = data.draw(arrays(shape, 0.2, 3.0))
    elif name == "clamp":  # away from both bounds
        a = data.draw(arrays(shape, -2.0, 2.0).filter(
            lambda v: np.all(np.abs(v + 0.5) > 0.05) and np.all(np.abs(v - 0.7) > 0.05)))
    else:
        a = data.draw(arrays(shape, away_from=domain))
    (x,) = tensors(a, device=device)
    np.testing.assert_allclose(ours(x).numpy(), numpys(a), rtol=1e-12, atol=1e-15)
    check_gradients(ours, a, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_where_routes_gradient_to_the_chosen_operand(device):
    a = np.array([1.0, -2.0, 3.0])
    b = np.array([10.0, 20.0, 30.0])
    x, y = tensors(a, b, device=device)
    out = tg.where(x > 0, x, y)
    np.testing.assert_array_equal(out.numpy(), [1.0, 20.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, 0.0])


@pytest.mark.parametrize("device", DEVICES)
def test_maximum_splits_the_gradient_on_ties(device):
    x, y = tensors([1.0, 2.0], [1.0, 3.0], device=device)
    tg.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.0])
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 1.0])


@pytest.mark.parametrize("device", DEVICES)
def test_comparisons_return_bool_tensors_without_grad(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    for result, expected in [
        (x > 2, [False, False, True]), (x >= 2, [False, True, True]), (x < 2, [True, False, False]),
        (x <= 2, [True, True, False]), (x == 2, [False, True, False]),
        (x != 2, [True, False, True]),
    ]:
        assert result.dtype == np.bool_ and not result.requires_grad
        np.testing.assert_array_equal(result.numpy(), expected)


def test_python_numbers_adopt_the_tensor_dtype():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64)
    assert (x * 2).dtype == np.float64
    assert (2.5 + tg.tensor([1, 2])).dtype == np.float32
    assert (tg.tensor([1, 2]) + 1).dtype == np.int64
    assert (tg.tensor([1, 2]) / 2).dtype == np.float32
    assert (tg.ones(2) + tg.ones(2, dtype=tg.float64)).dtype == np.float64


def test_float32_and_float64_give_the_same_values():
    a = np.random.default_rng(0).standard_normal((3, 4))
    x32, x64 = tg.tensor(a, dtype=tg.float32), tg.tensor(a, dtype=tg.float64)
    np.testing.assert_allclose((x32.exp() * x32).numpy(), (x64.exp() * x64).numpy(), rtol=1e-6)


def test_non_broadcastable_operands_raise_a_clear_error():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        tg.ones(2, 3) + tg.ones(4)


def test_unsupported_operand_type_raises_type_error():
    with pytest.raises(TypeError, match="mul: unsupported operand type str"):
        tg.ones(2) * "a"


def test_sigmoid_and_tanh_stay_finite_for_huge_inputs():
    x = tg.tensor([-1e4, 1e4], requires_grad=True)
    y = tg.sigmoid(x)
    np.testing.assert_array_equal(y.numpy(), [0.0, 1.0])
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
