"""Grad-CAM and saliency: they find the half of the image a model uses, they equal the same
computation in PyTorch, and they leave the model as they found it; activation
maximisation: the inputs it makes excite their channel far more than noise does."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEVICES
from helpers import torch_or_skip

import tinygradcnn as tg
from tinygradcnn import nn
from tinygradcnn.models import LeNet5
from tinygradcnn.viz.attribution import (
    compute_grad_cam,
    grad_cam,
    plot_attribution,
    saliency,
    upsample_bilinear,
    view_gradcam,
    view_saliency,
)
from tinygradcnn.viz.explain_types import ExplainContext
from tinygradcnn.viz.maximise import (
    channel_activations,
    maximise_activation,
    maximise_channels,
    view_maximise,
)

SIDE = 12


class LeftHalfOnly(nn.Module):
    """conv -> ReLU -> (right half of every map set to zero) -> conv -> ReLU -> linear:
    nothing right of the middle can reach the score, except through the one column of
    input the second 3x3 conv reads across the border."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, bias=False)
        mask = np.ones((1, 1, SIDE, SIDE), np.float32)
        mask[..., SIDE // 2:] = 0.0
        self.register_buffer("mask", tg.tensor(mask))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(6 * SIDE * SIDE, 3))

    def forward(self, x):
        hidden = self.conv1(x).relu() * self.mask
        return self.head(self.conv2(hidden).relu())


def left_share(heat: np.ndarray) -> float:
    return float(heat[:, : heat.shape[1] // 2].sum() / heat.sum())


def test_grad_cam_and_saliency_put_their_mass_on_the_half_the_model_sees():
    tg.manual_seed(0)
    model = LeftHalfOnly()
    rng = np.random.default_rng(1)
    for _ in range(3):
        image = rng.random((1, SIDE, SIDE)).astype(np.float32)  # content on both halves
        heat = grad_cam(model, image)
        assert heat.shape == (SIDE, SIDE) and heat.max() == pytest.approx(1.0)
        assert heat.min() >= 0.0
        assert left_share(heat) > 0.85
        assert left_share(saliency(model, image)) > 0.9


def test_grad_cam_finds_the_left_half_a_trained_model_learnt_to_use():
    # the label is the orientation of a short bar somewhere in the left half; the right
    # half is noise that says nothing about it. A global-average-pooling head, as in the
    # ResNets Grad-CAM was made for: there its channel weights are the head's own.
    rng = np.random.default_rng(0)
    n = 96
    labels = rng.integers(0, 2, n)
    images = np.zeros((n, 1, SIDE, SIDE), np.float32)
    for i in range(n):
        row, col = rng.integers(1, SIDE - 4), rng.integers(0, SIDE // 2 - 4)
        if labels[i] == 0:
            images[i, 0, row + 1, col:col + 4] = 1.0
        else:
            images[i, 0, row:row + 4, col + 1] = 1.0
        images[i, 0, :, SIDE // 2:] = 0.6 * rng.random((SIDE, SIDE // 2))
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2))
    history = tg.fit(model, tg.data.ArrayDataset(images, labels, scale=1.0), 12,
                     tg.optim.Adam(model.parameters(), lr=2e-2), batch_size=32, verbose=0)
    assert history["accuracy"][-1] > 0.95
    shares = [left_share(grad_cam(model, images[i], target=int(labels[i]))) for i in range(8)]
    assert np.mean(shares) > 0.65  # 0.5 would be no preference


def tiny_model() -> nn.Module:
    tg.manual_seed(3)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv2d(3, 4, 3, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 5))


def torch_copy(model: nn.Module):
    torch = torch_or_skip()
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(),
                                 torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 5))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return torch, theirs


