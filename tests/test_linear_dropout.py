"""linear, dropout and gaussian_noise: PyTorch parity and gradcheck for linear; for the noise
ops, reproducibility under tg.manual_seed, identity in evaluation, statistics, gradients."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, require_kernels, tensors, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import tinygradcnn as tg
import tinygradcnn.nn.functional as F


@st.composite
def linear_case(draw):
    """input (*, in) with 0-2 leading dims, weight (out, in), bias (out,) or None."""
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    in_features, out_features = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    x = draw(arrays((*lead, in_features)))
    weight = draw(arrays((out_features, in_features)))
    bias = draw(arrays((out_features,)))
    return x, weight, bias, draw(st.booleans())


@pytest.mark.parametrize("device", DEVICES)
@given(case=linear_case())
def test_linear_passes_gradcheck(device, case):
    require_kernels(device, "linear_forward")
    x, weight, bias, with_bias = case
    if with_bias:
        check_gradients(F.linear, x, weight, bias, device=device)
    else:
        check_gradients(F.linear, x, weight, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=linear_case())
def test_linear_matches_torch(device, dtype, case):
    require_kernels(device, "linear_forward")
    torch = torch_or_skip()
    x, weight, bias, with_bias = case
    arrays_ = (x, weight, bias) if with_bias else (x, weight)
    compare_with_torch(F.linear, torch.nn.functional.linear, *arrays_, device=device, dtype=dtype)


def test_linear_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"linear: input has shape \(2, 3\), its last dimension"):
        F.linear(tg.randn(2, 3), tg.randn(4, 5))
    with pytest.raises(ValueError, match=r"linear: bias has shape \(5,\), expected \(4,\)"):
        F.linear(tg.randn(2, 5), tg.randn(4, 5), tg.randn(5))
    with pytest.raises(ValueError, match=r"linear: weight must be \(out_features, in_features\)"):
        F.linear(tg.randn(2, 5), tg.randn(5))
    with pytest.raises(TypeError, match="linear: input is float32 but weight is float64"):
        F.linear(tg.randn(2, 5), tg.randn(4, 5).double())


def _draw_twice(op, x, seed, **kwargs):
    tg.manual_seed(seed)
    first = op(x, **kwargs).numpy()
    tg.manual_seed(seed)
    return first, op(x, **kwargs).numpy()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_is_reproducible_under_manual_seed_and_keeps_the_mean(device, p):
    require_kernels(device, "dropout_mask")
    x = tg.ones(100, 60).to(device)
    first, second = _draw_twice(F.dropout, x, 7, p=p)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, F.dropout(x, p=p).numpy())  # the next draw differs
    kept = first != 0
    np.testing.assert_allclose(first[kept], 1.0 / (1.0 - p), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.02
    assert abs(first.mean() - 1.0) < 0.1


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_gradient_is_the_mask(device):
    require_kernels(device, "dropout_mask")
    (x,) = tensors(np.random.default_rng(0).standard_normal((6, 7)), device=device)
    y = F.dropout(x, p=0.4)
    y.sum().backward()
    mask = y.numpy() / x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-12)
    check_gradients(lambda t: F.dropout(t, 0.4, training=False), x.numpy(), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_and_noise_are_the_identity_when_not_training(device):
    require_kernels(device, "dropout_mask")
    x = tg.randn(3, 4).to(device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.gaussian_noise(x, 0.3, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("device", DEVICES)
def test_gaussian_noise_is_reproducible_has_the_asked_std_and_passes_gradients(device):
    require_kernels(device, "normal")
    (x,) = tensors(np.full((100, 60), 3.0), device=device, dtype=np.float32)
    first, second = _draw_twice(F.gaussian_noise, x, 11, std=0.5)
    np.testing.assert_array_equal(first, second)
    noise = first - 3.0
    assert abs(noise.mean()) < 0.02 and abs(noise.std() - 0.5) < 0.02
    F.gaussian_noise(x, 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((100, 60)))


def test_noise_errors_name_the_op_and_the_value():
    x = tg.randn(2, 2)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\], got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="gaussian_noise: std must be >= 0, got -0.1"):
        F.gaussian_noise(x, -0.1)
    with pytest.raises(TypeError, match="dropout: input must be float32 or float64, got int64"):
        F.dropout(tg.tensor([1, 2]), 0.5)
