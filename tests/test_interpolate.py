"""F.interpolate and nn.Upsample: PyTorch's output sizes, pixels and gradients, on both devices."""

import math
import warnings

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, simulated, torch_or_skip
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import batch_sizes

import tinygradcnn as tg
from tinygradcnn import nn
from tinygradcnn.nn import functional as F


@st.composite
def interpolate_cases(draw, spatial: int, max_size: int = 6):
    """(input shape, keyword arguments): a mode for the input's rank, and either a size or
    a scale factor (integer, fractional, per axis, shrinking) giving outputs of >= 1 pixel."""
    modes = ["nearest", "nearest-exact", "area"] + (["linear"] if spatial == 1 else
                                                    ["bilinear"])
    mode = draw(st.sampled_from(modes))
    sizes = draw(st.lists(st.integers(1, max_size), min_size=spatial, max_size=spatial))
    shape = (draw(batch_sizes), draw(st.integers(1, 2)), *sizes)
    kwargs = {"mode": mode}
    if mode in ("linear", "bilinear"):
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    if mode == "area" or draw(st.booleans()):
        out = draw(st.lists(st.integers(1, 2 * max_size), min_size=spatial, max_size=spatial))
        kwargs["size"] = out[0] if spatial == 1 or draw(st.booleans()) else tuple(out)
    else:
        factor = st.one_of(st.sampled_from([2, 3, 0.5, 1.5]),
                           st.floats(0.3, 3.0).map(lambda f: round(f, 3)))
        factors = tuple(draw(factor) for _ in range(spatial))
        if any(math.floor(n * f) < 1 for n, f in zip(sizes, factors, strict=True)):
            factors = tuple(max(f, 1.0) for f in factors)
        kwargs["scale_factor"] = factors if spatial == 2 and draw(st.booleans()) else \
            max(factors)
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True]))
        out = math.floor(sizes[0] * kwargs["scale_factor"]) if spatial == 1 else None
        # PyTorch's 1-d nearest resize reads src = floor(dst / scale) in its forward but
        # takes the legacy shortcut (copy, or dst // 2) in its backward when the output is
        # as long as the input or twice as long: its gradient is then not that of its own
        # output (2 -> 2 at scale 1.25: forward [x0, x0], gradient as for [x0, x1]). Ours
        # follows its forward; the gradient stays the forward's (gradcheck tests it).
        assume(not (mode == "nearest" and kwargs["recompute_scale_factor"] is None
                    and out in (sizes[0], 2 * sizes[0])
                    and kwargs["scale_factor"] != out / sizes[0]))
    return shape, kwargs


def _torch_interpolate(kwargs):
    torch = torch_or_skip()
    return lambda x: torch.nn.functional.interpolate(x, **kwargs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spatial", [1, 2])
@given(data=st.data())
def test_interpolate_matches_torch_forward_and_input_gradient(device, spatial, data):
    max_size = 4 if simulated(device) else 6
    shape, kwargs = data.draw(interpolate_cases(spatial, max_size))
    x = np.random.default_rng(0).standard_normal(shape)
    compare_with_torch(lambda t: F.interpolate(t, **kwargs), _torch_interpolate(kwargs), x,
                       device=device)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("device", DEVICES)
def test_interpolate_float64_matches_torch(mode, device):
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 5))
    kwargs = {"mode": mode, "scale_factor": (1.7, 0.6)}
    compare_with_torch(lambda t: F.interpolate(t, **kwargs), _torch_interpolate(kwargs), x,
                       device=device, dtype=np.float64)


@pytest.mark.parametrize(("mode", "align_corners"), [("bilinear", False), ("bilinear", True),
                                                     ("nearest", None)])
def test_interpolate_gradcheck(mode, align_corners):
    x = np.random.default_rng(2).standard_normal((2, 1, 3, 4))
    check_gradients(lambda t: F.interpolate(t, size=(5, 3), mode=mode,
                                            align_corners=align_corners), x)
    check_gradients(lambda t: F.interpolate(t[:, :, 0], scale_factor=1.6,
                                            mode="linear" if align_corners is not None else mode,
                                            align_corners=align_corners), x)


@pytest.mark.parametrize("device", DEVICES)
def test_an_axis_that_keeps_its_size_is_copied_whatever_the_scale_factor(device):
    # PyTorch's rule: 2 -> floor(2 * 1.25) = 2 pixels is the identity, not a resampling
    row = tg.tensor([[[1.0, 2.0]]], device=device)
    assert F.interpolate(row, scale_factor=1.25, mode="linear").numpy().tolist() == [[[1.0, 2.0]]]
    # ... but not PyTorch's 1-d nearest forward, which reads floor(dst / 1.25) = 0, 0
    row = tg.tensor([[[1.0, 2.0]]], device=device, requires_grad=True)
    near = F.interpolate(row, scale_factor=1.25)
    assert near.numpy().tolist() == [[[1.0, 1.0]]]
    near.sum().backward()
    assert row.grad.numpy().tolist() == [[[2.0, 0.0]]]  # the gradient of that output
    image = tg.tensor(np.arange(6.0, dtype=np.float32).reshape(1, 1, 2, 3), device=device)
    out = F.interpolate(image, scale_factor=(1.25, 1.5), mode="bilinear").numpy()
    np.testing.assert_allclose(out[0, 0], [[0.0, 0.5, 7 / 6, 11 / 6], [3.0, 3.5, 25 / 6, 29 / 6]],
                               rtol=1e-6)


