"""The ops and modules the model zoo needs: relu6, hardswish, hardsigmoid, stochastic depth,
the channels-first LayerNorm2d, adaptive max pooling, Permute, SqueezeExcitation,
Conv2dNormActivation, trunc_normal_ and `inplace=`: gradchecks in float64, parity with
PyTorch (and torchvision's definitions), and both devices on tiny shapes."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, simulated, torch_or_skip
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import arrays

import tinygradcnn as tg
import tinygradcnn.nn.functional as F
from tinygradcnn import nn

# every kink of the three activations, where PyTorch's gradient rules are checked exactly
KINKS = np.array([-4.0, -3.0, -1.5, 0.0, 1.0, 3.0, 5.0, 6.0, 7.0])
ACTIVATIONS = ["relu6", "hardswish", "hardsigmoid"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_hard_activations_match_torch_at_and_between_the_kinks(device, name):
    torch = torch_or_skip()
    x = np.concatenate([KINKS, np.random.default_rng(0).uniform(-8, 8, 23)])
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    compare_with_torch(ours, theirs, x, device=device, dtype=np.float64)
    compare_with_torch(ours, theirs, x, device=device)


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=8)
@given(x=arrays((2, 5), -7.0, 7.0))
def test_hard_activations_pass_gradcheck_away_from_the_kinks(name, x):
    for kink in (-3.0, 0.0, 3.0, 6.0):
        x = np.where(np.abs(x - kink) < 1e-3, x + 0.01, x)
    check_gradients(getattr(F, name), x)


def test_hard_activations_pass_nan_through_as_torch():
    torch = torch_or_skip()
    x = np.array([np.nan, 1.0])
    for name in ACTIVATIONS:
        out = getattr(F, name)(tg.tensor(x)).numpy()
        expected = getattr(torch.nn.functional, name)(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))


@pytest.mark.parametrize("module, expected", [
    (lambda: nn.ReLU(inplace=True), "ReLU(inplace=True)"),
    (lambda: nn.ReLU(), "ReLU()"),
    (lambda: nn.ReLU6(inplace=True), "ReLU6(inplace=True)"),
    (lambda: nn.SiLU(inplace=True), "SiLU(inplace=True)"),
    (lambda: nn.Hardswish(inplace=True), "Hardswish()"),
    (lambda: nn.Hardsigmoid(), "Hardsigmoid()"),
    (lambda: nn.LeakyReLU(0.2, inplace=True), "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (lambda: nn.ELU(inplace=True), "ELU(alpha=1.0, inplace=True)"),
    (lambda: nn.Dropout(0.2, inplace=True), "Dropout(p=0.2, inplace=True)"),
    (lambda: nn.Dropout(), "Dropout(p=0.5, inplace=False)"),
    (lambda: nn.StochasticDepth(0.1, "row"), "StochasticDepth(p=0.1, mode=row)"),
    (lambda: nn.AdaptiveMaxPool2d((2, 3)), "AdaptiveMaxPool2d(output_size=(2, 3))"),
    (lambda: nn.Permute([0, 2, 3, 1]), "Permute()"),
])
def test_modules_print_as_torch_does(module, expected):
    assert repr(module()) == expected


@pytest.mark.parametrize("name", ["relu", "relu6", "hardswish", "hardsigmoid", "silu"])
def test_inplace_overwrites_the_input_when_no_graph_is_recorded(name):
    x = tg.tensor([-4.0, -1.0, 0.5, 7.0])
    expected = getattr(F, name)(x).numpy()
    version = x._version
    out = getattr(nn, {"relu": "ReLU", "relu6": "ReLU6", "hardswish": "Hardswish",
                       "hardsigmoid": "Hardsigmoid", "silu": "SiLU"}[name])(inplace=True)(x)
    assert out is x and x._version == version + 1
    np.testing.assert_allclose(x.numpy(), expected)


def test_inplace_computes_out_of_place_when_the_graph_needs_the_input():
    x = tg.tensor([-1.0, 2.0, 8.0], requires_grad=True)
    h = x * 1.0
    y = nn.ReLU6(inplace=True)(h)
    assert y is not h
    np.testing.assert_allclose(h.numpy(), [-1.0, 2.0, 8.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.0])


def test_inplace_dropout_overwrites_the_input_under_no_grad():
    tg.manual_seed(3)
    x = tg.ones(1000)
    with tg.no_grad():
        out = F.dropout(x, 0.5, training=True, inplace=True)
    assert out is x
    values = np.unique(x.numpy())
    assert set(values) <= {0.0, 2.0} and len(values) == 2


# ---------------------------------------------------------------------------------------------
# stochastic depth


@pytest.mark.parametrize("device", DEVICES)
def test_stochastic_depth_row_drops_whole_samples_and_scales_the_survivors(device):
    tg.manual_seed(0)
    x = tg.ones(400, 2, 3, device=device)
    out = F.stochastic_depth(x, 0.25, "row").numpy()
    per_sample = out.reshape(400, -1)
    assert (per_sample == per_sample[:, :1]).all()  # one draw per sample
    assert set(np.unique(per_sample)) == {0.0, np.float32(1 / 0.75)}
    assert 0.15 < (per_sample[:, 0] == 0).mean() < 0.35


@pytest.mark.parametrize("device", DEVICES)
def test_stochastic_depth_batch_drops_all_or_nothing(device):
    tg.manual_seed(1)
    seen = set()
    for _ in range(20):
        out = F.stochastic_depth(tg.ones(4, 3, device=device), 0.5, "batch").numpy()
        assert len(np.unique(out)) == 1
        seen.add(float(out[0, 0]))
    assert seen == {0.0, 2.0}


def test_stochastic_depth_draws_the_same_mask_on_every_device():
    masks = []
    for device in DEVICES:
        tg.manual_seed(7)
        masks.append(F.stochastic_depth(tg.ones(64, 2, device=device), 0.5, "row").numpy())
    for mask in masks[1:]:
        np.testing.assert_array_equal(mask, masks[0])


def test_stochastic_depth_is_the_identity_in_eval_or_at_p0_and_zero_at_p1():
    x = tg.randn(3, 2)
    assert F.stochastic_depth(x, 0.5, "row", training=False) is x
    assert F.stochastic_depth(x, 0.0, "batch") is x
    module = nn.StochasticDepth(0.3, "row").eval()
    assert module(x) is x
    np.testing.assert_array_equal(F.stochastic_depth(x, 1.0, "row").numpy(), 0.0)


def test_stochastic_depth_gradient_is_the_mask_and_repeats_under_a_seed():
    tg.manual_seed(5)
    x = tg.randn(16, 3, requires_grad=True)
    out = F.stochastic_depth(x, 0.5, "row")
    out.sum().backward()
    mask = out.numpy() / x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-6)
    tg.manual_seed(5)
    x2 = tg.randn(16, 3)
    np.testing.assert_array_equal(F.stochastic_depth(x2, 0.5, "row").numpy(), out.numpy())


def test_stochastic_depth_refuses_bad_arguments_as_torchvision():
    x = tg.ones(2, 2)
    with pytest.raises(ValueError, match="stochastic_depth: p"):
        F.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="stochastic_depth: mode"):
        F.stochastic_depth(x, 0.5, "rows")
    with pytest.raises(ValueError, match="StochasticDepth: mode"):
        nn.StochasticDepth(0.5, "column")


# ---------------------------------------------------------------------------------------------
# LayerNorm2d


def _torch_layer_norm2d(torch, eps):
    def fn(x, weight, bias):
        y = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), weight, bias,
                                           eps)
        return y.permute(0, 3, 1, 2)
    return fn


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 5, 1, 1), (2, 4, 17, 19)])
def test_layer_norm2d_matches_torchvisions_permuted_layer_norm(device, shape):
    torch = torch_or_skip()
    if simulated(device) and shape[2] > 4:
        pytest.skip("the simulator runs tiny shapes only")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 2 + 1
    weight, bias = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    compare_with_torch(lambda x, w, b: F.layer_norm2d(x, w, b, 1e-6),
                       _torch_layer_norm2d(torch, 1e-6), x, weight, bias, device=device)


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=6)
@given(data=st.data())
def test_layer_norm2d_passes_gradcheck(device, data):
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(2, 4)),
             data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    x = data.draw(arrays(shape, -3.0, 3.0))
    x = x + np.linspace(-1, 1, shape[1]).reshape(1, -1, 1, 1)  # no constant pixel
    weight = data.draw(arrays((shape[1],), 0.5, 2.0))
    bias = data.draw(arrays((shape[1],)))
    check_gradients(lambda x, w, b: F.layer_norm2d(x, w, b), x, weight, bias, device=device)


def test_layer_norm2d_module_has_layer_norm_keys_and_checks_channels():
    module = nn.LayerNorm2d(6, eps=1e-6)
    assert list(module.state_dict()) == ["weight", "bias"]
    assert module.state_dict()["weight"].shape == (6,)
    assert module(tg.randn(2, 6, 3, 3)).shape == (2, 6, 3, 3)
    with pytest.raises(ValueError, match="LayerNorm2d: input"):
        module(tg.randn(2, 5, 3, 3))


def test_layer_norm2d_keeps_float32_accurate_with_a_large_mean():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, 8, 3, 3)) + 1000).astype(np.float32)
    y = F.layer_norm2d(tg.tensor(x)).numpy()
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, expected, atol=1e-3)


# ---------------------------------------------------------------------------------------------
# adaptive max pooling


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size, output_size", [((5, 7), 3), ((4, 4), 2), ((3, 5), (5, 2)),
                                               ((6, 6), (None, 4)), ((2, 3), 1)])
def test_adaptive_max_pool2d_matches_torch_with_indices(device, size, output_size):
    torch = torch_or_skip()
    x = np.random.default_rng(0).standard_normal((2, 3, *size))
    compare_with_torch(lambda x: F.adaptive_max_pool2d(x, output_size),
                       lambda x: torch.nn.functional.adaptive_max_pool2d(x, output_size),
                       x, device=device)
    _, indices = F.adaptive_max_pool2d(tg.tensor(x, device=device), output_size, True)
    _, expected = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), output_size, True)
    np.testing.assert_array_equal(indices.numpy(), expected.numpy())


@settings(max_examples=6)
@given(x=arrays((1, 2, 5, 4), -3.0, 3.0))
def test_adaptive_max_pool2d_passes_gradcheck(x):
    x = x + np.arange(x.size).reshape(x.shape) * 1e-2  # no ties within a window
    check_gradients(lambda x: F.adaptive_max_pool2d(x, (3, 2)), x)


def test_adaptive_max_pool2d_module_unbatched_input_and_errors():
    x = tg.randn(3, 5, 5)
    assert nn.AdaptiveMaxPool2d(2)(x).shape == (3, 2, 2)
    out, indices = nn.AdaptiveMaxPool2d(2, return_indices=True)(x)
    assert out.shape == indices.shape == (3, 2, 2)
    with pytest.raises(ValueError, match="adaptive_max_pool2d: input may be empty only"):
        F.adaptive_max_pool2d(tg.randn(1, 2, 0, 3), 2)
    with pytest.raises(ValueError, match="adaptive_max_pool2d: output_size"):
        F.adaptive_max_pool2d(x, 0)


# ---------------------------------------------------------------------------------------------
# torchvision.ops blocks, Identity, trunc_normal_


def test_permute_module_reorders_axes():
    x = tg.randn(2, 3, 4, 5)
    assert nn.Permute([0, 2, 3, 1])(x).shape == (2, 4, 5, 3)


def test_identity_ignores_its_arguments_as_torch():
    module = nn.Identity(54, unused_argument=0.1)
    x = tg.randn(2, 3)
    assert module(x) is x and repr(module) == "Identity()"


def test_squeeze_excitation_matches_torchvisions_definition():
    torch = torch_or_skip()
    tg.manual_seed(0)
    se = nn.SqueezeExcitation(6, 2, activation=nn.SiLU)
    assert list(se.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    sd = {k: torch.tensor(v, dtype=torch.float64) for k, v in se.state_dict().items()}

    def reference(x):  # torchvision.ops.SqueezeExcitation's forward, written out
        scale = x.mean((2, 3), keepdim=True)
        scale = torch.nn.functional.conv2d(scale, sd["fc1.weight"], sd["fc1.bias"])
        scale = torch.nn.functional.silu(scale)
        scale = torch.nn.functional.conv2d(scale, sd["fc2.weight"], sd["fc2.bias"])
        return torch.sigmoid(scale) * x

    se_64 = nn.SqueezeExcitation(6, 2, activation=nn.SiLU)
    se_64.load_state_dict(se.state_dict())
    for p in se_64.parameters():
        p.data = p.data.astype(np.float64)
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 4))
    compare_with_torch(se_64, reference, x, dtype=np.float64)


def test_squeeze_excitation_passes_gradcheck():
    tg.manual_seed(1)
    se = nn.SqueezeExcitation(4, 2)
    for p in se.parameters():
        p.data = p.data.astype(np.float64)
    x = np.random.default_rng(1).standard_normal((2, 4, 3, 3))
    check_gradients(se, x)


def test_conv2d_norm_activation_builds_torchvisions_layers():
    block = nn.Conv2dNormActivation(3, 8, kernel_size=3, stride=2, activation_layer=nn.ReLU6)
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "ReLU6"]
    assert block[0].bias is None and block[0].padding == (1, 1) and block.out_channels == 8
    assert block[2].inplace
    plain = nn.Conv2dNormActivation(4, 4, 1, norm_layer=None, activation_layer=None)
    assert len(plain) == 1 and plain[0].bias is not None and plain[0].padding == (0, 0)
    dilated = nn.Conv2dNormActivation(2, 2, 3, dilation=2)
    assert dilated[0].padding == (2, 2)
    assert block(tg.randn(1, 3, 8, 8)).shape == (1, 8, 4, 4)


def test_trunc_normal_matches_the_truncated_normal_distribution():
    tg.manual_seed(0)
    w = nn.init.trunc_normal_(tg.empty(200_000), mean=0.5, std=1.0, a=-0.5, b=2.0).numpy()
    assert w.min() >= -0.5 and w.max() <= 2.0
    # moments of N(0.5, 1) truncated to [-1, 1.5] standard units
    from math import erf, exp, pi, sqrt

    alpha, beta = -1.0, 1.5
    phi = lambda t: exp(-t * t / 2) / sqrt(2 * pi)  # noqa: E731
    cdf = lambda t: (1 + erf(t / sqrt(2))) / 2  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    mean = 0.5 + (phi(alpha) - phi(beta)) / z
    var = 1 + (alpha * phi(alpha) - beta * phi(beta)) / z - ((phi(alpha) - phi(beta)) / z) ** 2
    assert abs(w.mean() - mean) < 0.01 and abs(w.var() - var) < 0.01
    # the whole distribution: Kolmogorov-Smirnov distance to the truncated CDF
    sorted_w = np.sort(w)
    expected_cdf = np.array([(cdf(v - 0.5) - cdf(alpha)) / z for v in sorted_w[::1000]])
    empirical = (np.arange(0, w.size, 1000) + 1) / w.size
    assert np.max(np.abs(expected_cdf - empirical)) < 0.01


def test_trunc_normal_warns_when_the_mean_is_far_outside_the_bounds():
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        nn.init.trunc_normal_(tg.empty(10), mean=10.0, std=1.0, a=-2.0, b=2.0)


@pytest.mark.parametrize("shape, out_channels", [((1, 3, 32, 32), 16), ((2, 3, 24, 20), 8)])
def test_conv2d_gradients_of_a_patchify_stem_match_torch(shape, out_channels):
    """ConvNeXt's stem (4x4 kernel, stride 4): the CPU input gradient once copied a wrapped
    slice when a tile of output pixels began in a row's padding columns."""
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    weight = rng.standard_normal((out_channels, shape[1], 4, 4))
    compare_with_torch(lambda x, w: F.conv2d(x, w, stride=4),
                       lambda x, w: torch.nn.functional.conv2d(x, w, stride=4), x, weight)
