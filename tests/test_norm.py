"""batch_norm and layer_norm: PyTorch parity (outputs, gradients, running statistics),
gradcheck in training and evaluation, accuracy with a large mean, and errors."""

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
def channels_input(draw):
    """(N, C, *) input with at least two values per channel, weight and bias (C,)."""
    batch = draw(st.integers(1, 3))
    channels = draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    if batch * int(np.prod(spatial)) < 2:
        batch = 2
    x = draw(arrays((batch, channels, *spatial), -3.0, 3.0))
    # A ramp over the batch and spatial positions: no channel is constant, where the
    # normalised output is rounding noise amplified by 1 / sqrt(eps).
    x = x + np.linspace(-2.0, 2.0, x.size // channels).reshape(batch, 1, *spatial)
    weight = draw(arrays((channels,), 0.5, 2.0))
    bias = draw(arrays((channels,)))
    return x, weight, bias


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("training", [True, False])
@given(case=channels_input())
def test_batch_norm_passes_gradcheck(device, training, case):
    require_kernels(device, "batch_norm_forward_train")
    x, weight, bias = case
    stats = np.random.default_rng(0).random((2, x.shape[1])) + 0.5

    def fn(x, w, b):
        # fresh running statistics each call: training mode updates them in place
        mean, var = (tg.tensor(s, dtype=x.dtype, device=x.device) for s in stats)
        return F.batch_norm(x, mean, var, w, b, training=training)

    check_gradients(fn, x, weight, bias, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@given(case=channels_input(), momentum=st.sampled_from([0.1, 0.5, 1.0]))
def test_batch_norm_matches_torch_including_running_stats(
    device, dtype, training, affine, case, momentum
):
    require_kernels(device, "batch_norm_forward_train")
    torch = torch_or_skip()
    x, weight, bias = case
    stats = np.random.default_rng(1).random((2, x.shape[1])).astype(dtype) + 0.5
    ours_mean, ours_var = (tg.tensor(s, device=device) for s in stats)
    torch_mean, torch_var = (torch.tensor(s) for s in stats)

    def ours(x, w, b):
        return F.batch_norm(
            x, ours_mean, ours_var, w if affine else None, b if affine else None,
            training=training, momentum=momentum,
        )  # fmt: skip

    def theirs(x, w, b):
        return torch.nn.functional.batch_norm(
            x, torch_mean, torch_var, w if affine else None, b if affine else None,
            training=training, momentum=momentum,
        )  # fmt: skip

    compare_with_torch(ours, theirs, x, weight, bias, device=device, dtype=dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours_mean.numpy(), torch_mean.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours_var.numpy(), torch_var.numpy(), rtol=tol, atol=tol)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_running_stats_follow_torch_over_several_steps(device):
    require_kernels(device, "batch_norm_forward_train")
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    ours_mean, ours_var = tg.zeros(4).to(device), tg.ones(4).to(device)
    torch_mean, torch_var = torch.zeros(4), torch.ones(4)
    for _ in range(5):
        batch = (rng.standard_normal((8, 4, 3, 3)) * 3 + 2).astype(np.float32)
        F.batch_norm(tg.tensor(batch, device=device), ours_mean, ours_var, training=True)
        torch.nn.functional.batch_norm(torch.tensor(batch), torch_mean, torch_var, training=True)
    np.testing.assert_allclose(ours_mean.numpy(), torch_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours_var.numpy(), torch_var.numpy(), rtol=1e-5)
    assert not ours_mean.requires_grad and not ours_var.requires_grad


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(8, 3), (6, 3, 5), (4, 3, 3, 3)])
def test_batch_norm_modules_track_running_stats_as_torch_over_several_steps(
    device, momentum, shape
):
    require_kernels(device, "batch_norm_count")
    torch = torch_or_skip()
    ours_class, theirs_class = ((tg.nn.BatchNorm2d, torch.nn.BatchNorm2d) if len(shape) == 4
                                else (tg.nn.BatchNorm1d, torch.nn.BatchNorm1d))
    ours, theirs = ours_class(3, momentum=momentum).to(device), theirs_class(3, momentum=momentum)
    rng = np.random.default_rng(4)
    for _ in range(4):
        x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
        np.testing.assert_allclose(ours(tg.tensor(x, device=device)).numpy(),
                                   theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(),
                                   rtol=1e-5, err_msg=name)
    assert int(ours.num_batches_tracked.item()) == 4
    # evaluation normalises with the running statistics and leaves them (and the count) alone
    ours.eval()
    theirs.eval()
    before = ours.running_mean.numpy().copy()
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    np.testing.assert_allclose(ours(tg.tensor(x, device=device)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    np.testing.assert_array_equal(ours.running_mean.numpy(), before)
    assert int(ours.num_batches_tracked.item()) == 4


@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_eval_uses_the_running_stats_not_the_batch(device):
    x = tg.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3), device=device)
    mean = tg.tensor([1.0, 2.0, 3.0], device=device)
    var = tg.tensor([4.0, 1.0, 0.25], device=device)
    y = F.batch_norm(x, mean, var, training=False, eps=0.0).numpy()
    expected = (np.arange(12.0).reshape(4, 3) - [1.0, 2.0, 3.0]) / np.sqrt([4.0, 1.0, 0.25])
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_batch_norm_cumulative_momentum_counts_the_batches_in_the_functional_form():
    mean, var, count = tg.zeros(2), tg.ones(2), tg.tensor(0, dtype=np.int64)
    batches = [np.array([[0.0, 2.0], [2.0, 6.0]]), np.array([[4.0, 2.0], [6.0, 2.0]])]
    for batch in batches:
        F.batch_norm(tg.tensor(batch), mean, var, training=True, momentum=None,
                     num_batches_tracked=count)
    assert int(count.item()) == 2
    # the cumulative average of the batch means (1, 4) and (5, 2), and of the unbiased variances
    np.testing.assert_allclose(mean.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(var.numpy(), [(2.0 + 2.0) / 2, (8.0 + 0.0) / 2])
    with pytest.raises(ValueError, match="batch_norm: momentum=None .* needs num_batches_tracked"):
        F.batch_norm(tg.tensor(batches[0]), mean, var, training=True, momentum=None)
    with pytest.raises(ValueError, match="batch_norm: num_batches_tracked must be a 0-d integer"):
        F.batch_norm(tg.tensor(batches[0]), mean, var, training=True, num_batches_tracked=mean)


@pytest.mark.skipif("cuda" not in DEVICES, reason="needs the cuda device (GPU or simulator)")
@pytest.mark.parametrize("stale", ["running_mean", "running_var", "num_batches_tracked"])
def test_batch_norm_refuses_running_stats_on_another_device(stale):
    arguments = {"running_mean": tg.zeros(3).to("cuda"), "running_var": tg.ones(3).to("cuda"),
                 "num_batches_tracked": tg.tensor(0, dtype=np.int64).to("cuda")}
    arguments[stale] = arguments[stale].to("cpu")
    x = tg.randn(4, 3).to("cuda")
    with pytest.raises((ValueError, RuntimeError), match="one device"):
        F.batch_norm(x, arguments["running_mean"], arguments["running_var"], training=True,
                     num_batches_tracked=arguments["num_batches_tracked"])
    module = tg.nn.BatchNorm1d(3)  # its buffers stay on the CPU
    with pytest.raises((ValueError, RuntimeError), match="one device"):
        module(x)


@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_is_accurate_when_the_mean_dwarfs_the_spread(device):
    require_kernels(device, "batch_norm_forward_train")
    x = np.random.default_rng(3).standard_normal((16, 2, 8, 8)) * 0.01 + 1e4
    (xt,) = tensors(x.astype(np.float32), device=device, dtype=np.float32)
    y = F.batch_norm(xt, None, None, training=True).numpy()
    x32 = x.astype(np.float32).astype(np.float64)
    mean = x32.mean(axis=(0, 2, 3), keepdims=True)
    expected = (x32 - mean) / np.sqrt(x32.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, expected, atol=2e-3)


@st.composite
def layer_input(draw):
    """Input (*, *normalized_shape), its normalized_shape, weight and bias."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    normalized = shape[len(shape) - draw(st.integers(1, len(shape))) :]
    if int(np.prod(normalized)) == 1:
        shape, normalized = shape + (3,), normalized + (3,)
    x = draw(arrays(shape, -3.0, 3.0))
    x = x + np.linspace(-2.0, 2.0, int(np.prod(normalized))).reshape(normalized)  # no flat row
    return x, normalized, draw(arrays(normalized, 0.5, 2.0)), draw(arrays(normalized))


@pytest.mark.parametrize("device", DEVICES)
@given(case=layer_input())
def test_layer_norm_passes_gradcheck(device, case):
    require_kernels(device, "layer_norm_forward")
    x, normalized, weight, bias = case
    check_gradients(lambda x, w, b: F.layer_norm(x, normalized, w, b), x, weight, bias)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=layer_input(), affine=st.booleans())
def test_layer_norm_matches_torch(device, dtype, case, affine):
    require_kernels(device, "layer_norm_forward")
    torch = torch_or_skip()
    x, normalized, weight, bias = case
    compare_with_torch(
        lambda x, w, b: F.layer_norm(x, normalized, w if affine else None, b if affine else None),
        lambda x, w, b: torch.nn.functional.layer_norm(
            x, normalized, w if affine else None, b if affine else None
        ),
        x,
        weight,
        bias,
        device=device,
        dtype=dtype,
    )


def test_norm_errors_name_the_op_the_argument_and_the_shapes():
    mean, var = tg.zeros(3), tg.ones(3)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel"):
        F.batch_norm(tg.randn(1, 3), mean, var, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: weight has shape \(4,\), expected \(3,\)"):
        F.batch_norm(tg.randn(2, 3, 4), mean, var, weight=tg.ones(4))
    with pytest.raises(ValueError, match=r"batch_norm: running_mean has shape \(2,\)"):
        F.batch_norm(tg.randn(2, 3), tg.zeros(2), var, training=True)
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are required"):
        F.batch_norm(tg.randn(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: input must be \(N, C, \*\)"):
        F.batch_norm(tg.randn(3), mean, var)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(5,\) does not match"):
        F.layer_norm(tg.randn(2, 4), 5)
    with pytest.raises(ValueError, match=r"layer_norm: weight has shape \(3,\), expected \(4,\)"):
        F.layer_norm(tg.randn(2, 4), (4,), weight=tg.ones(3))
