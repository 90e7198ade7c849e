"""The classic zoo (AlexNet, VGG, GoogLeNet, ResNet): gradchecks of the blocks, parameter counts,
state_dict keys and shapes, and logits and input gradients against torchvision on the same
weights. CI runs small models on small inputs; `-m zoo` runs every model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_module_gradients, compare_with_torch
from torchvision_models import torchvision_models

import tinygradcnn as tg
from tinygradcnn import models, nn
from tinygradcnn.models.googlenet import Inception
from tinygradcnn.models.resnet import conv1x1
from tinygradcnn.models.vgg import CONFIGS, make_layers
from tinygradcnn.nn import functional as F

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "zoo_classic_state_dicts.json")

# torchvision's counts (its weight tables' num_params), and the CIFAR ResNets' (option B)
PARAMETERS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnext50_32x4d": 25_028_904, "resnet20": 272_474, "resnet32": 466_906,
    "resnet44": 661_338, "resnet56": 855_770,
}
PARAMETERS_ZOO = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848, "vgg13_bn": 133_053_736, "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992, "vgg19": 143_667_240, "vgg19_bn": 143_678_248,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272, "wide_resnet50_2": 68_883_240,
    "wide_resnet101_2": 126_886_696,
}


def test_basic_block_passes_gradcheck_with_and_without_a_projection():
    check_module_gradients(models.BasicBlock(3, 3), (2, 3, 4, 4))
    projection = nn.Sequential(conv1x1(3, 4, stride=2), nn.BatchNorm2d(4))
    check_module_gradients(models.BasicBlock(3, 4, stride=2, downsample=projection), (2, 3, 5, 5))


def test_bottleneck_passes_gradcheck_with_grouped_3x3_and_stride():
    projection = nn.Sequential(conv1x1(4, 8, stride=2), nn.BatchNorm2d(8))
    block = models.Bottleneck(4, 2, stride=2, downsample=projection, groups=2, base_width=64)
    assert block.conv2.groups == 2 and block.conv2.stride == (2, 2)
    check_module_gradients(block, (2, 4, 4, 4))


def test_inception_module_passes_gradcheck():
    block = Inception(3, 2, 2, 3, 1, 2, 2)
    x = tg.zeros(1, 3, 4, 4)
    assert block(x).shape == (1, 2 + 3 + 2 + 2, 4, 4)
    check_module_gradients(block, (2, 3, 3, 3))


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameter_count_is_torchvisions(name):
    assert models.get_model(name).num_parameters() == PARAMETERS[name]


def test_googlenet_has_6_6_million_parameters_without_its_aux_heads():
    assert models.googlenet(aux_logits=False).num_parameters() == 6_624_904
    assert models.googlenet().num_parameters() == 13_004_888


@pytest.mark.zoo
@pytest.mark.parametrize("name", sorted(PARAMETERS_ZOO))
def test_parameter_count_of_the_big_models_is_torchvisions(name):
    assert models.get_model(name).num_parameters() == PARAMETERS_ZOO[name]


def test_vgg_config_table_builds_torchvisions_feature_layout():
    features = make_layers(CONFIGS["D"], batch_norm=True)
    # conv, BN, ReLU triples and a pool after each stack: 13 convs, 5 pools
    assert len(features) == 13 * 3 + 5
    assert isinstance(features[0], nn.Conv2d) and isinstance(features[1], nn.BatchNorm2d)
    assert isinstance(features[6], nn.MaxPool2d) and features[7].in_channels == 64
    assert sum(p.numel() for p in features.parameters()) == 14_723_136


def _key_shapes(model: nn.Module) -> list[list]:
    return [[key, list(value.shape)] for key, value in model.state_dict().items()]


def _golden() -> dict:
    with open(GOLDEN) as f:
        return json.load(f)


CHECKED_KEYS = ["resnet18", "resnet50", "resnext50_32x4d", "googlenet"]


@pytest.mark.parametrize("name", CHECKED_KEYS)
def test_state_dict_keys_and_shapes_are_torchvisions(name):
    """Against the golden file, written from torchvision 0.28 (checked against the installed
    torchvision below), so the test needs no torchvision."""
    assert _key_shapes(models.get_model(name)) == _golden()[name]


def test_golden_state_dicts_are_the_installed_torchvisions():
    tv = torchvision_models()
    if tv is None:
        pytest.skip("torchvision is not installed: the golden file stands in for it")
    golden = _golden()
    for name in CHECKED_KEYS:
        reference = getattr(tv, name)(weights=None, **(
            {"init_weights": True} if name == "googlenet" else {}))
        assert [[k, list(v.shape)] for k, v in reference.state_dict().items()] == golden[name]


def _randomise_statistics(reference, torch) -> None:
    """Running statistics away from (0, 1), so eval-mode BN is tested for real."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator)
                                          * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator)
                                         + 0.5)
                module.weight.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.num_features, generator=generator) * 0.1)


