"""The PyTorch-shaped nn surface: containers, Module's tree methods, module and tensor hooks,
Unflatten and Softmax's implicit dim, each against the same lines in PyTorch."""

import warnings
from collections import OrderedDict

import numpy as np
import pytest
from helpers import torch_or_skip

import tinygradcnn as tg
from tinygradcnn import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.bn1 = nn.BatchNorm2d(2)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(Block(), Block())
        self.heads = nn.ModuleDict({"cls": nn.Linear(2, 3), "box": nn.Linear(2, 4)})
        self.scales = nn.ParameterList([nn.Parameter(tg.ones(2)), tg.zeros(3)])
        self.extra = nn.ParameterDict({"b": tg.ones(1), "a": nn.Parameter(tg.zeros(2, 2))})


def _torch_net(torch):
    tnn = torch.nn

    class TBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(1, 2, 3)
            self.bn1 = tnn.BatchNorm2d(2)

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = tnn.Sequential(TBlock(), TBlock())
            self.heads = tnn.ModuleDict({"cls": tnn.Linear(2, 3), "box": tnn.Linear(2, 4)})
            self.scales = tnn.ParameterList([tnn.Parameter(torch.ones(2)), torch.zeros(3)])
            self.extra = tnn.ParameterDict({"b": torch.ones(1),
                                            "a": tnn.Parameter(torch.zeros(2, 2))})

    return TNet()


# -- containers ------------------------------------------------------------------------------

