"""softmax and log_softmax: PyTorch parity, gradcheck, stability for huge logits, errors."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, require_kernels, tensors
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, small_shapes

import tinygradcnn as tg
import tinygradcnn.nn.functional as F

OPS = {"softmax": (F.softmax, "softmax"), "log_softmax": (F.log_softmax, "log_softmax")}


@st.composite
def array_and_dim(draw, low=-3.0, high=3.0):
    shape = draw(small_shapes)
    rank = max(len(shape), 1)
    return draw(arrays(shape, low, high)), draw(st.integers(-rank, rank - 1))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(OPS))
@given(case=array_and_dim())
def test_softmax_family_passes_gradcheck_along_any_dim(device, name, case):
    require_kernels(device, f"{name}_forward")
    x, dim = case
    ours, _ = OPS[name]
    check_gradients(lambda t: ours(t, dim), x, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=array_and_dim(low=-10.0, high=10.0))
def test_softmax_family_matches_torch(device, name, dtype, case):
    require_kernels(device, f"{name}_forward")
    x, dim = case
    ours, torch_name = OPS[name]
    compare_with_torch(
        lambda t: ours(t, dim),
        lambda t: getattr(t, torch_name)(dim),
        x,
        device=device,
        dtype=dtype,
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_logits_is_finite_and_exact(device, dtype):
    require_kernels(device, "softmax_forward")
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    (x,) = tensors(logits, device=device, dtype=dtype)
    probs = F.softmax(x, dim=1)
    log_probs = F.log_softmax(x, dim=1)
    (probs.sum() + log_probs.sum()).backward()
    np.testing.assert_allclose(probs.numpy(), [[1, 0, 0], [1 / 3] * 3], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(log_probs.numpy()[0], [0.0, -1e4, -2e4], rtol=1e-6)
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_rows_sum_to_one_over_channel_dim(device):
    require_kernels(device, "softmax_forward")
    x = tg.randn(2, 5, 3, 4).to(device)
    total = F.softmax(x, dim=1).sum(1).numpy()
    np.testing.assert_allclose(total, np.ones((2, 3, 4)), rtol=1e-6)


def test_softmax_rejects_bad_dim_and_integer_input():
    x = tg.randn(2, 3)
    with pytest.raises(IndexError, match="softmax: dim 2 out of range for a tensor with 2"):
        F.softmax(x, dim=2)
    with pytest.raises(IndexError, match="log_softmax: dim -3 out of range"):
        F.log_softmax(x, dim=-3)
    with pytest.raises(TypeError, match="softmax: input must be float32 or float64, got int64"):
        F.softmax(tg.tensor([1, 2, 3]), dim=0)
    with pytest.raises(TypeError, match="softmax: dim must be an int"):
        F.softmax(x, dim=1.0)  # dim=None is PyTorch's implicit dim (tests/test_nn_api.py)


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_masks_minus_infinity_to_exact_zero_and_propagates_nan(device):
    require_kernels(device, "softmax_forward")
    logits = np.array([[0.0, -np.inf, 1.0], [np.nan, 0.0, 1.0], [-800.0, 0.0, 0.0]])
    for x in (logits, logits.T.copy()):  # along the last dim, then along dim 0 (inner > 1)
        dim = 1 if x is logits else 0
        (t,) = tensors(x, device=device, dtype=np.float32, requires_grad=False)
        probs = F.softmax(t, dim=dim).numpy()
        probs = probs if dim == 1 else probs.T
        np.testing.assert_allclose(probs[0], [0.26894142, 0.0, 0.73105858], rtol=1e-6)
        assert np.isnan(probs[1]).all()
        np.testing.assert_array_equal(probs[2], [0.0, 0.5, 0.5])