def test_worked_example_of_the_docstring():
    row = tg.tensor([[[1.0, 3.0]]])
    assert F.interpolate(row, scale_factor=2).numpy().tolist() == [[[1.0, 1.0, 3.0, 3.0]]]
    np.testing.assert_allclose(F.interpolate(row, scale_factor=2, mode="linear").numpy(),
                               [[[1.0, 1.5, 2.5, 3.0]]])
    np.testing.assert_allclose(
        F.interpolate(row, scale_factor=2, mode="linear", align_corners=True).numpy(),
        [[[1.0, 5 / 3, 7 / 3, 3.0]]], rtol=1e-6)
    # 3 -> 5: PyTorch's legacy nearest reads floor(dst * 0.6) = 0, 0, 1, 1, 2; nearest-exact
    # reads floor((dst + 0.5) * 0.6) = 0, 0, 1, 2, 2
    three = tg.tensor([[[0.0, 1.0, 2.0]]])
    assert F.interpolate(three, size=5).numpy().tolist() == [[[0.0, 0.0, 1.0, 1.0, 2.0]]]
    assert F.interpolate(three, size=5, mode="nearest-exact").numpy().tolist() == [
        [[0.0, 0.0, 1.0, 2.0, 2.0]]]


@pytest.mark.parametrize("device", DEVICES)
def test_nearest_copies_infinities_and_bilinear_is_exact_on_the_grid(device):
    x = np.array([[[[np.inf, 1.0], [2.0, -np.inf]]]], dtype=np.float32)
    out = F.interpolate(tg.tensor(x, device=device), scale_factor=2).numpy()
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x, 2, axis=2), 2, axis=3))
    same = np.random.default_rng(3).standard_normal((1, 2, 3, 3)).astype(np.float32)
    for align_corners in (False, True):
        out = F.interpolate(tg.tensor(same, device=device), size=(3, 3), mode="bilinear",
                            align_corners=align_corners)
        np.testing.assert_array_equal(out.numpy(), same)


def test_empty_batch_and_output_shapes():
    x = tg.zeros(0, 3, 4, 5, requires_grad=True)
    out = F.interpolate(x, scale_factor=(2, 0.5), mode="bilinear")
    assert out.shape == (0, 3, 8, 2)
    out.sum().backward()
    assert x.grad.shape == (0, 3, 4, 5)
    assert F.interpolate(tg.zeros(1, 1, 7), scale_factor=1.5).shape == (1, 1, 10)


def test_interpolate_errors_name_the_argument():
    x4, x3 = tg.zeros(1, 1, 4, 4), tg.zeros(1, 1, 4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x4, size=2, scale_factor=2)
    with pytest.raises(ValueError, match=r"mode 'bilinear' needs \(N, C, H, W\) input"):
        F.interpolate(x3, size=2, mode="bilinear")
    with pytest.raises(ValueError, match=r"mode 'linear' needs \(N, C, L\) input"):
        F.interpolate(x4, size=2, mode="linear")
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x4, size=2, align_corners=True)
    with pytest.raises(ValueError, match="has 3 entries, the input has 2 spatial"):
        F.interpolate(x4, size=(2, 2, 2))
    with pytest.raises(ValueError, match="mode must be"):
        F.interpolate(x4, size=2, mode="bicubic-ish")
    with pytest.raises(ValueError, match="output size"):
        F.interpolate(x4, scale_factor=0.1)
    with pytest.raises(TypeError, match="size must be ints"):
        F.interpolate(x4, size=2.5)
    with pytest.raises(TypeError, match="input must be float32 or float64"):
        F.interpolate(tg.tensor([[[1, 2]]]), size=3)


def test_upsample_layers_match_torch_and_print_as_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5)).astype(np.float32)
    pairs = [
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample(size=(3, 7), mode="bilinear"),
         torch.nn.Upsample(size=(3, 7), mode="bilinear")),
        (nn.Upsample(scale_factor=(1.5, 2), mode="bilinear", align_corners=True),
         torch.nn.Upsample(scale_factor=(1.5, 2), mode="bilinear", align_corners=True)),
        (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
        (nn.UpsamplingBilinear2d(size=6), torch.nn.UpsamplingBilinear2d(size=6)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # UpsamplingBilinear2d is deprecated in PyTorch
            expected = theirs(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