def test_containers_give_torchs_state_dict_keys_and_parameter_order():
    torch = torch_or_skip()
    ours, theirs = Net(), _torch_net(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [tuple(p.shape) for p in ours.parameters()] == [
        tuple(p.shape) for p in theirs.parameters()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def test_module_dict_behaves_like_a_dict_of_registered_modules():
    heads = nn.ModuleDict([("b", nn.ReLU()), ("a", nn.Linear(2, 2))])
    assert list(heads) == list(heads.keys()) == ["b", "a"]  # order kept, never sorted
    assert isinstance(heads["a"], nn.Linear) and "a" in heads and len(heads) == 2
    heads["c"] = nn.Linear(2, 1)
    heads.update({"b": nn.Tanh()})
    assert [type(m).__name__ for m in heads.values()] == ["Tanh", "Linear", "Linear"]
    assert [k for k, _ in heads.items()] == ["b", "a", "c"]
    assert isinstance(heads.pop("a"), nn.Linear)
    assert list(heads.state_dict()) == ["c.weight", "c.bias"]
    del heads["c"]
    assert len(list(heads.parameters())) == 0
    with pytest.raises(KeyError):
        heads["missing"]  # noqa: B018
    with pytest.raises(TypeError, match="keys must be strings"):
        heads[0] = nn.ReLU()
    with pytest.raises(TypeError, match="ModuleDict cannot be called"):
        heads(tg.zeros(1))
    heads.clear()
    assert len(heads) == 0


def test_module_dict_repr_matches_torch():
    torch = torch_or_skip()
    ours = nn.ModuleDict({"act": nn.ReLU(), "fc": nn.Linear(2, 3)})
    theirs = torch.nn.ModuleDict({"act": torch.nn.ReLU(), "fc": torch.nn.Linear(2, 3)})
    assert repr(ours) == repr(theirs)


def test_parameter_list_wraps_tensors_indexes_and_extends_like_torch():
    torch = torch_or_skip()
    ours = nn.ParameterList([tg.ones(2, 3)])
    theirs = torch.nn.ParameterList([torch.ones(2, 3)])
    ours.append(tg.zeros(4))
    theirs.append(torch.zeros(4))
    ours += [nn.Parameter(tg.zeros(1))]
    theirs += [torch.nn.Parameter(torch.zeros(1))]
    assert isinstance(ours[0], nn.Parameter) and ours[0].requires_grad
    assert ours[-1].shape == (1,) and len(ours) == 3
    assert [p.shape for p in ours[1:]] == [(4,), (1,)]
    assert isinstance(ours[1:], nn.ParameterList)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1", "2"]
    replacement = nn.Parameter(tg.ones(5))
    ours[1] = replacement
    assert ours[1] is replacement and list(ours.parameters())[1] is replacement
    # PyTorch prints torch.float32 where we print float32; the layout is the same
    assert repr(ours).replace("float32", "torch.float32").replace("size 5", "size 4") == repr(
        theirs)
    with pytest.raises(IndexError, match="out of range"):
        ours[3]  # noqa: B018


def test_parameter_dict_sorts_a_plain_dict_as_torch_does():
    torch = torch_or_skip()
    ours = nn.ParameterDict({"b": tg.ones(1), "a": tg.zeros(2, 2)})
    theirs = torch.nn.ParameterDict({"b": torch.ones(1), "a": torch.zeros(2, 2)})
    assert list(ours) == list(theirs) == ["a", "b"]
    assert list(nn.ParameterDict([("b", tg.ones(1)), ("a", tg.ones(1))])) == ["b", "a"]
    ours.update(OrderedDict([("z", tg.ones(3)), ("c", tg.ones(3))]))
    theirs.update(OrderedDict([("z", torch.ones(3)), ("c", torch.ones(3))]))
    assert list(ours.keys()) == list(theirs.keys())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).replace("float32", "torch.FloatTensor") == repr(theirs)
    assert isinstance(ours["a"], nn.Parameter) and ours.get("nope") is None
    assert ours.pop("z").shape == (3,) and "z" not in ours
    assert ours.setdefault("d", tg.ones(2)).shape == (2,)
    assert ours.popitem()[0] == "d"
    copy = ours.copy()
    assert copy["a"] is ours["a"]
    assert [v.shape for v in ours.values()] == [(2, 2), (1,), (3,)]
    with pytest.raises(KeyError):
        ours["missing"]  # noqa: B018


def test_containers_move_with_the_model_and_train_with_an_optimizer():
    model = Net()
    before = model.scales[1].numpy().copy()
    loss = (model.scales[1] * 2.0).sum() + model.extra["a"].sum()
    loss.backward()
    tg.optim.SGD(model.parameters(), lr=0.5).step()
    np.testing.assert_allclose(model.scales[1].numpy(), before - 1.0)
    np.testing.assert_allclose(model.extra["a"].numpy(), -0.5 * np.ones((2, 2)))


# -- Module tree methods ----------------------------------------------------------------------

def test_named_modules_and_buffers_match_torch_including_prefix_and_duplicates():
    torch = torch_or_skip()
    ours, theirs = Net(), _torch_net(torch)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_modules(prefix="net")] == [
        n for n, _ in theirs.named_modules(prefix="net")]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_buffers(prefix="m", recurse=True)] == [
        n for n, _ in theirs.named_buffers(prefix="m", recurse=True)]
    assert [n for n, _ in ours.named_parameters("p", False)] == [
        n for n, _ in theirs.named_parameters("p", False)]
    assert len(list(ours.buffers())) == len(list(theirs.buffers()))
    shared = nn.Linear(2, 2)
    tshared = torch.nn.Linear(2, 2)
    ours, theirs = nn.Sequential(shared, shared), torch.nn.Sequential(tshared, tshared)
    for remove in (True, False):
        assert [n for n, _ in ours.named_modules(remove_duplicate=remove)] == [
            n for n, _ in theirs.named_modules(remove_duplicate=remove)]
        assert [n for n, _ in ours.named_parameters(remove_duplicate=remove)] == [
            n for n, _ in theirs.named_parameters(remove_duplicate=remove)]
    assert len(list(ours.children())) == len(list(theirs.children())) == 1