@pytest.mark.torch
@pytest.mark.parametrize("layer", [None, "0", "3"])
def test_grad_cam_equals_the_computation_done_in_torch(layer):
    model = tiny_model()
    torch, theirs = torch_copy(model)
    image = np.random.default_rng(2).standard_normal((2, 7, 7)).astype(np.float32)
    result = compute_grad_cam(model, image, layer=layer)

    watched = {None: theirs[2], "0": theirs[0], "3": theirs[3]}[layer]
    kept = {}
    watched.register_forward_hook(lambda module, inputs, output: kept.update(a=output))
    x = torch.from_numpy(image[None])
    scores = theirs(x)
    kept["a"].retain_grad()
    target = int(scores.argmax())
    scores[0, target].backward()
    activation = kept["a"].detach().numpy()[0]
    gradient = kept["a"].grad.numpy()[0]
    weights = gradient.mean(axis=(1, 2))
    cam = np.maximum((weights[:, None, None] * activation).sum(axis=0), 0)
    heat = torch.nn.functional.interpolate(torch.from_numpy(cam)[None, None], size=(7, 7),
                                           mode="bilinear", align_corners=False)[0, 0].numpy()

    assert result.layer == (layer or "2") and result.target == target
    np.testing.assert_allclose(result.activation, activation, atol=1e-5)
    np.testing.assert_allclose(result.gradient, gradient, atol=1e-5)
    np.testing.assert_allclose(result.weights, weights, atol=1e-6)
    np.testing.assert_allclose(result.cam, cam, atol=1e-5)
    if heat.max() > 0:
        np.testing.assert_allclose(result.heat, heat / heat.max(), atol=1e-5)
    np.testing.assert_allclose(result.probabilities,
                               torch.softmax(scores, 1).detach().numpy()[0], atol=1e-6)


@pytest.mark.torch
def test_saliency_is_the_largest_absolute_input_gradient_over_channels_as_in_torch():
    model = tiny_model()
    torch, theirs = torch_copy(model)
    image = np.random.default_rng(4).standard_normal((2, 7, 7)).astype(np.float32)
    x = torch.from_numpy(image[None]).requires_grad_(True)
    theirs(x)[0, 1].backward()
    expected = x.grad.abs().amax(dim=1)[0].numpy()
    np.testing.assert_allclose(saliency(model, image, target=1), expected, atol=1e-6)


def test_upsampling_keeps_pixel_centres_like_interpolate():
    torch = torch_or_skip()
    values = np.random.default_rng(5).random((3, 4))
    expected = torch.nn.functional.interpolate(torch.from_numpy(values)[None, None], (7, 9),
                                               mode="bilinear", align_corners=False)
    np.testing.assert_allclose(upsample_bilinear(values, (7, 9)), expected[0, 0].numpy(),
                               atol=1e-12)


def test_the_views_leave_the_model_as_they_found_it():
    model = tiny_model()
    model.train()
    image = np.ones((2, 7, 7), np.float32)
    grad_cam(model, image, target=2)
    saliency(model, image)
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())


def test_bad_layers_and_targets_say_what_is_valid():
    model = tiny_model()
    image = np.zeros((2, 7, 7), np.float32)
    with pytest.raises(ValueError, match=r"no layer 'conv9'.*valid layers: 0, 1, 2, 3, 4, 5"):
        grad_cam(model, image, layer="conv9")
    with pytest.raises(ValueError, match="layer '5' gives shape"):
        grad_cam(model, image, layer="5")
    with pytest.raises(ValueError, match="target 7 is out of range for 5 classes"):
        saliency(model, image, target=7)
    with pytest.raises(ValueError, match="no Conv2d layer"):
        grad_cam(nn.Sequential(nn.Flatten(), nn.Linear(98, 2)), image)
    with pytest.raises(ValueError, match=r"one image \(C, H, W\)"):
        grad_cam(model, np.zeros((2, 2, 7, 7), np.float32))


