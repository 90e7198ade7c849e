"""conv2d / conv1d: gradient checks, parity with PyTorch, shapes and error messages."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, simulated, torch_or_skip
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tinygradcnn as tg
import tinygradcnn.nn.functional as F
from tinygradcnn.backend import kernels_for


@pytest.fixture(autouse=True)
def _skip_devices_without_conv_kernels(request):
    device = request.node.callspec.params.get("device", "cpu") \
        if hasattr(request.node, "callspec") else "cpu"
    if not hasattr(kernels_for(device), "conv2d_forward"):
        pytest.skip(f"no conv2d kernels for {device} yet")


def draw_conv2d_case(data, max_size=7):
    """Input, weight and bias arrays plus hyper-parameters with a non-empty output."""
    groups = data.draw(st.sampled_from([1, 1, 2, 3]), label="groups")
    in_per_group = data.draw(st.integers(1, 3), label="in_per_group")
    out_per_group = data.draw(st.integers(1, 10), label="out_per_group")
    kernel = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)), label="kernel")
    stride = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), label="stride")
    dilation = data.draw(st.tuples(st.integers(1, 2), st.integers(1, 2)), label="dilation")
    padding = data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2)), label="padding")
    size = data.draw(st.tuples(st.integers(1, max_size), st.integers(1, max_size)), label="hw")
    batch = data.draw(st.integers(1, 3), label="batch")
    for axis in range(2):
        assume(size[axis] + 2 * padding[axis] >= dilation[axis] * (kernel[axis] - 1) + 1)
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, in_per_group * groups, *size))
    w = rng.standard_normal((out_per_group * groups, in_per_group, *kernel))
    b = rng.standard_normal(out_per_group * groups)
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x, w, b, params


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_conv2d_forward_and_all_gradients_match_torch(device, dtype, data):
    torch = torch_or_skip()
    x, w, b, params = draw_conv2d_case(data)
    compare_with_torch(
        lambda x, w, b: F.conv2d(x, w, b, **params),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **params),
        x, w, b, device=device, dtype=dtype,
    )


@pytest.mark.torch
@pytest.mark.parametrize("path", ["direct", "gemm"])
@given(data=st.data())
def test_conv2d_cpu_direct_and_matrix_product_paths_both_match_torch(path, data):
    # the CPU computes 1x1 convs and small maps as one BLAS product (kernels/cpu/conv_gemm.py)
    # and the rest with its direct kernels: each path forced here on every drawn case
    torch = torch_or_skip()
    from tinygradcnn.kernels.cpu import conv_gemm

    x, w, b, params = draw_conv2d_case(data)
    forced = (lambda geometry: False) if path == "direct" else (
        lambda geometry: geometry.groups == 1 and geometry.batch > 0)
    original, conv_gemm.uses_gemm = conv_gemm.uses_gemm, forced
    try:
        compare_with_torch(
            lambda x, w, b: F.conv2d(x, w, b, **params),
            lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **params),
            x, w, b, device="cpu", dtype=np.float64,
        )
    finally:
        conv_gemm.uses_gemm = original


@pytest.mark.torch
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_on_rows_wide_enough_to_be_copied_as_slices_matches_torch(stride, groups):
    # the CPU layout copies rows of 24 or more pixels as slices, narrower ones element-wise
    torch = torch_or_skip()
    rng = np.random.default_rng(stride * 10 + groups)
    x, w, b = (rng.standard_normal((2, 4, 29, 30)), rng.standard_normal((4, 4 // groups, 3, 3)),
               rng.standard_normal(4))
    params = dict(stride=stride, padding=1, groups=groups)
    compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, **params),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **params),
                       x, w, b, device="cpu", dtype=np.float64)


@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
# the simulator's size cap below rejects most drawn cases, on purpose
@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
def test_conv2d_passes_gradcheck(device, data):
    x, w, b, params = draw_conv2d_case(data, max_size=5)
    # finite differences cost two forwards per element, and a simulated launch is slow
    assume(x.size + w.size <= (60 if simulated(device) else 150))
    check_gradients(lambda x, w, b: F.conv2d(x, w, b, **params), x, w, b, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_conv1d_matches_torch_and_passes_gradcheck(device, data):
    torch = torch_or_skip()
    groups = data.draw(st.sampled_from([1, 2]))
    kernel = data.draw(st.integers(1, 4))
    stride, dilation, padding = (data.draw(st.integers(a, b)) for a, b in ((1, 3), (1, 2), (0, 2)))
    length = data.draw(st.integers(1, 9))
    assume(length + 2 * padding >= dilation * (kernel - 1) + 1)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((2, 2 * groups, length))
    w = rng.standard_normal((3 * groups, 2, kernel))
    b = rng.standard_normal(3 * groups)
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    compare_with_torch(
        lambda x, w, b: F.conv1d(x, w, b, **params),
        lambda x, w, b: torch.nn.functional.conv1d(x, w, b, **params),
        x, w, b, device=device, dtype=np.float64,
    )
    check_gradients(lambda x, w, b: F.conv1d(x, w, b, **params), x, w, b, device=device)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (1, 5)])
def test_conv2d_same_and_valid_padding_match_torch_even_kernels_included(device, padding,
                                                                         kernel):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 10)), rng.standard_normal((4, 3, *kernel))
    compare_with_torch(
        lambda x, w: F.conv2d(x, w, padding=padding, dilation=(1, 2)),
        lambda x, w: torch.nn.functional.conv2d(x, w, padding=padding, dilation=(1, 2)),
        x, w, device=device, dtype=np.float64,
    )
    if padding == "same":
        assert F.conv2d(tg.tensor(x, device=device), tg.tensor(w, device=device),
                        padding="same").shape == (2, 4, 7, 10)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_depthwise_and_lenet_shapes_match_torch_in_float32(device):
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    cases = [((4, 8, 9, 9), (8, 1, 3, 3), dict(padding=1, groups=8)),
             ((3, 1, 28, 28), (6, 1, 5, 5), dict(padding=2)),
             ((3, 6, 14, 14), (16, 6, 5, 5), {}),
             ((2, 16, 8, 8), (32, 16, 3, 3), dict(stride=2, padding=1))]
    if simulated(device):  # the same layer geometries on one small image each
        cases = [((1, c, min(h, 10), min(w, 10)), w_shape, params)
                 for (_, c, h, w), w_shape, params in cases]
    for x_shape, w_shape, params in cases:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        compare_with_torch(
            lambda x, w, b, params=params: F.conv2d(x, w, b, **params),
            lambda x, w, b, params=params: torch.nn.functional.conv2d(x, w, b, **params),
            x, w, b, device=device, dtype=np.float32, rtol=1e-4, atol=1e-4,
        )


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_worked_example_3x3_kernel_over_5x5_image(device):
    x = tg.tensor(np.arange(25.0).reshape(1, 1, 5, 5), device=device)
    out = F.conv2d(x, tg.tensor(np.ones((1, 1, 3, 3)), device=device))
    expected = [[54, 63, 72], [99, 108, 117], [144, 153, 162]]
    np.testing.assert_allclose(out.numpy()[0, 0], expected)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_unbatched_input_gives_unbatched_output(device):
    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal((3, 6, 6)), device=device)
    w = tg.tensor(rng.standard_normal((4, 3, 3, 3)), device=device)
    batched = F.conv2d(x.unsqueeze(0), w, padding=1)
    single = F.conv2d(x, w, padding=1)
    assert single.shape == (4, 6, 6)
    np.testing.assert_allclose(single.numpy(), batched.numpy()[0])
    assert F.conv1d(tg.tensor(rng.standard_normal((3, 8)), device=device),
                    tg.tensor(rng.standard_normal((2, 3, 3)), device=device)).shape == (2, 6)


@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_conv2d_kernels_give_the_same_result_from_a_layout_built_once(device, data):
    x, w, b, params = draw_conv2d_case(data, max_size=5)
    k = kernels_for(device)
    ph, pw = params["padding"]
    args = (params["stride"], (ph, ph, pw, pw), params["dilation"], params["groups"])
    x, w, b = (k.from_numpy(a.astype(np.float32)) for a in (x, w, b))
    layout = k.conv2d_input_layout(x, w.shape, *args)
    out = k.conv2d_forward(x, w, b, *args)
    np.testing.assert_array_equal(k.to_numpy(k.conv2d_forward(x, w, b, *args, layout=layout)),
                                  k.to_numpy(out))
    grad = k.from_numpy(np.random.default_rng(0).standard_normal(out.shape).astype(np.float32))
    np.testing.assert_array_equal(
        k.to_numpy(k.conv2d_backward_weight(grad, x, w.shape, *args, layout=layout)),
        k.to_numpy(k.conv2d_backward_weight(grad, x, w.shape, *args)))


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_backward_twice_with_retain_graph_gives_twice_the_gradients(device):
    # the first backward frees the planes kept by the forward; the second builds them again
    rng = np.random.default_rng(5)
    x = tg.tensor(rng.standard_normal((2, 2, 5, 5)), device=device, requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 2, 3, 3)), device=device, requires_grad=True)
    out = F.conv2d(x, w, stride=(2, 1), padding=1)
    y = (out * out).sum()
    y.backward(retain_graph=True)
    first_w, first_x = w.grad.numpy().copy(), x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * first_w, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2 * first_x, rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_with_a_frozen_weight_still_gives_the_input_gradient(device):
    rng = np.random.default_rng(6)
    x_data, w_data = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((4, 2, 3, 3))
    frozen = tg.tensor(x_data, device=device, requires_grad=True)
    F.conv2d(frozen, tg.tensor(w_data, device=device), padding=1, groups=2).sum().backward()
    trained = tg.tensor(x_data, device=device, requires_grad=True)
    weight = tg.tensor(w_data, device=device, requires_grad=True)
    F.conv2d(trained, weight, padding=1, groups=2).sum().backward()
    np.testing.assert_allclose(frozen.grad.numpy(), trained.grad.numpy(), rtol=1e-12)


def test_conv_geometry_names_the_shapes_of_one_convolution():
    from tinygradcnn.kernels.shapes import conv2d_geometry

    g = conv2d_geometry((2, 6, 9, 8), (4, 3, 3, 2), (2, 1), (1, 0, 2, 1), (1, 2), 2)
    # (9 + 1 - 1 * 2 - 1) // 2 + 1 rows, (8 + 3 - 2 * 1 - 1) // 1 + 1 columns
    assert g.output_shape == (2, 4, 4, 9)
    assert g.weight_shape == (4, 3, 3, 2) and g.input_shape == (2, 6, 9, 8)
    assert g.padded_size == (10, 11)
    assert g.at_unit_stride().output_shape == (2, 4, 8, 9)


def test_conv2d_gradient_of_bias_is_output_gradient_summed():
    x = tg.tensor(np.ones((2, 1, 4, 4)), requires_grad=True)
    w = tg.tensor(np.ones((3, 1, 2, 2)), requires_grad=True)
    b = tg.tensor(np.zeros(3), requires_grad=True)
    F.conv2d(x, w, b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [18.0, 18.0, 18.0])  # 2 samples x 3x3 pixels


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, error, message",
    [
        ((1, 3, 5, 5), (1, 1, 3, 3), {}, ValueError,
         r"conv2d: input has 3 channels, weight expects 1 \(groups=1\)"),
        ((1, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, ValueError,
         r"conv2d: weight has 3 output channels, not divisible by groups=2"),
        ((1, 1, 4, 4), (1, 1, 5, 5), {}, ValueError,
         r"conv2d: kernel size 5x5 \(with dilation\) larger than padded input 4x4"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"dilation": 3}, ValueError,
         r"kernel size 7x7 \(with dilation\) larger than padded input 5x5"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": "same", "stride": 2}, ValueError,
         r"conv2d: padding='same' needs stride 1"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": "full"}, ValueError,
         r"conv2d: padding must be 'same', 'valid' or ints, got 'full'"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 0}, ValueError, r"conv2d: stride must be >= 1"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": -1}, ValueError,
         r"conv2d: padding must be >= 0"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 1.5}, TypeError,
         r"conv2d: stride must be an int or a pair of ints, got 1.5"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"groups": 0}, ValueError,
         r"conv2d: groups must be >= 1, got 0"),
        ((5, 5), (1, 1, 3, 3), {}, ValueError,
         r"conv2d: input must be \(N, C, H, W\) or \(C, H, W\), got shape \(5, 5\)"),
        ((1, 1, 5, 5), (1, 3, 3), {}, ValueError, r"conv2d: weight must be \(out_channels"),
    ],
)
def test_conv2d_rejects_bad_arguments_with_a_clear_message(x_shape, w_shape, kwargs, error,
                                                          message):
    x, w = tg.tensor(np.zeros(x_shape)), tg.tensor(np.zeros(w_shape))
    with pytest.raises(error, match=message):
        F.conv2d(x, w, **kwargs)


def test_conv2d_rejects_bad_bias_and_dtype_mismatch():
    x, w = tg.zeros((1, 1, 5, 5)), tg.zeros((2, 1, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: bias has shape \(3,\), expected \(2,\)"):
        F.conv2d(x, w, tg.zeros(3))
    with pytest.raises(TypeError, match="conv2d: input is float32 but weight is float64"):
        F.conv2d(x, w.double())
    with pytest.raises(TypeError, match="conv2d: input must be a Tensor"):
        F.conv2d(np.zeros((1, 1, 5, 5)), w)
    with pytest.raises(ValueError, match="conv1d: input has 2 channels, weight expects 1"):
        F.conv1d(tg.zeros((1, 2, 5)), tg.zeros((1, 1, 3)))


def test_conv2d_input_gradient_when_a_tile_starts_in_a_rows_spare_columns():
    """ResNet's stem (7x7, stride 2, padding 3) at 32x32: the input-gradient canvas is 38
    columns wide for 32 real ones, and a 256-pixel tile starts in a row's 6 spare columns,
    whose copy-out once wrapped round to a negative index."""
    torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 32, 32))
    w = rng.standard_normal((8, 3, 7, 7))
    compare_with_torch(lambda x, w: F.conv2d(x, w, None, 2, 3),
                       lambda x, w: __import__("torch").nn.functional.conv2d(x, w, None, 2, 3),
                       x, w, atol=1e-4, rtol=1e-4)


@pytest.mark.torch
@pytest.mark.parametrize("x_shape, w_shape, params", [
    ((2, 6, 14, 14), (16, 6, 5, 5), dict()),  # LeNet's second conv: gradient rows of 14, not 18
    ((2, 3, 9, 7), (4, 3, 3, 5), dict(padding=(1, 2), dilation=(1, 2))),  # shares 2 of 4 columns
    ((1, 2, 6, 6), (3, 2, 2, 4), dict(padding="same")),  # padding 1 left, 2 right: shares 1
    ((1, 2, 5, 5), (2, 2, 3, 3), dict(padding=3)),  # padding beyond the kernel's reach
])
def test_conv2d_rows_that_share_their_zero_padding_with_the_next_row(x_shape, w_shape, params):
    """At stride 1 a plane row ends where the next one's left padding begins (``Canvas.shared``
    in kernels/cpu/conv_layout.py): a window running off a row's end reads those zeros."""
    _matches_torch_in_float64(x_shape, w_shape, params, seed=3)