def test_get_submodule_and_get_parameter_follow_dotted_paths():
    model = Net()
    assert model.get_submodule("layer1.0.conv1") is model.layer1[0].conv1
    assert model.get_submodule("") is model
    assert model.get_parameter("layer1.1.bn1.bias") is model.layer1[1].bn1.bias
    assert model.get_parameter("scales.0") is model.scales[0]
    assert model.get_buffer("layer1.0.bn1.running_mean") is model.layer1[0].bn1.running_mean
    with pytest.raises(AttributeError, match="Block 'layer1.0' has no submodule 'conv9'"):
        model.get_submodule("layer1.0.conv9.weight")
    with pytest.raises(AttributeError, match="Conv2d 'layer1.0.conv1' has no parameter 'w'"):
        model.get_parameter("layer1.0.conv1.w")
    with pytest.raises(AttributeError, match="has no buffer 'weight'"):
        model.get_buffer("layer1.0.conv1.weight")


def test_apply_visits_children_first_and_returns_self():
    torch = torch_or_skip()
    ours, theirs = Net(), _torch_net(torch)
    seen, tseen = [], []
    assert ours.apply(lambda m: seen.append(type(m).__name__)) is ours
    theirs.apply(lambda m: tseen.append(type(m).__name__))
    assert seen == [name.removeprefix("T") for name in tseen]

    def init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.5)

    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU()).apply(init_weights)
    np.testing.assert_array_equal(model[0].weight.numpy(), np.full((2, 2), 0.5, np.float32))


def test_train_calls_each_childs_own_train_and_modes_return_self():
    calls = []

    class Recording(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = nn.Sequential(nn.Linear(2, 2), Recording())
    assert model.eval() is model and calls == [False] and not model[0].training
    assert model.train() is model and calls == [False, True] and model[1].training
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="boolean"):
        model.train(1)


def test_zero_grad_sets_to_none_or_zeros_in_place():
    layer = nn.Linear(3, 2)
    layer(tg.ones(1, 3)).sum().backward()
    grad = layer.weight.grad
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is grad
    np.testing.assert_array_equal(grad.numpy(), np.zeros((2, 3), np.float32))
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None
    layer.zero_grad(set_to_none=False)  # no gradient yet: stays None, as in PyTorch
    assert layer.weight.grad is None


# -- module hooks -----------------------------------------------------------------------------

def test_forward_pre_hook_may_replace_the_arguments():
    layer = nn.Linear(2, 2)
    seen = []

    def double(module, args):
        seen.append((module, args[0].shape))
        return args[0] * 2.0  # a single value is wrapped into a tuple

    x = tg.tensor([[1.0, -1.0]])
    handle = layer.register_forward_pre_hook(double)
    np.testing.assert_allclose(layer(x).numpy(), layer.forward(x * 2.0).numpy())
    assert seen == [(layer, (1, 2))]
    handle.remove()
    np.testing.assert_allclose(layer(x).numpy(), layer.forward(x).numpy())
    assert len(seen) == 1


