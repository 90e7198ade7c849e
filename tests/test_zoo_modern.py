"""The modern zoo (MobileNetV2, EfficientNet-B0..B7, ConvNeXt): gradchecks of the blocks,
parameter counts, state_dict keys and shapes, the compound-scaling rule, and logits and input
gradients against torchvision on the same weights. CI runs small widths on 32x32 inputs;
`-m zoo` runs every published variant."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_module_gradients
from torchvision_models import torchvision_models

import tinygradcnn as tg
from tinygradcnn import models, nn
from tinygradcnn.models.convnext import CNBlock, CNBlockConfig, ConvNeXt
from tinygradcnn.models.efficientnet import VARIANTS, MBConv, MBConvConfig, scaled_stages
from tinygradcnn.models.mobilenet import InvertedResidual, _make_divisible

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "zoo_modern_state_dicts.json")

# torchvision 0.28's counts (its weight tables' num_params)
PARAMETERS = {"mobilenet_v2": 3_504_872, "efficientnet_b0": 5_288_548,
              "convnext_tiny": 28_589_128}
PARAMETERS_ZOO = {
    "efficientnet_b1": 7_794_184, "efficientnet_b2": 9_109_994, "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616, "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704, "efficientnet_b7": 66_347_960,
    "convnext_small": 50_223_688, "convnext_base": 88_591_464, "convnext_large": 197_767_336,
}


def test_inverted_residual_passes_gradcheck_with_and_without_the_shortcut():
    block = InvertedResidual(3, 3, 1, expand_ratio=2)
    assert block.use_res_connect
    check_module_gradients(block, (2, 3, 3, 3))
    strided = InvertedResidual(3, 4, 2, expand_ratio=1)
    assert not strided.use_res_connect and len(strided.conv) == 3  # no expansion at t = 1
    check_module_gradients(strided, (2, 3, 4, 4))


def test_mbconv_with_squeeze_excitation_passes_gradcheck():
    block = MBConv(MBConvConfig(2, 3, 1, 4, 4, 1), 0.0, nn.BatchNorm2d)
    assert block.use_res_connect and isinstance(block.block[2], nn.SqueezeExcitation)
    assert block.block[2].fc1.out_channels == 1  # max(1, 4 // 4)
    check_module_gradients(block, (2, 4, 3, 3))


def test_convnext_block_passes_gradcheck():
    block = CNBlock(4, layer_scale=0.5, stochastic_depth_prob=0.0)
    check_module_gradients(block, (1, 4, 3, 3))


@pytest.mark.skipif("cuda" not in DEVICES, reason="no CUDA device or simulator")
@pytest.mark.parametrize("make_block", [
    lambda: InvertedResidual(4, 4, 1, expand_ratio=2),
    lambda: MBConv(MBConvConfig(2, 3, 1, 4, 4, 1), 0.0, nn.BatchNorm2d),
    lambda: CNBlock(4, layer_scale=0.5, stochastic_depth_prob=0.0),
], ids=["inverted_residual", "mbconv", "cnblock"])
def test_blocks_give_the_same_numbers_on_the_gpu(make_block):
    tg.manual_seed(0)
    block = make_block().eval()
    x = np.random.default_rng(0).standard_normal((1, 4, 3, 3)).astype(np.float32)
    x_cpu = tg.tensor(x, requires_grad=True)
    expected = block(x_cpu)
    expected.sum().backward()
    block.to("cuda")
    x_gpu = tg.tensor(x, device="cuda", requires_grad=True)
    out = block(x_gpu)
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(x_gpu.grad.numpy(), x_cpu.grad.numpy(), atol=1e-5, rtol=1e-4)


def test_stochastic_depth_in_a_block_drops_only_the_branch():
    tg.manual_seed(0)
    block = MBConv(MBConvConfig(1, 3, 1, 8, 8, 1), 1.0, nn.BatchNorm2d)
    x = tg.randn(2, 8, 4, 4)
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())  # p = 1: the branch is gone
    block.eval()
    assert not np.allclose(block(x).numpy(), x.numpy())


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameter_count_is_torchvisions(name):
    assert models.get_model(name).num_parameters() == PARAMETERS[name]


@pytest.mark.zoo
@pytest.mark.parametrize("name", sorted(PARAMETERS_ZOO))
def test_parameter_count_of_the_bigger_variants_is_torchvisions(name):
    assert models.get_model(name).num_parameters() == PARAMETERS_ZOO[name]


def test_channels_round_to_multiples_of_8_and_repeats_round_up():
    assert _make_divisible(32 * 0.75, 8) == 24 and _make_divisible(16 * 1.1, 8) == 16
    assert _make_divisible(40 * 1.1, 8) == 48 and _make_divisible(12, 8) == 16
    b3 = scaled_stages(VARIANTS["efficientnet_b3"].width_mult,
                       VARIANTS["efficientnet_b3"].depth_mult)
    assert [s.num_layers for s in b3] == [2, 3, 3, 5, 5, 6, 2]  # ceil(n * 1.4)
    assert [s.out_channels for s in b3] == [24, 32, 48, 96, 136, 232, 384]
    assert all(s.out_channels % 8 == 0 for v in VARIANTS.values()
               for s in scaled_stages(v.width_mult, v.depth_mult))


def test_the_published_multipliers_follow_the_compound_rule():
    """The rounded width and depth multipliers of B1-B7 stay near beta^phi and alpha^phi,
    and the resolutions near 224 gamma^phi (the paper's rule; the releases round them)."""
    for variant in VARIANTS.values():
        assert abs(variant.depth_mult - 1.2 ** variant.phi) / 1.2 ** variant.phi < 0.25
        assert abs(variant.width_mult - 1.1 ** variant.phi) / 1.1 ** variant.phi < 0.15
        assert abs(variant.resolution - 224 * 1.15 ** variant.phi) / variant.resolution < 0.2


def test_b5_to_b7_use_torchvisions_batch_norm_settings():
    model = models.efficientnet_b0()
    assert model.features[0][1].eps == 1e-5 and model.features[0][1].momentum == 0.1
    for name in ("efficientnet_b5", "efficientnet_b6", "efficientnet_b7"):
        assert VARIANTS[name].bn_eps == 1e-3 and VARIANTS[name].bn_momentum == 0.01


def test_stochastic_depth_grows_with_the_block_index():
    model = models.efficientnet_b0()
    rates = [m.stochastic_depth.p for m in model.modules() if isinstance(m, MBConv)]
    assert len(rates) == 16 and rates[0] == 0.0
    np.testing.assert_allclose(rates, [0.2 * i / 16 for i in range(16)])
    convnext = ConvNeXt([CNBlockConfig(8, 16, 2), CNBlockConfig(16, None, 3)], 0.4)
    rates = [m.stochastic_depth.p for m in convnext.modules() if isinstance(m, CNBlock)]
    np.testing.assert_allclose(rates, [0.4 * i / 4 for i in range(5)])


def test_convnext_init_is_truncated_normal_with_zero_biases_and_a_tiny_layer_scale():
    tg.manual_seed(0)
    model = ConvNeXt([CNBlockConfig(32, 64, 1), CNBlockConfig(64, None, 1)])
    weight = model.features[1][0].block[3].weight.numpy()
    assert abs(weight.std() - 0.02) < 0.002 and np.abs(weight).max() <= 2.0
    assert (model.features[1][0].block[3].bias.numpy() == 0).all()
    np.testing.assert_allclose(model.features[1][0].layer_scale.numpy(), 1e-6)


def _key_shapes(model: nn.Module) -> dict:
    return {key: list(value.shape) for key, value in model.state_dict().items()}


def _golden() -> dict:
    with open(GOLDEN) as f:
        return json.load(f)


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_state_dict_keys_and_shapes_are_torchvisions(name):
    """Against the golden file, written from torchvision 0.28 (checked against the installed
    torchvision below), so the test needs no torchvision."""
    assert _key_shapes(models.get_model(name)) == dict(_golden()[name])


def test_golden_state_dicts_are_the_installed_torchvisions():
    tv = torchvision_models()
    if tv is None:
        pytest.skip("torchvision is not installed: the golden file stands in for it")
    for name, keys in _golden().items():
        reference = getattr(tv, name)(weights=None)
        assert [[k, list(v.shape)] for k, v in reference.state_dict().items()] == keys


def _randomise(reference, torch) -> None:
    """BN statistics away from (0, 1) and layer scales away from 1e-6, so the eval-mode
    norms and the ConvNeXt branches are tested for real."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(c, generator=generator) * 0.1)
            elif isinstance(module, torch.nn.LayerNorm):
                c = module.weight.shape[0]
                module.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(c, generator=generator) * 0.1)
            if hasattr(module, "layer_scale"):
                module.layer_scale.copy_(torch.rand(module.layer_scale.shape,
                                                    generator=generator) * 0.5 + 0.1)


def _compare(ours: nn.Module, reference, shape=(1, 3, 32, 32), atol=1e-4) -> None:
    """Same weights (torchvision's, copied as NumPy arrays), same input, eval mode: same
    logits and the same input gradient of a random projection of the logits."""
    torch = pytest.importorskip("torch")
    _randomise(reference, torch)
    ours.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    ours.eval()
    reference.eval()
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    x_ours = tg.tensor(x, requires_grad=True)
    out_ours = ours(x_ours)
    x_ref = torch.tensor(x, requires_grad=True)
    out_ref = reference(x_ref)
    np.testing.assert_allclose(out_ours.numpy(), out_ref.detach().numpy(), atol=atol,
                               rtol=1e-4)
    projection = rng.standard_normal(out_ref.shape).astype(np.float32)
    (out_ours * tg.tensor(projection)).sum().backward()
    (out_ref * torch.tensor(projection)).sum().backward()
    scale = max(1.0, float(np.abs(x_ref.grad.numpy()).max()))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_ref.grad.numpy(), atol=atol * scale,
                               rtol=1e-4)


def _torchvision_or_skip():
    tv = torchvision_models()
    if tv is None:
        pytest.skip("torchvision is not installed (pip install --no-deps torchvision==0.28.0)")
    return tv


def test_mobilenet_v2_matches_torchvision_at_half_width():
    tv = _torchvision_or_skip()
    _compare(models.mobilenet_v2(width_mult=0.5, num_classes=10),
             tv.mobilenet_v2(width_mult=0.5, num_classes=10))


def test_efficientnet_b0_matches_torchvision():
    tv = _torchvision_or_skip()
    _compare(models.efficientnet_b0(num_classes=10), tv.efficientnet_b0(num_classes=10))


def test_a_small_convnext_matches_torchvision():
    tv = _torchvision_or_skip()
    from torchvision.models.convnext import CNBlockConfig as TorchvisionConfig

    ours = ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 2)], 0.1,
                    num_classes=10)
    reference = tv.ConvNeXt([TorchvisionConfig(16, 32, 1), TorchvisionConfig(32, None, 2)],
                            0.1, num_classes=10)
    _compare(ours, reference)


ALL_MODERN = ["mobilenet_v2", "convnext_tiny", "convnext_small", "convnext_base",
              "convnext_large", *sorted(VARIANTS)]


@pytest.mark.zoo
@pytest.mark.parametrize("name", ALL_MODERN)
def test_every_modern_model_matches_torchvision(name):
    tv = _torchvision_or_skip()
    assert _key_shapes(models.get_model(name)) == {
        k: list(v.shape) for k, v in getattr(tv, name)(weights=None).state_dict().items()}
    _compare(models.get_model(name), getattr(tv, name)(weights=None))