def _compare(ours: nn.Module, reference, shape, training: bool = False, atol=1e-4,
             dtype=np.float32):
    """Same weights (torchvision's, copied as NumPy arrays), same input: same logits and
    same input gradient of a random projection of the logits."""
    torch = pytest.importorskip("torch")
    _randomise_statistics(reference, torch)
    ours.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    if dtype == np.float64:
        ours.double()
        reference.double()
    ours.train(training)
    reference.train(training)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)

    def logits(outputs):
        return outputs[0] if isinstance(outputs, tuple) else outputs

    x_ours = tg.tensor(x, requires_grad=True)
    out_ours = ours(x_ours)
    x_ref = torch.tensor(x, requires_grad=True)
    out_ref = reference(x_ref)
    outputs_ours = out_ours if isinstance(out_ours, tuple) else (out_ours,)
    outputs_ref = out_ref if isinstance(out_ref, tuple) else (out_ref,)
    assert len(outputs_ours) == len(outputs_ref)
    projection = rng.standard_normal(logits(outputs_ref).shape).astype(dtype)
    for a, b in zip(outputs_ours, outputs_ref, strict=True):
        # float32 rounding grows with the logits' size (resnet50's reach 87: 1e-4 apart on
        # a logit of 0.01, in the order of either library's summation), as for the gradient
        scale = max(1.0, float(np.abs(b.detach().numpy()).max()))
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=atol * scale, rtol=1e-4)
    (logits(outputs_ours) * tg.tensor(projection, dtype=dtype)).sum().backward()
    (logits(outputs_ref) * torch.tensor(projection)).sum().backward()
    scale = max(1.0, float(np.abs(x_ref.grad.numpy()).max()))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_ref.grad.numpy(), atol=atol * scale,
                               rtol=1e-4)


def _torchvision_or_skip():
    tv = torchvision_models()
    if tv is None:
        pytest.skip("torchvision (pip install --no-deps torchvision==0.28.0) is the oracle")
    return tv


def test_resnet18_matches_torchvision_at_32x32():
    tv = _torchvision_or_skip()
    _compare(models.resnet18(num_classes=10), tv.resnet18(num_classes=10), (1, 3, 32, 32))