def test_hooks_run_in_torchs_order_with_prepend_kwargs_and_output_replacement():
    torch = torch_or_skip()
    logs = {"ours": [], "torch": []}

    def install(module, log):
        module.register_forward_pre_hook(lambda m, args: log.append("pre1"))
        module.register_forward_pre_hook(lambda m, args: log.append("pre0"), prepend=True)
        module.register_forward_pre_hook(
            lambda m, args, kwargs: (log.append(f"prekw{sorted(kwargs)}"), None)[1],
            with_kwargs=True)
        module.register_forward_hook(lambda m, args, out: log.append("post1"))
        module.register_forward_hook(
            lambda m, args, kwargs, out: (log.append("postkw"), out * 0.0)[1], with_kwargs=True)
        return module

    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    class TScale(torch.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    out = install(Scale(), logs["ours"])(tg.ones(2), factor=3.0)
    tout = install(TScale(), logs["torch"])(torch.ones(2), factor=3.0)
    assert logs["ours"] == logs["torch"]
    np.testing.assert_array_equal(out.numpy(), tout.numpy())


def test_handles_remove_once_and_work_as_context_managers():
    layer = nn.ReLU()
    calls = []
    with layer.register_forward_hook(lambda m, a, o: calls.append(1)):
        layer(tg.ones(1))
    layer(tg.ones(1))
    handle = layer.register_forward_pre_hook(lambda m, a: calls.append(2))
    handle.remove()
    handle.remove()
    layer(tg.ones(1))
    assert calls == [1]


# -- tensor hooks -----------------------------------------------------------------------------

def _hooked_graph(lib, tensor_fn, x0, w0, record):
    """A graph where the hooked leaf x is used twice and the hooked non-leaf h is retained."""
    x = tensor_fn(x0, requires_grad=True)
    w = tensor_fn(w0, requires_grad=True)
    x.register_hook(lambda g: record.append(("x", g.numpy().copy())))
    h = x * w
    h.retain_grad()
    h.register_hook(lambda g: g * 3.0)  # replaces the gradient flowing on
    h.register_hook(lambda g: record.append(("h", g.numpy().copy())))
    y = (h.exp() + x * x).sum()
    y.register_hook(lambda g: record.append(("y", g.numpy().copy())))
    y.backward()
    return x, w, h


def test_register_hook_gradients_are_torchs():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    ours, theirs = [], []
    x, w, h = _hooked_graph(tg, lambda a, requires_grad: tg.tensor(
        a, dtype=np.float64, requires_grad=requires_grad), x0, w0, ours)
    tx, tw, th = _hooked_graph(torch, lambda a, requires_grad: torch.tensor(
        a, requires_grad=requires_grad), x0, w0, theirs)
    assert [name for name, _ in ours] == [name for name, _ in theirs] == ["y", "h", "x"]
    for (_, a), (_, b) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in ((x, tx), (w, tw), (h, th)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_a_leaf_hook_sees_the_summed_gradient_once_and_can_replace_it():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def halve(grad):
        calls.append(grad.numpy().copy())
        return grad * 0.5

    handle = x.register_hook(halve)
    (x * 3.0 + x * 4.0).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [7.0, 7.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.5, 3.5])
    handle.remove()
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert len(calls) == 1


def test_a_hook_on_the_root_leaf_and_on_a_parameter():
    x = tg.tensor(2.0, requires_grad=True)
    x.register_hook(lambda g: g + 1.0)
    x.backward()
    assert x.grad.item() == 2.0
    layer = nn.Linear(2, 1)
    layer.weight.register_hook(lambda g: g * 0.0)
    layer(tg.ones(3, 2)).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.zeros((1, 2), np.float32))
    np.testing.assert_array_equal(layer.bias.grad.numpy(), [3.0])


def test_a_returned_gradient_is_never_shared_with_the_caller():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    kept = tg.tensor([5.0, 5.0])
    x.register_hook(lambda g: kept)
    (x * 2.0).sum().backward()
    x.grad.data[...] = 0.0
    np.testing.assert_array_equal(kept.numpy(), [5.0, 5.0])


def test_tensor_hook_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tg.ones(2).register_hook(lambda g: g)
    x = tg.ones(2, requires_grad=True)
    x.register_hook(lambda g: tg.ones(3))
    with pytest.raises(RuntimeError, match=r"changed the size .* expected \(2,\)"):
        (x * 2.0).sum().backward()
    y = tg.ones(2, requires_grad=True)
    y.register_hook(lambda g: tg.ones(2, dtype=np.float64))
    with pytest.raises(RuntimeError, match="changed the type"):
        (y * 2.0).sum().backward()


# -- layers -----------------------------------------------------------------------------------

