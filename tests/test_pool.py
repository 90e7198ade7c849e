"""Pooling: gradient checks, parity with PyTorch, worked examples and error messages."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, torch_or_skip
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygradcnn as tg
import tinygradcnn.nn.functional as F
from tinygradcnn.backend import kernels_for


@pytest.fixture(autouse=True)
def _skip_devices_without_pool_kernels(request):
    device = request.node.callspec.params.get("device", "cpu") \
        if hasattr(request.node, "callspec") else "cpu"
    if not hasattr(kernels_for(device), "max_pool2d_forward"):
        pytest.skip(f"no pooling kernels for {device} yet")


def draw_pool_case(data, dilation=True):
    """An input array and pooling hyper-parameters with a valid (non-empty) output."""
    kernel = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)), label="kernel")
    stride = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), label="stride")
    dil = data.draw(st.tuples(st.integers(1, 2), st.integers(1, 2)), label="dilation") \
        if dilation else (1, 1)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dil, strict=True)]
    padding = (data.draw(st.integers(0, kernel[0] // 2)), data.draw(st.integers(0, kernel[1] // 2)))
    size = data.draw(st.tuples(st.integers(1, 7), st.integers(1, 7)), label="hw")
    for axis in range(2):
        assume(size[axis] + 2 * padding[axis] >= spans[axis])
    ceil_mode = data.draw(st.booleans(), label="ceil_mode")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    # distinct values: a tie (or a near-tie under finite differences) has no unique gradient
    x = rng.permutation(2 * size[0] * size[1]).reshape(1, 2, *size) / 7.0
    params = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    if dilation:
        params["dilation"] = dil
    return x, params


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_max_pool2d_matches_torch_and_passes_gradcheck(device, dtype, data):
    torch = torch_or_skip()
    x, params = draw_pool_case(data)
    compare_with_torch(lambda x: F.max_pool2d(x, **params),
                       lambda x: torch.nn.functional.max_pool2d(x, **params),
                       x, device=device, dtype=dtype)
    if dtype == np.float64:
        check_gradients(lambda x: F.max_pool2d(x, **params), x, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_avg_pool2d_matches_torch_and_passes_gradcheck(device, data):
    torch = torch_or_skip()
    x, params = draw_pool_case(data, dilation=False)
    params["count_include_pad"] = data.draw(st.booleans(), label="count_include_pad")
    params["divisor_override"] = data.draw(st.sampled_from([None, 1, 3]), label="divisor")
    compare_with_torch(lambda x: F.avg_pool2d(x, **params),
                       lambda x: torch.nn.functional.avg_pool2d(x, **params),
                       x, device=device, dtype=np.float64)
    check_gradients(lambda x: F.avg_pool2d(x, **params), x, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_adaptive_avg_pool2d_matches_torch_for_any_output_size(device, data):
    torch = torch_or_skip()
    size = data.draw(st.tuples(st.integers(1, 7), st.integers(1, 7)))
    out = data.draw(st.tuples(st.integers(1, 8), st.none() | st.integers(1, 8)))
    x = np.random.default_rng(0).standard_normal((1, 2, *size))
    compare_with_torch(lambda x: F.adaptive_avg_pool2d(x, out),
                       lambda x: torch.nn.functional.adaptive_avg_pool2d(x, out),
                       x, device=device, dtype=np.float64)
    check_gradients(lambda x: F.adaptive_avg_pool2d(x, out), x, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_1d_pools_match_torch(device, data):
    torch = torch_or_skip()
    kernel, stride = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    padding, length = data.draw(st.integers(0, kernel // 2)), data.draw(st.integers(1, 12))
    ceil_mode = data.draw(st.booleans())
    assume(length + 2 * padding >= kernel)
    x = np.random.default_rng(1).permutation(2 * length).reshape(1, 2, length) / 5.0
    params = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    for ours, theirs in ((F.max_pool1d, torch.nn.functional.max_pool1d),
                         (F.avg_pool1d, torch.nn.functional.avg_pool1d)):
        compare_with_torch(lambda x, ours=ours: ours(x, **params),
                           lambda x, theirs=theirs: theirs(x, **params),
                           x, device=device, dtype=np.float64)


@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_sum_pool2d_is_avg_pool_times_window_and_passes_gradcheck(device, data):
    x, params = draw_pool_case(data, dilation=False)
    params["padding"] = (0, 0)
    kernel = params["kernel_size"]
    assume(x.shape[2] >= kernel[0] and x.shape[3] >= kernel[1])
    t = tg.tensor(x, device=device)
    summed = F.sum_pool2d(t, **params).numpy()
    averaged = F.avg_pool2d(t, **params, count_include_pad=False).numpy()
    if not params["ceil_mode"]:
        np.testing.assert_allclose(summed, averaged * kernel[0] * kernel[1])
    check_gradients(lambda x: F.sum_pool2d(x, **params), x, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_worked_example_4x4_to_2x2(device):
    x = tg.tensor([[[[1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0],
                     [9.0, 0.0, 2.0, 1.0], [6.0, 5.0, 4.0, 3.0]]]], device=device)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).numpy(), [[[[4.0, 8.0], [9.0, 4.0]]]])


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_gradient_goes_to_the_max_only(device):
    x = tg.tensor([[[[1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0],
                     [9.0, 0.0, 2.0, 1.0], [6.0, 5.0, 4.0, 3.0]]]], device=device,
                  requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[1, 1] = expected[1, 3] = expected[2, 0] = expected[3, 2] = 1.0
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_overlapping_windows_sum_their_gradients_at_a_shared_max(device):
    x = tg.tensor([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]], device=device,
                  requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()  # the centre is the max of all 4 windows
    assert x.grad.numpy()[0, 0, 1, 1] == 4.0


@pytest.mark.parametrize("device", DEVICES)
def test_pools_accept_unbatched_input_and_global_pooling(device):
    x = tg.tensor(np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5), device=device)
    assert F.max_pool2d(x, 2).shape == (2, 2, 2)
    assert F.avg_pool2d(x, 2, ceil_mode=True).shape == (2, 3, 3)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).numpy().ravel(), [12.0, 37.0])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: F.max_pool2d(x, 5), ValueError,
         r"max_pool2d: kernel_size 5 larger than padded input 4x4"),
        (lambda x: F.max_pool2d(x, 2, padding=2), ValueError,
         r"max_pool2d: padding \(2, 2\) must be at most half of the kernel size \(2, 2\)"),
        (lambda x: F.max_pool2d(x, 0), ValueError, r"max_pool2d: kernel_size must be >= 1"),
        (lambda x: F.avg_pool2d(x, 2, stride=0), ValueError, r"avg_pool2d: stride must be >= 1"),
        (lambda x: F.avg_pool2d(x, 2.5), TypeError,
         r"avg_pool2d: kernel_size must be an int or a pair of ints, got 2.5"),
        (lambda x: F.avg_pool2d(x, 2, divisor_override=0), ValueError,
         r"avg_pool2d: divisor_override must be a non-zero int"),
        (lambda x: F.adaptive_avg_pool2d(x, 0), ValueError,
         r"adaptive_avg_pool2d: output_size must be >= 1, got 0"),
        (lambda x: F.max_pool2d(x.reshape(16), 2), ValueError,
         r"max_pool2d: input must be \(N, C, H, W\) or \(C, H, W\), got shape \(16,\)"),
        (lambda x: F.max_pool1d(x.reshape(1, 1, 16), 17), ValueError,
         r"max_pool1d: kernel_size .* larger than padded input"),
    ],
)
def test_pools_reject_bad_arguments_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message):
        call(tg.zeros((1, 1, 4, 4)))