def _matches_torch_in_float64(x_shape, w_shape, params, seed):
    """conv2d and both its gradients equal PyTorch's to 1e-9 on random float64 data."""
    torch = torch_or_skip()
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    compare_with_torch(
        lambda x, w: F.conv2d(x, w, None, **params),
        lambda x, w: torch.nn.functional.conv2d(x, w, None, **params),
        x, w, dtype=np.float64, atol=1e-9, rtol=1e-9,
    )


def test_conv2d_plane_rows_are_shortened_by_the_padding_they_share():
    from tinygradcnn.kernels.cpu.conv_layout import input_planes, output_grad_planes
    from tinygradcnn.kernels.shapes import conv2d_geometry

    lenet2 = conv2d_geometry((1, 6, 14, 14), (16, 6, 5, 5), (1, 1), (0, 0, 0, 0), (1, 1), 1)
    assert output_grad_planes(np.zeros((1, 16, 10, 10)), lenet2).Wq == 14  # 10 + 4, not + 8
    lenet1 = conv2d_geometry((1, 1, 28, 28), (6, 1, 5, 5), (1, 1), (2, 2, 2, 2), (1, 1), 1)
    assert input_planes(np.zeros((1, 1, 28, 28)), lenet1).Wq == 30
    strided = conv2d_geometry((1, 1, 8, 8), (1, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1)
    assert input_planes(np.zeros((1, 1, 8, 8)), strided).Wq == 5  # phase planes share nothing


@pytest.mark.torch
@pytest.mark.parametrize("x_shape, w_shape, params", [
    ((2, 16, 9, 11), (16, 16, 3, 3), dict(stride=2, padding=1)),  # odd sizes, whole tiles
    ((1, 8, 23, 23), (24, 8, 1, 1), dict(stride=2)),  # ResNet's 1x1 shortcut
    ((2, 8, 10, 9), (16, 4, 3, 2), dict(stride=(2, 3), padding=(1, 0), groups=2)),
    ((1, 4, 40, 40), (8, 4, 4, 4), dict(stride=4)),  # ConvNeXt's stem: taps past 256 pixels
    ((2, 3, 16, 16), (8, 3, 3, 3), dict(stride=2, padding=2, dilation=2)),
])
def test_conv2d_input_gradient_of_a_strided_conv_as_the_forwards_adjoint(x_shape, w_shape,
                                                                         params):
    """Strided convs with 8+ output channels per group take the adjoint path of
    conv2d_backward_input (the others the transposed convolution): same gradients."""
    _matches_torch_in_float64(x_shape, w_shape, params, seed=2)