def test_unflatten_matches_torch_and_inverts_flatten():
    torch = torch_or_skip()
    x = np.arange(2 * 12 * 3, dtype=np.float32).reshape(2, 12, 3)
    for dim, sizes in ((1, (3, 4)), (1, (2, -1, 3)), (-1, [3, 1]), (0, (1, 2))):
        ours = nn.Unflatten(dim, sizes)
        theirs = torch.nn.Unflatten(dim, sizes)
        np.testing.assert_array_equal(ours(tg.tensor(x)).numpy(),
                                      theirs(torch.tensor(x)).numpy())
        assert repr(ours) == repr(theirs)
    model = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (12, 3)))
    np.testing.assert_array_equal(model(tg.tensor(x)).numpy(), x)
    with pytest.raises(ValueError, match=r"don't multiply up to the size of dim 1 \(12\)"):
        nn.Unflatten(1, (5, 2))(tg.tensor(x))
    with pytest.raises(TypeError, match="tuple or list"):
        nn.Unflatten(1, 12)


def test_softmax_with_no_dim_warns_and_picks_torchs_implicit_dim():
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    for shape in ((4,), (2, 3), (2, 3, 4), (2, 3, 2, 2)):
        x = rng.standard_normal(shape).astype(np.float32)
        for ours, theirs in ((nn.Softmax(), torch.nn.Softmax()),
                             (nn.LogSoftmax(), torch.nn.LogSoftmax())):
            with pytest.warns(UserWarning, match="Implicit dimension choice"):
                out = ours(tg.tensor(x))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = theirs(torch.tensor(x)).numpy()
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
            assert repr(ours) == repr(theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Softmax(dim=1)(tg.ones(2, 3))


def test_to_casts_floating_parameters_and_buffers_only_and_keeps_the_objects():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    weight = model[0].weight
    model(tg.ones(2, 1, 5, 5)).sum().backward()
    assert model.double() is model and model[0].weight is weight
    assert weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    assert model(tg.ones(1, 1, 5, 5, dtype=np.float64)).dtype == np.float64
    assert model.to(np.float32)[0].weight.dtype == np.float32
    assert model.to("cpu", dtype=np.float64)[0].bias.dtype == np.float64
    assert model.float()[1].weight.dtype == np.float32
    with pytest.raises(TypeError, match="only floating-point dtypes"):
        model.to(np.int64)


def test_sequential_and_module_list_edit_and_renumber_like_torch():
    torch = torch_or_skip()
    tnn = torch.nn

    def edit(seq, lst, lib):
        seq.append(lib.Tanh()).insert(1, lib.Sigmoid())
        seq.extend([lib.ReLU()])
        del seq[0]
        seq[0] = lib.Identity()
        popped = seq.pop(1)
        lst += [lib.Linear(1, 1)]
        lst.insert(0, lib.Tanh())
        del lst[1:2]
        lst = lst + lib.ModuleList([lib.ReLU()])
        return [type(popped).__name__, *[(n, type(m).__name__) for n, m in seq.named_children()],
                *[(n, type(m).__name__) for n, m in lst.named_children()],
                list(lst.state_dict())]

    ours = edit(nn.Sequential(nn.Linear(2, 2), nn.ReLU()),
                nn.ModuleList([nn.Linear(2, 2), nn.ReLU()]), nn)
    theirs = edit(tnn.Sequential(tnn.Linear(2, 2), tnn.ReLU()),
                  tnn.ModuleList([tnn.Linear(2, 2), tnn.ReLU()]), tnn)
    assert ours == theirs
    with pytest.raises(IndexError, match="out of range"):
        nn.Sequential(nn.ReLU())[3] = nn.ReLU()


def test_registered_names_may_not_be_empty_or_dotted():
    module = nn.Module()
    with pytest.raises(KeyError, match="be empty or contain"):
        module.add_module("a.b", nn.ReLU())
    with pytest.raises(KeyError, match="be empty or contain"):
        module.register_parameter("", nn.Parameter(tg.ones(1)))
    with pytest.raises(KeyError, match="be empty or contain"):
        module.register_buffer("x.y", tg.ones(1))
    module.register_module("act", nn.ReLU())
    assert list(dict(module.named_children())) == ["act"]
