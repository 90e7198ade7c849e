"""Losses: PyTorch parity (weights, ignore_index, label smoothing, reductions, probability
targets, pos_weight), gradcheck, stability for huge logits, and error messages."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, require_kernels, tensors, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import tinygradcnn as tg
import tinygradcnn.nn.functional as F

REDUCTIONS = ["none", "mean", "sum"]


@st.composite
def classification(draw, soft: bool = False):
    """Logits (N, C, *extra), targets (indices with some ignored, or probabilities) and
    options: class weight, label smoothing, reduction."""
    batch = draw(st.integers(1, 4))
    classes = draw(st.integers(1, 5))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    shape = (batch, classes, *extra)
    logits = draw(arrays(shape, -4.0, 4.0))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if soft:
        target = rng.random(shape) + 0.05
        target /= target.sum(axis=1, keepdims=True)
    else:
        target = rng.integers(0, classes, (batch, *extra))
        target[rng.random(target.shape) < 0.2] = -100
        target.reshape(-1)[0] = 0  # at least one sample counts, so "mean" is finite
    weight = rng.random(classes) + 0.5 if draw(st.booleans()) else None
    options = {
        "reduction": draw(st.sampled_from(REDUCTIONS)),
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 0.4])),
    }
    return logits, target, weight, options


def _const(array, like):
    """A constant (no grad) copy of ``array`` on the device and in the dtype of ``like``."""
    return None if array is None else tg.tensor(array, dtype=like.dtype, device=like.device)


def _torch_const(array, like):
    torch = torch_or_skip()
    return None if array is None else torch.tensor(array, dtype=like.dtype)


@pytest.mark.parametrize("device", DEVICES)
@given(case=classification())
def test_cross_entropy_with_class_indices_passes_gradcheck(device, case):
    require_kernels(device, "cross_entropy_forward")
    logits, target, weight, options = case
    fn = lambda x, t: F.cross_entropy(x, t, weight=_const(weight, x), **options)  # noqa: E731
    check_gradients(fn, logits, target, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=classification())
def test_cross_entropy_with_class_indices_matches_torch(device, dtype, case):
    require_kernels(device, "cross_entropy_forward")
    torch = torch_or_skip()
    logits, target, weight, options = case
    compare_with_torch(
        lambda x, t: F.cross_entropy(x, t, weight=_const(weight, x), **options),
        lambda x, t: torch.nn.functional.cross_entropy(
            x, t, weight=_torch_const(weight, x), **options
        ),
        logits,
        target,
        device=device,
        dtype=dtype,
    )


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=classification(soft=True))
def test_cross_entropy_with_class_probabilities_matches_torch(device, dtype, case):
    require_kernels(device, "cross_entropy_probs_forward")
    torch = torch_or_skip()
    logits, target, weight, options = case
    # Both the logits' and the target's gradients are compared.
    compare_with_torch(
        lambda x, p: F.cross_entropy(x, p, weight=_const(weight, x), **options),
        lambda x, p: torch.nn.functional.cross_entropy(
            x, p, weight=_torch_const(weight, x), **options
        ),
        logits,
        target,
        device=device,
        dtype=dtype,
    )


@pytest.mark.parametrize("device", DEVICES)
@given(case=classification(soft=True))
def test_cross_entropy_with_class_probabilities_passes_gradcheck(device, case):
    require_kernels(device, "cross_entropy_probs_forward")
    logits, target, weight, options = case
    fn = lambda x, p: F.cross_entropy(x, p, weight=_const(weight, x), **options)  # noqa: E731
    check_gradients(fn, logits, target, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=classification())
def test_nll_loss_of_log_softmax_matches_torch(device, dtype, case):
    require_kernels(device, "nll_loss_forward", "log_softmax_forward")
    torch = torch_or_skip()
    logits, target, weight, options = case
    reduction = options["reduction"]
    compare_with_torch(
        lambda x, t: F.nll_loss(
            F.log_softmax(x, 1), t, weight=_const(weight, x), reduction=reduction
        ),
        lambda x, t: torch.nn.functional.nll_loss(
            x.log_softmax(1), t, weight=_torch_const(weight, x), reduction=reduction
        ),
        logits,
        target,
        device=device,
        dtype=dtype,
    )
    check_gradients(
        lambda x, t: F.nll_loss(x, t, weight=_const(weight, x), reduction=reduction),
        logits,
        target,
        device=device,
    )


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_of_a_single_unbatched_sample_matches_torch(device):
    require_kernels(device, "cross_entropy_forward")
    torch = torch_or_skip()
    logits = np.array([0.5, -1.0, 2.0, 0.0])
    compare_with_torch(
        lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2),
        lambda x, t: torch.nn.functional.cross_entropy(x, t, label_smoothing=0.2),
        logits,
        np.array(2),
        device=device,
        dtype=np.float64,
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_of_huge_logits_is_finite(device, dtype):
    require_kernels(device, "cross_entropy_forward", "bce_with_logits_forward")
    x, probs = tensors(
        np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]), np.eye(2, 3), device=device, dtype=dtype
    )
    target = tg.tensor([1, 1], device=device)
    loss = F.cross_entropy(x, target, label_smoothing=0.1) + F.cross_entropy(x, probs)
    loss = loss + F.binary_cross_entropy_with_logits(x, probs)
    loss.backward()
    assert np.isfinite(loss.item())
    assert np.isfinite(x.grad.numpy()).all()
    # -log softmax of the first row at class 1 is 2e4, exactly representable.
    row = F.cross_entropy(x[:1], target[:1])
    np.testing.assert_allclose(row.item(), 2e4, rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_with_every_target_ignored_is_nan_like_torch(device):
    require_kernels(device, "cross_entropy_forward")
    (x,) = tensors(np.zeros((2, 3)), device=device)
    target = tg.tensor([-100, -100], device=device)
    loss = F.cross_entropy(x, target)
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
    assert F.cross_entropy(x, target, reduction="sum").item() == 0.0


@st.composite
def regression(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    prediction = draw(arrays(shape))
    target = draw(arrays(shape))
    # keep |prediction - target| away from 0, where l1's derivative jumps
    target = np.where(np.abs(prediction - target) < 0.05, target + 0.1, target)
    return prediction, target, draw(st.sampled_from(REDUCTIONS))


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@given(case=regression())
def test_regression_losses_match_torch_and_pass_gradcheck(device, name, case):
    require_kernels(device, "binary", "reduce")
    torch = torch_or_skip()
    prediction, target, reduction = case
    ours = getattr(F, name)
    theirs = getattr(torch.nn.functional, name)
    compare_with_torch(
        lambda a, b: ours(a, b, reduction=reduction),
        lambda a, b: theirs(a, b, reduction=reduction),
        prediction,
        target,
        device=device,
        dtype=np.float64,
    )
    check_gradients(lambda a, b: ours(a, b, reduction=reduction), prediction, target, device=device)


@st.composite
def binary_classification(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    logits = draw(arrays(shape, -6.0, 6.0))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    target = rng.random(shape)
    weight = rng.random(shape[-1:]) + 0.5 if draw(st.booleans()) else None
    pos_weight = rng.random(shape[-1:]) * 3 if draw(st.booleans()) else None
    return logits, target, weight, pos_weight, draw(st.sampled_from(REDUCTIONS))


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=binary_classification())
def test_binary_cross_entropy_with_logits_matches_torch(device, dtype, case):
    require_kernels(device, "bce_with_logits_forward")
    torch = torch_or_skip()
    logits, target, weight, pos_weight, reduction = case
    compare_with_torch(
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, _const(weight, x), reduction, _const(pos_weight, x)
        ),
        lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(
            x,
            t,
            _torch_const(weight, x),
            reduction=reduction,
            pos_weight=_torch_const(pos_weight, x),
        ),
        logits,
        target,
        device=device,
        dtype=dtype,
    )


@pytest.mark.parametrize("device", DEVICES)
@given(case=binary_classification())
def test_binary_cross_entropy_with_logits_passes_gradcheck(device, case):
    require_kernels(device, "bce_with_logits_forward")
    logits, target, weight, pos_weight, reduction = case
    check_gradients(
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, _const(weight, x), reduction, _const(pos_weight, x)
        ),
        logits,
        target,
        device=device,
    )


def test_loss_errors_name_the_op_the_argument_and_the_shapes():
    x = tg.randn(4, 10)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: target has shape \(3,\), expected \(4,\) for input \(4, 10\)",
    ):
        F.cross_entropy(x, tg.tensor([1, 2, 3]))
    with pytest.raises(
        ValueError, match="cross_entropy: target 12 is out of bounds for 10 classes"
    ):
        F.cross_entropy(x, tg.tensor([1, 2, 12, 3]))
    with pytest.raises(ValueError, match="nll_loss: target -1 is out of bounds for 10 classes"):
        F.nll_loss(x, tg.tensor([1, -1, 2, 3]))
    with pytest.raises(
        ValueError, match="cross_entropy: reduction must be 'none', 'mean' or 'sum'"
    ):
        F.cross_entropy(x, tg.tensor([1, 2, 3, 4]), reduction="avg")
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(x, tg.tensor([1, 2, 3, 4]), label_smoothing=1.5)
    with pytest.raises(
        ValueError, match=r"cross_entropy: weight has shape \(3,\), expected \(10,\)"
    ):
        F.cross_entropy(x, tg.tensor([1, 2, 3, 4]), weight=tg.ones(3))
    with pytest.raises(ValueError, match=r"cross_entropy: probability target has shape \(4, 9\)"):
        F.cross_entropy(x, tg.rand(4, 9))
    with pytest.raises(TypeError, match="nll_loss: target must be an integer Tensor"):
        F.nll_loss(x, tg.rand(4))
    with pytest.raises(
        ValueError, match=r"binary_cross_entropy_with_logits: target has shape \(4, 9\)"
    ):
        F.binary_cross_entropy_with_logits(x, tg.rand(4, 9))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) does not broadcast to input"):
        F.binary_cross_entropy_with_logits(x, tg.rand(4, 10), pos_weight=tg.ones(3))
    with pytest.raises(TypeError, match="mse_loss: target must be float32 or float64, got int64"):
        F.mse_loss(x, tg.tensor([1, 2, 3, 4]))
