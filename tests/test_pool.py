"""Pooling: gradient checks, parity with PyTorch, worked examples and error messages."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import (
    check_gradients,
    compare_pool_with_torch,
    compare_with_torch,
    max_pool2d_reference,
    pool_window_without_input,
    to_device,
    to_numpy,
    torch_or_skip,
)
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import batch_sizes, pool_cases

import tinygradcnn as tg
import tinygradcnn.nn.functional as F
from tinygradcnn.backend import kernels_for
from tinygradcnn.kernels.cpu.pool import NO_INPUT


@pytest.fixture(autouse=True)
def _skip_devices_without_pool_kernels(request):
    device = request.node.callspec.params.get("device", "cpu") \
        if hasattr(request.node, "callspec") else "cpu"
    if not hasattr(kernels_for(device), "max_pool2d_forward"):
        pytest.skip(f"no pooling kernels for {device} yet")


def distinct_values(shape, seed: int) -> np.ndarray:
    """Distinct values of ``shape``: a tie (or a near-tie under finite differences) has no
    unique max-pool gradient."""
    size = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(size).reshape(shape) / 7.0


seeds = st.integers(0, 2**16)
# -inf outputs (windows wholly in the padding) make the projected sum that the comparisons
# differentiate NaN: harmless, only its gradient is used, but the CUDA simulator warns
projected_inf = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


@projected_inf
@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=pool_cases(), seed=seeds)
def test_max_pool2d_matches_torch_and_passes_gradcheck(device, dtype, case, seed):
    shape, params = case
    x = distinct_values(shape, seed)
    compare_pool_with_torch("max_pool2d", x, device=device, dtype=dtype, **params)
    # a window wholly in the padding gives -inf, where finite differences are NaN
    if dtype == np.float64 and not pool_window_without_input(shape, **params):
        check_gradients(lambda x: F.max_pool2d(x, **params), x, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(case=pool_cases(dilation=False), seed=seeds, count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, 1, 3]))
def test_avg_pool2d_matches_torch_and_passes_gradcheck(device, case, seed, count_include_pad,
                                                      divisor_override):
    shape, params = case
    params.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    x = distinct_values(shape, seed)
    compare_pool_with_torch("avg_pool2d", x, device=device, dtype=np.float64, **params)
    check_gradients(lambda x: F.avg_pool2d(x, **params), x, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_adaptive_avg_pool2d_matches_torch_for_any_output_size(device, data):
    torch = torch_or_skip()
    size = data.draw(st.tuples(st.integers(1, 7), st.integers(1, 7)))
    out = data.draw(st.tuples(st.integers(1, 8), st.none() | st.integers(1, 8)))
    x = np.random.default_rng(0).standard_normal((data.draw(batch_sizes), 2, *size))
    compare_with_torch(lambda x: F.adaptive_avg_pool2d(x, out),
                       lambda x: torch.nn.functional.adaptive_avg_pool2d(x, out),
                       x, device=device, dtype=np.float64)
    check_gradients(lambda x: F.adaptive_avg_pool2d(x, out), x, device=device)


@projected_inf
@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(case=pool_cases(max_size=12), seed=seeds)
def test_1d_pools_match_torch(device, case, seed):
    (n, c, _, length), params = case  # the column axis of a 2-d case, as a sequence
    one_d = {name: value[1] for name, value in params.items() if name != "ceil_mode"}
    one_d["ceil_mode"] = params["ceil_mode"]
    x = distinct_values((n, c, length), seed)
    compare_pool_with_torch("max_pool1d", x, device=device, dtype=np.float64, **one_d)
    del one_d["dilation"]
    compare_pool_with_torch("avg_pool1d", x, device=device, dtype=np.float64, **one_d)


@pytest.mark.parametrize("device", DEVICES)
@given(case=pool_cases(dilation=False), seed=seeds)
def test_sum_pool2d_is_avg_pool_times_window_and_passes_gradcheck(device, case, seed):
    shape, params = case
    params["padding"] = (0, 0)
    kernel = params["kernel_size"]
    assume(shape[2] >= kernel[0] and shape[3] >= kernel[1])
    x = distinct_values(shape, seed)
    t = tg.tensor(x, device=device)
    summed = F.sum_pool2d(t, **params).numpy()
    averaged = F.avg_pool2d(t, **params, count_include_pad=False).numpy()
    if not params["ceil_mode"]:
        np.testing.assert_allclose(summed, averaged * kernel[0] * kernel[1])
    check_gradients(lambda x: F.sum_pool2d(x, **params), x, device=device)


# ---------------------------------------------------------------------------------------------
# Windows that hold no input element (issue 16): -inf, no gradient, no index outside the input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_window_wholly_in_the_padding_gives_minus_inf_and_no_gradient(device):
    # kernel 2, dilation 2, padding 1 over a 1-pixel-high input: the taps at rows -1 and 1
    # step over row 0, so every window is padding only (PyTorch corrupts its heap here)
    x = tg.tensor(np.arange(6.0).reshape(1, 2, 1, 3), device=device, requires_grad=True)
    y = F.max_pool2d(x, kernel_size=(2, 1), stride=1, padding=(1, 0), dilation=(2, 1))
    np.testing.assert_array_equal(y.numpy(), np.full((1, 2, 1, 3), -np.inf))
    y.backward(tg.ones(y.shape, dtype=y.dtype, device=device))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((1, 2, 1, 3)))


@pytest.mark.parametrize("device", DEVICES)
@given(case=pool_cases(), seed=seeds)
def test_max_pool2d_kernels_name_an_input_element_or_no_input(device, case, seed):
    # Exact checks on the kernels' argmax: under the CUDA simulator a negative index would
    # wrap silently in NumPy, so a gradient comparison alone could miss it.
    shape, params = case
    kernels = kernels_for(device)
    x = distinct_values(shape, seed)
    out, argmax = kernels.max_pool2d_forward(
        to_device(x, device), params["kernel_size"], params["stride"], params["padding"],
        params["dilation"], params["ceil_mode"])
    out, argmax = to_numpy(out), to_numpy(argmax)
    expected, _ = max_pool2d_reference(x, **params)
    np.testing.assert_array_equal(out, expected)
    empty = np.isneginf(expected)  # distinct finite values: -inf only where no input
    assert (argmax[empty] == NO_INPUT).all()
    plane_size = shape[2] * shape[3]
    inside = argmax[~empty]
    assert ((0 <= inside) & (inside < plane_size)).all()
    picked = np.take_along_axis(x.reshape(*shape[:2], plane_size),
                                argmax.reshape(*shape[:2], out.shape[2] * out.shape[3]).clip(0),
                                axis=2)
    np.testing.assert_array_equal(picked.reshape(out.shape)[~empty], out[~empty])
    # each output's gradient a power of two: a sum shows which outputs reached each input
    grad_out = 2.0 ** np.arange(out.size).reshape(out.shape) if out.size < 50 else \
        np.ones(out.shape)
    grad = to_numpy(kernels.max_pool2d_backward(to_device(grad_out, device),
                                                to_device(argmax, device), shape))
    _, (expected_grad,) = max_pool2d_reference(x, **params, grad_output=grad_out)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("device", DEVICES)
def test_pool_kernels_given_an_empty_plane_read_and_write_nothing(device):
    # The op layer rejects an empty H or W (as PyTorch); the kernels still must not index an
    # empty plane: every window is empty, so outputs are -inf / 0 and gradients empty.
    kernels = kernels_for(device)
    x = to_device(np.zeros((1, 2, 0, 3)), device)
    out, argmax = kernels.max_pool2d_forward(x, (2, 1), (1, 1), (1, 0), (1, 1), False)
    np.testing.assert_array_equal(to_numpy(out), np.full((1, 2, 1, 3), -np.inf))
    assert (to_numpy(argmax) == NO_INPUT).all()
    grad_out = to_device(np.ones((1, 2, 1, 3)), device)
    assert to_numpy(kernels.max_pool2d_backward(grad_out, argmax, (1, 2, 0, 3))).shape == \
        (1, 2, 0, 3)
    for count_include_pad in (True, False):
        params = ((2, 1), (1, 1), (1, 0), False, count_include_pad, None)
        np.testing.assert_array_equal(to_numpy(kernels.avg_pool2d_forward(x, *params)),
                                      np.zeros((1, 2, 1, 3)))
        grad = kernels.avg_pool2d_backward(grad_out, (1, 2, 0, 3), *params)
        assert to_numpy(grad).shape == (1, 2, 0, 3)
    np.testing.assert_array_equal(to_numpy(kernels.adaptive_avg_pool2d_forward(x, (2, 2))),
                                  np.zeros((1, 2, 2, 2)))
    grad = kernels.adaptive_avg_pool2d_backward(to_device(np.ones((1, 2, 2, 2)), device),
                                                (1, 2, 0, 3))
    assert to_numpy(grad).shape == (1, 2, 0, 3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("pool", [
    lambda x: F.max_pool2d(x, 2), lambda x: F.avg_pool2d(x, 2, ceil_mode=True),
    lambda x: F.adaptive_avg_pool2d(x, 3), lambda x: F.sum_pool2d(x, 2),
])
def test_pools_of_an_empty_batch_are_empty_with_empty_gradients(device, pool):
    x = tg.zeros((0, 2, 5, 5), device=device, requires_grad=True)
    y = pool(x)
    assert y.shape[:2] == (0, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5)


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
        (lambda x: F.max_pool2d(tg.zeros((1, 0, 4, 4)), 2), ValueError,
         r"max_pool2d: input may be empty only along the batch, got shape \(1, 0, 4, 4\)"),
        (lambda x: F.avg_pool2d(tg.zeros((1, 1, 0, 4)), 2, padding=1), ValueError,
         r"avg_pool2d: input may be empty only along the batch, got shape \(1, 1, 0, 4\)"),
        (lambda x: F.adaptive_avg_pool2d(tg.zeros((1, 4, 0)), 2), ValueError,
         r"adaptive_avg_pool2d: input may be empty only along the batch"),
        (lambda x: F.max_pool1d(tg.zeros((1, 0)), 2, padding=1), ValueError,
         r"max_pool1d: input may be empty only along the batch, got shape \(1, 0\)"),
    ],
)
def test_pools_reject_bad_arguments_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message):
        call(tg.zeros((1, 1, 4, 4)))