def test_resnet20_matches_torchvisions_blocks_in_a_cifar_layout():
    """No torchvision CIFAR ResNet exists: the reference is built from torchvision's own
    BasicBlock and the same stem, so the layout (and the keys) are torchvision's."""
    tv = _torchvision_or_skip()
    torch = pytest.importorskip("torch")
    from torchvision.models.resnet import BasicBlock

    class TorchCifarResNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1, bias=False)
            self.bn1 = torch.nn.BatchNorm2d(16)
            self.relu = torch.nn.ReLU()
            self.inplanes = 16
            self.layer1 = self._stage(16, 1)
            self.layer2 = self._stage(32, 2)
            self.layer3 = self._stage(64, 2)
            self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
            self.fc = torch.nn.Linear(64, 10)

        def _stage(self, planes, stride):
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = torch.nn.Sequential(
                    torch.nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                    torch.nn.BatchNorm2d(planes))
            blocks = [BasicBlock(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes
            return torch.nn.Sequential(*blocks, *[BasicBlock(planes, planes) for _ in range(2)])

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    assert tv is not None
    _compare(models.resnet20(in_channels=1), TorchCifarResNet(), (2, 1, 28, 28))


def test_googlenet_matches_torchvision_at_its_smallest_input():
    tv = _torchvision_or_skip()
    _compare(models.googlenet(aux_logits=False, transform_input=True),
             tv.googlenet(aux_logits=False, transform_input=True, init_weights=True),
             (1, 3, 15, 15))


def test_googlenet_returns_its_aux_logits_in_training_only():
    tv = _torchvision_or_skip()
    ours = models.googlenet(num_classes=7, dropout=0.0, dropout_aux=0.0)
    reference = tv.googlenet(num_classes=7, dropout=0.0, dropout_aux=0.0, init_weights=True)
    # training-mode BN over a batch of 2 maps of 1x1 to 3x3 pixels is ill-conditioned
    # (float32 rounding grows to 0.3% in the input gradient): compare in float64
    _compare(ours, reference, (2, 3, 17, 17), training=True, atol=1e-8, dtype=np.float64)
    ours.train()
    outputs = ours(tg.zeros(2, 3, 17, 17, dtype=tg.float64))
    assert isinstance(outputs, models.GoogLeNetOutputs) and outputs.aux_logits1.shape == (2, 7)
    ours.eval()
    assert ours(tg.zeros(2, 3, 17, 17, dtype=tg.float64)).shape == (2, 7)


def test_zero_init_residual_makes_every_block_start_as_the_identity():
    model = models.resnet20(zero_init_residual=True)
    assert all(np.all(block.bn2.weight.numpy() == 0) for block in model.modules()
               if isinstance(block, models.BasicBlock))
    bottlenecks = models.resnet50(zero_init_residual=True)
    assert all(np.all(block.bn3.weight.numpy() == 0) for block in bottlenecks.modules()
               if isinstance(block, models.Bottleneck))


def test_initialisation_is_he_normal_fan_out():
    tg.manual_seed(0)
    model = models.resnet50()
    weight = model.layer3[0].conv2.weight.numpy()  # 256 x 256 x 3 x 3, fan_out 2304
    assert abs(weight.std() - np.sqrt(2 / (256 * 9))) < 0.02 * np.sqrt(2 / (256 * 9))
    assert np.all(model.bn1.weight.numpy() == 1) and np.all(model.bn1.bias.numpy() == 0)


def test_resnet_takes_any_input_size_and_cifar_resnets_take_in_channels():
    assert models.resnet18(num_classes=3).eval()(tg.zeros(1, 3, 1, 1)).shape == (1, 3)
    assert models.resnet32(in_channels=1, num_classes=4)(tg.zeros(2, 1, 8, 8)).shape == (2, 4)


def test_dilation_replaces_the_stride():
    model = models.resnet50(replace_stride_with_dilation=[False, True, True])
    model.eval()
    x = tg.zeros(1, 3, 32, 32)
    features = model.layer4(model.layer3(model.layer2(model.layer1(
        model.maxpool(model.relu(model.bn1(model.conv1(x))))))))
    assert features.shape == (1, 2048, 4, 4)
    assert model.layer4[1].conv2.dilation == (4, 4)


def test_bad_configurations_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="BasicBlock: only groups=1"):
        models.resnet18(groups=2)
    with pytest.raises(ValueError, match="CifarResNet: layers needs 3 entries"):
        models.CifarResNet([1, 1])


ZOO_PARITY = [
    ("alexnet", {}, (1, 3, 63, 63)),
    ("vgg11", {}, (1, 3, 32, 32)),
    ("vgg11_bn", {}, (1, 3, 32, 32)),
    ("vgg13", {}, (1, 3, 32, 32)),
    ("vgg13_bn", {}, (1, 3, 32, 32)),
    ("vgg16", {}, (1, 3, 32, 32)),
    ("vgg16_bn", {}, (1, 3, 32, 32)),
    ("vgg19", {}, (1, 3, 32, 32)),
    ("vgg19_bn", {}, (1, 3, 32, 32)),
    ("googlenet", {"init_weights": True}, (2, 3, 64, 64)),
    ("resnet34", {}, (1, 3, 32, 32)),
    ("resnet50", {}, (2, 3, 64, 64)),
    ("resnet101", {}, (1, 3, 32, 32)),
    ("resnet152", {}, (1, 3, 32, 32)),
    ("resnext50_32x4d", {}, (1, 3, 32, 32)),
    ("resnext101_32x8d", {}, (1, 3, 32, 32)),
    ("resnext101_64x4d", {}, (1, 3, 32, 32)),
    ("wide_resnet50_2", {}, (1, 3, 32, 32)),
    ("wide_resnet101_2", {}, (1, 3, 32, 32)),
]


@pytest.mark.zoo
@pytest.mark.parametrize("name, torch_kwargs, shape", ZOO_PARITY, ids=[c[0] for c in ZOO_PARITY])
def test_every_classic_model_matches_torchvision(name, torch_kwargs, shape):
    """In float64, and seeded: in float32 resnet50's input gradient differed from PyTorch's
    in 3 of 8 weight draws, by up to 1-2% of its largest value, where a pre-activation came
    within rounding of 0 (or two values of a max-pool window within rounding of each other)
    and the libraries passed the gradient on differently. Fed the same activations, every
    stage's gradient agreed to 2e-6 of its scale; in float64 such near-ties do not occur."""
    tv = _torchvision_or_skip()
    pytest.importorskip("torch").manual_seed(0)
    reference = getattr(tv, name)(weights=None, **torch_kwargs)
    ours = models.get_model(name)
    assert _key_shapes(ours) == [[k, list(v.shape)] for k, v in reference.state_dict().items()]
    _compare(ours, reference, shape, dtype=np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((1, 2, 2, 2), 3, 2, 0),   # GoogLeNet's maxpool3 at a 15x15 input
    ((1, 1, 1, 1), 2, 2, 0),   # and its maxpool4
    ((1, 1, 2, 3), 3, 2, 1),
])
def test_ceil_mode_pools_overhang_maps_smaller_than_the_window(device, pool, shape, kernel,
                                                               stride, padding):
    """PyTorch's rule is at least one output: in ceil mode the window may be larger than the
    (padded) map, and pools what it covers."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    compare_with_torch(
        lambda t: getattr(F, pool)(t, kernel, stride, padding, ceil_mode=True),
        lambda t: getattr(torch.nn.functional, pool)(t, kernel, stride, padding,
                                                     ceil_mode=True),
        x, device=device, dtype=np.float64, atol=1e-12, rtol=1e-12)


def test_a_window_larger_than_the_map_is_still_refused_without_ceil_mode():
    with pytest.raises(ValueError, match="max_pool2d: kernel_size 3 larger than padded input "
                                         "2x2"):
        F.max_pool2d(tg.zeros(1, 1, 2, 2), 3, 2)
    with pytest.raises(ValueError, match="max_pool2d: kernel_size 3 larger than padded input"):
        F.max_pool2d(tg.zeros(1, 1, 1, 1), 3, 2, ceil_mode=True)  # no output at all


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "cpu"])
def test_blocks_give_the_same_outputs_and_gradients_on_the_gpu(device):
    tg.manual_seed(0)
    projection = nn.Sequential(conv1x1(2, 4, stride=2), nn.BatchNorm2d(4))
    for block in (models.BasicBlock(2, 4, stride=2, downsample=projection),
                  Inception(2, 1, 1, 2, 1, 1, 1)):
        x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
        results = []
        for where in ("cpu", device):
            block.to(where)
            block.zero_grad()
            inputs = tg.tensor(x, requires_grad=True, device=where)
            block(inputs).sum().backward()
            results.append([block(inputs).numpy(), inputs.grad.numpy(),
                            *(p.grad.numpy() for p in block.parameters())])
        for a, b in zip(*results, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.zoo
@pytest.mark.parametrize("name", ["alexnet", "googlenet", "resnet18", "resnet50",
                                  "resnext50_32x4d", "vgg16"])
def test_summary_counts_the_multiply_adds_torchvision_publishes(name):
    """torchvision's weight tables give each model's GFLOPS at 224 as fvcore counts them:
    one multiply-add of a convolution or linear layer is one "flop" there."""
    tv = _torchvision_or_skip()
    published = tv.get_model_weights(name).DEFAULT.meta["_ops"]
    model = models.get_model(name, **({"aux_logits": False} if name == "googlenet" else {}))
    table = tg.summary(model, (3, 224, 224), print_fn=None, depth=1)
    value, unit = table.split("Multiply-adds: ")[1].split()[:2]
    counted = float(value) * {"G": 1.0, "M": 1e-3}[unit]
    assert abs(counted - published) < 0.01 * published + 0.005
