"""Modules: registration, state dicts, modes, initialisation, layers against PyTorch."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import tinygradcnn as tg
from tinygradcnn import nn
from tinygradcnn.models import FashionCNN, LeNet5, get_model


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 8)
        self.out = nn.Linear(8, 3)
        self.register_buffer("calls", tg.zeros(1))

    def forward(self, x):
        return self.out(self.hidden(x).relu())


def test_attributes_register_parameters_children_and_buffers():
    model = TwoLayer()
    assert [name for name, _ in model.named_parameters()] == [
        "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert [type(c).__name__ for c in model.children()] == ["Linear", "Linear"]
    assert len(list(model.modules())) == 3
    assert [name for name, _ in model.named_buffers()] == ["calls"]
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(model.state_dict()) == ["calls", "hidden.weight", "hidden.bias", "out.weight",
                                        "out.bias"]
    assert model.num_parameters() == 4 * 8 + 8 + 8 * 3 + 3


def test_unknown_attributes_raise_instead_of_returning_none():
    with pytest.raises(AttributeError, match="'TwoLayer' object has no attribute 'dropout'"):
        TwoLayer().dropout  # noqa: B018


def test_assigning_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Forgetful()


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_state_dict_round_trip_copies_values():
    source, target = TwoLayer(), TwoLayer()
    state = source.state_dict()
    state["calls"][...] = 5
    target.load_state_dict(state)
    for name, value in target.state_dict().items():
        assert np.array_equal(value, state[name]), name
    state["hidden.weight"][...] = 0  # a snapshot is a copy, not a view of the weights
    assert not np.array_equal(target.hidden.weight.numpy(), state["hidden.weight"])


def test_load_state_dict_names_every_problem():
    model = TwoLayer()
    state = model.state_dict()
    state["hidden.weight"] = np.zeros((2, 2), np.float32)
    state["extra.weight"] = np.zeros(1, np.float32)
    del state["out.bias"]
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert 'Missing key(s) in state_dict: "out.bias"' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in message
    assert "size mismatch for hidden.weight" in message and "(8, 4)" in message
    del state["hidden.weight"]
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["hidden.weight", "out.bias"]
    assert result.unexpected_keys == ["extra.weight"]


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_a_0d_buffer_keeps_its_shape_through_state_dict_save_and_load(tmp_path, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    source, target = nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    source.train()
    source(tg.randn(4, 3, 2, 2))
    assert source.num_batches_tracked.shape == ()
    tg.save(source.state_dict(), tmp_path / f"bn{suffix}")
    loaded = tg.load(tmp_path / f"bn{suffix}")
    assert loaded["num_batches_tracked"].shape == ()
    target.load_state_dict(loaded)
    assert target.num_batches_tracked.shape == ()
    assert int(target.num_batches_tracked.item()) == 1
    tg.save({"model": source.state_dict(), "epoch": 1}, tmp_path / f"checkpoint{suffix}")
    nested = tg.load(tmp_path / f"checkpoint{suffix}")  # a checkpoint takes the other path
    assert nested["model"]["num_batches_tracked"].shape == ()


def test_calling_a_module_without_forward_is_a_clear_type_error():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 2)

    holder = Holder()  # a module that only holds layers is fine until it is called
    assert len(list(holder.parameters())) == 2
    with pytest.raises(TypeError, match="Holder cannot be called: it defines no forward"):
        holder(tg.ones(1, 2))
    with pytest.raises(TypeError, match="ModuleList cannot be called"):
        nn.ModuleList([nn.Linear(2, 2)])(tg.ones(1, 2))


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    model.eval()
    assert not any(m.training for m in model.modules())
    x = tg.ones(4, 2)
    assert np.array_equal(model[1](x).numpy(), x.numpy())
    model.train()
    assert all(m.training for m in model.modules())


def test_requires_grad_false_freezes_a_layer():
    model = TwoLayer()
    model.hidden.requires_grad_(False)
    model(tg.ones(2, 4)).sum().backward()
    assert model.hidden.weight.grad is None and model.out.weight.grad is not None
    model.zero_grad()
    assert model.out.weight.grad is None
    assert model.num_parameters(trainable_only=True) == 8 * 3 + 3


def test_to_keeps_parameter_identity():
    model = TwoLayer()
    weight = model.hidden.weight
    assert model.to("cpu") is model and model.hidden.weight is weight


def test_containers_index_and_register():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and len(seq[1:]) == 2 and len(seq) == 3
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    assert [name for name, _ in layers.named_children()] == ["0", "1", "2", "3"]


def test_forward_hooks_see_outputs_and_can_be_removed():
    model = TwoLayer()
    seen = []
    handle = model.hidden.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model(tg.ones(5, 4))
    handle.remove()
    model(tg.ones(5, 4))
    assert seen == [(5, 8)]


@pytest.mark.parametrize("layer,fan_in", [(nn.Linear(50, 20), 50),
                                          (nn.Conv2d(6, 16, 5), 150),
                                          (nn.Conv2d(8, 4, 3, groups=2), 36),
                                          (nn.Conv1d(3, 5, 7), 21)])
def test_default_init_is_pytorch_kaiming_uniform(layer, fan_in):
    bound = 1.0 / math.sqrt(fan_in)
    weight, bias = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.2 * bound


def test_init_is_reproducible_under_manual_seed():
    tg.manual_seed(3)
    first = LeNet5().state_dict()
    tg.manual_seed(3)
    second = LeNet5().state_dict()
    assert all(np.array_equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("init_fn", [nn.init.kaiming_uniform_, nn.init.kaiming_normal_])
def test_kaiming_init_refuses_unknown_mode_and_nonlinearity_strings(init_fn):
    weight = tg.zeros(4, 3)
    with pytest.raises(ValueError, match="mode 'fanin' is not supported.*fan_in, fan_out"):
        init_fn(weight, mode="fanin")
    with pytest.raises(ValueError, match="nonlinearity 'Relu' is not supported.*leaky_relu"):
        init_fn(weight, nonlinearity="Relu")
    assert np.all(weight.numpy() == 0)  # refused before anything was drawn
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        nn.init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True is not a number"):
        nn.init.calculate_gain("leaky_relu", True)


def test_calculate_gain_matches_torch_for_every_nonlinearity():
    torch = torch_or_skip()
    for name in nn.init.NONLINEARITIES:
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.2))


def copy_weights_to_torch(ours, theirs):
    import torch

    with torch.no_grad():
        for name, value in ours.state_dict().items():
            theirs.state_dict()[name].copy_(torch.from_numpy(value))


@pytest.mark.torch
def test_lenet5_matches_an_equivalent_torch_model():
    torch = torch_or_skip()
    tnn = torch.nn
    ours = LeNet5()
    theirs = tnn.Sequential()
    theirs.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(),
                                     tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
                                     tnn.MaxPool2d(2))
    theirs.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(),
                                       tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_weights_to_torch(ours, theirs)
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    conv_line = "(0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert conv_line in repr(ours) and conv_line in repr(theirs)
    assert "(1): Linear(in_features=400, out_features=120, bias=True)" in repr(ours)


@pytest.mark.torch
@pytest.mark.parametrize("make_ours,make_theirs,shape", [
    (lambda nn: nn.MaxPool2d(2), lambda t: t.MaxPool2d(2), (2, 3, 6, 6)),
    (lambda nn: nn.MaxPool2d(3, 2, 1), lambda t: t.MaxPool2d(3, 2, 1), (2, 3, 7, 7)),
    (lambda nn: nn.AvgPool2d(2), lambda t: t.AvgPool2d(2), (2, 3, 6, 6)),
    (lambda nn: nn.AdaptiveAvgPool2d(1), lambda t: t.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    (lambda nn: nn.MaxPool1d(2), lambda t: t.MaxPool1d(2), (2, 3, 8)),
    (lambda nn: nn.AvgPool1d(3, 2), lambda t: t.AvgPool1d(3, 2), (2, 3, 9)),
    (lambda nn: nn.LeakyReLU(0.2), lambda t: t.LeakyReLU(0.2), (4, 5)),
    (lambda nn: nn.ELU(), lambda t: t.ELU(), (4, 5)),
    (lambda nn: nn.GELU("tanh"), lambda t: t.GELU("tanh"), (4, 5)),
    (lambda nn: nn.SiLU(), lambda t: t.SiLU(), (4, 5)),
    (lambda nn: nn.Sigmoid(), lambda t: t.Sigmoid(), (4, 5)),
    (lambda nn: nn.Tanh(), lambda t: t.Tanh(), (4, 5)),
    (lambda nn: nn.Softmax(1), lambda t: t.Softmax(1), (4, 5)),
    (lambda nn: nn.LogSoftmax(1), lambda t: t.LogSoftmax(1), (4, 5)),
    (lambda nn: nn.Flatten(), lambda t: t.Flatten(), (2, 3, 4)),
    (lambda nn: nn.LayerNorm(5), lambda t: t.LayerNorm(5), (4, 5)),
])
def test_parameter_free_and_simple_layers_match_torch(make_ours, make_theirs, shape):
    torch = torch_or_skip()
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ours, theirs = make_ours(nn), make_theirs(torch.nn)
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5,
                               rtol=1e-5)


@pytest.mark.torch
def test_sum_pool_is_avg_pool_times_the_window():
    x = tg.tensor(np.random.default_rng(2).random((1, 2, 4, 4), dtype=np.float32))
    np.testing.assert_allclose(nn.SumPool2d(2)(x).numpy(), 4 * nn.AvgPool2d(2)(x).numpy(),
                               rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_running_statistics_match_torch(momentum):
    torch = torch_or_skip()
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3,
                                                                           momentum=momentum)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 1
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                                   theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value, theirs.state_dict()[name].numpy(), rtol=1e-5,
                                   err_msg=name)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_batchnorm_checks_the_input():
    with pytest.raises(ValueError, match="BatchNorm2d: expected a 4-d input"):
        nn.BatchNorm2d(3)(tg.ones(2, 3))
    with pytest.raises(ValueError, match="input has 4 channels"):
        nn.BatchNorm1d(3)(tg.ones(2, 4))


@pytest.mark.torch
def test_loss_modules_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    other = rng.random((6, 4)).astype(np.float32)
    for ours, theirs, target in [
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), labels),
        (nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(
            label_smoothing=0.1), labels),
        (nn.NLLLoss(), torch.nn.NLLLoss(), labels),
        (nn.MSELoss(), torch.nn.MSELoss(), other),
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), other),
        (nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), other),
    ]:
        value = ours(tg.tensor(logits), tg.tensor(target)).item()
        expected = theirs(torch.from_numpy(logits), torch.from_numpy(target)).item()
        assert math.isclose(value, expected, rel_tol=1e-5), type(ours).__name__


def test_conv_same_padding_keeps_the_size():
    conv = nn.Conv2d(2, 4, 3, padding="same")
    assert conv.padding == "same"  # kept as given, as PyTorch; F.conv2d computes the widths
    assert conv(tg.ones(1, 2, 7, 9)).shape == (1, 4, 7, 9)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize("size", [8, 12, 16, 28, 32])
def test_lenet5_accepts_small_and_large_inputs(size):
    model = get_model("lenet5", input_size=size, dropout=0.2)
    assert model(tg.ones(2, 1, size, size)).shape == (2, 10)


def test_summary_lists_layers_and_totals():
    lines = []
    table = nn.summary(LeNet5(), (1, 28, 28), print_fn=lines.append)
    assert lines == [table]
    assert "features.0 (Conv2d)" in table and "[-1, 6, 28, 28]" in table
    assert "[-1, 16, 10, 10]" in table and "[-1, 400]" in table
    assert "Total params: 61,706" in table


def test_summary_leaves_batchnorm_statistics_alone():
    model = FashionCNN(width=4)
    before = model.state_dict()
    tg.summary(model, (1, 28, 28), print_fn=None)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert model.training


def test_summary_of_a_model_without_children_has_the_model_as_its_row():
    class Scale(nn.Module):  # a layer of one's own: no children, no parameters
        def forward(self, x):
            return x * 2.0

    table = tg.summary(nn.Linear(4, 3), (4,), print_fn=None)
    assert "Linear" in table and "[-1, 3]" in table and "Total params: 15" in table
    table = tg.summary(Scale(), (2, 5), print_fn=None)
    assert "Scale" in table and "[-1, 2, 5]" in table and "Total params: 0" in table


def test_get_model_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown model 'resnet'.*lenet5"):
        get_model("resnet")