def test_gradcam_and_saliency_views_write_their_pictures(tmp_path):
    tg.manual_seed(0)
    model = LeNet5(input_size=8).eval()
    images = np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float32)
    ctx = ExplainContext(model, images, np.array([0, 1, 2]), index=1,
                         class_names=[str(d) for d in range(10)], out_dir=tmp_path, quick=True)
    for view, name, files in ((view_gradcam, "gradcam", ["gradcam.png", "gradcam_layers.png"]),
                              (view_saliency, "saliency", ["saliency.png"])):
        result = view(ctx)
        assert result.name == name and result.about
        assert [path.name for path in result.files] == files
        assert all(path.stat().st_size > 1000 for path in result.files)
        assert "true class '1'" in result.text
    assert "layer features.3" in view_gradcam(ctx).text
    ctx.layer = "features.0"
    chosen = view_gradcam(ctx)
    assert "layer features.0: 6 feature maps of 8x8" in chosen.text
    assert len(chosen.files) == 1  # a chosen layer: no comparison of the layers
    ctx.layer = "features.9"
    with pytest.raises(ValueError, match="valid layers: features, features.0"):
        view_gradcam(ctx)


def test_plot_attribution_draws_three_panels(tmp_path):
    figure = plot_attribution(np.zeros((3, 5, 5)), np.eye(5), tmp_path / "a.png", title="t")
    assert len(figure.axes) == 4  # three pictures and the colour bar
    assert (tmp_path / "a.png").exists()


@pytest.mark.parametrize("layer", ["features.0", "features.3"])
def test_maximised_inputs_excite_their_channel_far_more_than_random_ones(layer):
    tg.manual_seed(0)
    model = LeNet5(input_size=8)
    channels = [0, 1, 2]
    images = maximise_channels(model, layer, channels, (1, 8, 8), steps=40, seed=1)
    assert images.shape == (3, 1, 8, 8) and images.min() >= 0.0 and images.max() <= 1.0
    reached = channel_activations(model, layer, images, channels)
    noise = np.random.default_rng(2).uniform(0, 1, (64, 1, 8, 8))
    random = channel_activations(model, layer, noise)[:, channels]
    assert np.all(reached > random.max(axis=0))
    assert np.all(reached - random.mean(axis=0) > 3 * random.std(axis=0))


def test_maximise_activation_of_the_mean_and_its_errors():
    tg.manual_seed(0)
    model = LeNet5(input_size=8)
    image = maximise_activation(model, "features.3", 5, steps=10, shape=(1, 8, 8),
                                objective="mean")
    assert image.shape == (1, 8, 8)
    mean = channel_activations(model, "features.3", image[None], [5], objective="mean")
    start = channel_activations(model, "features.3", np.full((1, 1, 8, 8), 0.5), [5],
                                objective="mean")
    assert mean[0] > start[0]
    with pytest.raises(ValueError, match="channel 16 is out of range: layer 'features.3' has 16"):
        maximise_activation(model, "features.3", 16, steps=1, shape=(1, 8, 8))
    with pytest.raises(ValueError, match="objective must be one of centre, mean"):
        maximise_activation(model, "features.3", 0, steps=1, shape=(1, 8, 8), objective="max")
    with pytest.raises(ValueError, match="no layer 'conv'"):
        maximise_activation(model, "conv", 0, steps=1, shape=(1, 8, 8))


def test_maximise_view_shows_the_first_and_last_conv_layer(tmp_path):
    tg.manual_seed(0)
    model = LeNet5(input_size=8).eval()
    images = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    ctx = ExplainContext(model, images, np.array([0, 1]), index=1,
                         class_names=[str(d) for d in range(10)], out_dir=tmp_path, quick=True)
    result = view_maximise(ctx)
    assert result.files == [tmp_path / "maximise.png"] and result.files[0].exists()
    assert "layer features.0 (6 channels)" in result.text
    assert "layer features.3 (16 channels)" in result.text
    assert result.text.count("  channel ") == 8


@pytest.mark.parametrize("device", DEVICES)
def test_attribution_runs_where_the_model_is(device):
    model = tiny_model()
    image = np.random.default_rng(6).standard_normal((2, 7, 7)).astype(np.float32)
    expected_cam, expected_saliency = grad_cam(model, image), saliency(model, image)
    model.to(device)
    np.testing.assert_allclose(grad_cam(model, image), expected_cam, atol=1e-5)
    np.testing.assert_allclose(saliency(model, image), expected_saliency, atol=1e-6)
    assert all(p.device == device for p in model.parameters())
