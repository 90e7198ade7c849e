"""Ops and layers at the edges of their geometry (issue 16): empty batches, size-1 axes,
dilation larger than the input, strides larger than the kernel. CI runs these (with the op
tests) a second time under NUMBA_BOUNDSCHECK=1, where any index outside an array raises
instead of corrupting memory. Pooling's edges are in test_pool.py."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, simulated, torch_or_skip
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import batch_sizes, conv2d_cases

import tinygradcnn as tg
import tinygradcnn.nn.functional as F
from tinygradcnn import nn

seeds = st.integers(0, 2**16)


def _normal(seed: int, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(case=conv2d_cases(), seed=seeds, bias=st.booleans())
def test_conv2d_at_the_edges_matches_torch_in_output_and_every_gradient(device, case, seed,
                                                                       bias):
    torch = torch_or_skip()
    x_shape, w_shape, params = case
    x, w, b = _normal(seed, x_shape, w_shape, w_shape[0])
    if bias:
        ours = lambda x, w, b: F.conv2d(x, w, b, **params)  # noqa: E731
        theirs = lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **params)  # noqa: E731
        compare_with_torch(ours, theirs, x, w, b, device=device, dtype=np.float64)
    else:
        compare_with_torch(lambda x, w: F.conv2d(x, w, **params),
                           lambda x, w: torch.nn.functional.conv2d(x, w, **params),
                           x, w, device=device, dtype=np.float64)


@pytest.mark.parametrize("device", DEVICES)
@given(case=conv2d_cases(max_size=4), seed=seeds)
def test_conv2d_at_the_edges_passes_gradcheck(device, case, seed):
    x_shape, w_shape, params = case
    x, w, b = _normal(seed, x_shape, w_shape, w_shape[0])
    # finite differences cost two forwards per element, and a simulated launch is slow
    assume(x.size + w.size <= (40 if simulated(device) else 120))
    check_gradients(lambda x, w, b: F.conv2d(x, w, b, **params), x, w, b, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_taps_wholly_in_the_padding_see_zeros(device):
    # dilation 4 over a 2x2 image padded by 4: an output in one of the 2x2 corner blocks
    # reaches one pixel through one tap; one in row or column 2-3 has every tap in the
    # padding, so it is the bias alone and passes no gradient to x or w
    x = tg.tensor(np.ones((1, 1, 2, 2)), device=device, requires_grad=True)
    w = tg.tensor(np.ones((1, 1, 2, 2)), device=device, requires_grad=True)
    b = tg.tensor(np.array([0.5]), device=device, requires_grad=True)
    y = F.conv2d(x, w, b, padding=4, dilation=4)
    assert y.shape == (1, 1, 6, 6)
    expected = np.full((6, 6), 0.5)
    expected[0:2, 0:2] += 1.0
    expected[4:6, 4:6] += 1.0
    expected[0:2, 4:6] += 1.0
    expected[4:6, 0:2] += 1.0
    np.testing.assert_allclose(y.numpy()[0, 0], expected)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((1, 1, 2, 2), 4.0))
    np.testing.assert_allclose(w.grad.numpy(), np.full((1, 1, 2, 2), 4.0))
    np.testing.assert_allclose(b.grad.numpy(), [36.0])


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(batch=batch_sizes, in_features=st.integers(1, 4), out_features=st.integers(1, 4),
       seed=seeds)
def test_linear_of_any_batch_including_an_empty_one_matches_torch(device, batch, in_features,
                                                                 out_features, seed):
    torch = torch_or_skip()
    x, w, b = _normal(seed, (batch, in_features), (out_features, in_features), out_features)
    compare_with_torch(F.linear, torch.nn.functional.linear, x, w, b, device=device,
                       dtype=np.float64)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
def test_norms_and_softmax_of_an_empty_batch_match_torch(device):
    torch = torch_or_skip()
    tf = torch.nn.functional
    x3, x4 = np.zeros((0, 3, 4)), np.zeros((0, 3, 2, 2))
    compare_with_torch(lambda x: F.layer_norm(x, (3, 4)), lambda x: tf.layer_norm(x, (3, 4)),
                       x3, device=device, dtype=np.float64)
    # the running statistics live on the input's device (Function.apply's one-device rule)
    stats = (tg.zeros(3, dtype=tg.float64, device=device), tg.ones(3, dtype=tg.float64,
                                                                    device=device))
    torch_stats = (torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    compare_with_torch(lambda x: F.batch_norm(x, *stats, training=False),
                       lambda x: tf.batch_norm(x, *torch_stats, training=False),
                       x4, device=device, dtype=np.float64)
    for dim in (1, -1):
        compare_with_torch(lambda x, dim=dim: F.softmax(x, dim),
                           lambda x, dim=dim: tf.softmax(x, dim), x3, device=device,
                           dtype=np.float64)
        compare_with_torch(lambda x, dim=dim: F.log_softmax(x, dim),
                           lambda x, dim=dim: tf.log_softmax(x, dim), x3, device=device,
                           dtype=np.float64)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_of_an_empty_batch_matches_torch(device, reduction):
    # mean over no samples is NaN in PyTorch; sum is 0; "none" is empty
    torch = torch_or_skip()
    compare_with_torch(lambda x, t: F.cross_entropy(x, t, reduction=reduction),
                       lambda x, t: torch.nn.functional.cross_entropy(x, t, reduction=reduction),
                       np.zeros((0, 4)), np.zeros(0, np.int64), device=device,
                       dtype=np.float64)


@pytest.mark.parametrize("device", DEVICES)
def test_a_cnn_of_an_empty_batch_gives_an_empty_output_and_zero_gradients(device):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.AvgPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(8, 3))
    model.to(device)
    x = tg.zeros((0, 1, 8, 8), device=device, requires_grad=True)
    y = model(x)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 1, 8, 8)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        np.testing.assert_array_equal(parameter.grad.numpy(), 0.0, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_argmax_over_an_empty_dimension_is_an_error_and_over_another_is_empty(device):
    # PyTorch raises too ("Expected reduction dim 1 to have non-zero size")
    x = tg.zeros((3, 0), device=device)
    for op in ("argmax", "argmin"):
        with pytest.raises(ValueError, match=rf"{op}: cannot reduce an empty dimension of a "
                                             r"tensor of shape \(3, 0\)"):
            getattr(x, op)(1)
        with pytest.raises(ValueError, match=rf"{op}: cannot reduce an empty dimension"):
            getattr(x, op)()
        assert getattr(x, op)(0).shape == (0,)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_training_on_an_empty_batch_passes_through_as_torch(device):
    # PyTorch: an empty output, zero weight/bias gradients, the running statistics untouched
    # and num_batches_tracked counted (the module counts before the functional call)
    torch = torch_or_skip()
    ours, theirs = nn.BatchNorm2d(3).to(device), torch.nn.BatchNorm2d(3)
    x = tg.zeros((0, 3, 4, 4), device=device, requires_grad=True)
    tx = torch.zeros((0, 3, 4, 4), requires_grad=True)
    y, ty = ours(x), theirs(tx)
    assert y.shape == tuple(ty.shape)
    y.sum().backward()
    ty.sum().backward()
    assert x.grad.shape == tuple(tx.grad.shape)
    for name in ("weight", "bias"):
        np.testing.assert_array_equal(getattr(ours, name).grad.numpy(),
                                      getattr(theirs, name).grad.numpy())
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(ours, name).numpy(),
                                      getattr(theirs, name).numpy(), err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_division_by_zero_is_ieee_as_in_torch_not_an_exception(device):
    x = tg.tensor([1.0, -1.0, 0.0], device=device)
    np.testing.assert_array_equal((x / 0).numpy(), [np.inf, -np.inf, np.nan])
    assert np.isnan(tg.zeros((3, 0), device=device).mean(1).numpy()).all()
    assert np.isnan(F.mse_loss(tg.zeros((0, 4), device=device),
                               tg.zeros((0, 4), device=device)).item())
