"""The PyTorch-shaped Tensor surface: methods, creation functions, dtypes, devices, grad
modes and the in-place family, with PyTorch as the oracle wherever numbers come out."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, torch_or_skip

import tinygradcnn as tg

RNG = np.random.default_rng(1)


# -- the lines the ported PyTorch programs use ---------------------------------------------
def test_mnist_example_accuracy_line_runs_as_in_pytorch():
    output = tg.tensor(RNG.standard_normal((6, 10)).astype(np.float32))
    target = tg.tensor([1, 2, 3, 4, 5, 6])
    pred = output.argmax(dim=1, keepdim=True)
    correct = pred.eq(target.view_as(pred)).sum().item()
    expected = int((output.numpy().argmax(1) == target.numpy()).sum())
    assert correct == expected and isinstance(correct, int)
    assert (output.argmax(1) == target).type(tg.float).sum().item() == float(expected)


def test_view_reshape_expand_as_take_the_other_tensors_shape():
    x, other = tg.arange(6), tg.zeros(2, 3)
    assert x.view_as(other).shape == x.reshape_as(other).shape == (2, 3)
    assert tg.ones(3).expand_as(other).shape == (2, 3)


def test_clone_is_a_differentiable_copy():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert y.grad_fn is not None and not np.shares_memory(y.numpy(), x.numpy())
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with tg.no_grad():
        y.add_(1)  # a clone is a tensor of its own: writing it leaves x alone
    assert x.tolist() == [1.0, 2.0]
    assert tg.clone(x).tolist() == [1.0, 2.0]


def test_transposes_t_T_mT():
    torch = torch_or_skip()
    a = RNG.standard_normal((2, 3, 4))
    m = tg.tensor(a[0])
    np.testing.assert_array_equal(m.t().numpy(), torch.from_numpy(a[0]).t().numpy())
    np.testing.assert_array_equal(tg.tensor(a).mT.numpy(), torch.from_numpy(a).mT.numpy())
    assert m.T.shape == (4, 3) and tg.arange(3).t().shape == (3,) and tg.t(m).shape == (4, 3)
    with pytest.raises(ValueError, match="t: expects a tensor with at most 2 dimensions"):
        tg.tensor(a).t()
    check_gradients(lambda t: t.t() * 2, a[0])


def test_size_numel_dim():
    x = tg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.size(1) == 3
    assert x.numel() == tg.numel(x) == 24 and x.dim() == 3
    with pytest.raises(IndexError, match="size: dim 3 out of range for a tensor with 3"):
        x.size(3)


def test_max_min_along_a_dim_are_named_values_and_indices():
    torch = torch_or_skip()
    a = RNG.standard_normal((3, 5)).astype(np.float32)
    ours, theirs = tg.tensor(a).max(1, keepdim=True), torch.from_numpy(a).max(1, keepdim=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    values, indices = tg.tensor(a).min(0)
    np.testing.assert_array_equal(indices.numpy(), a.argmin(0))
    b = tg.zeros(5)
    np.testing.assert_array_equal(tg.tensor(a).max(b).numpy(), np.maximum(a, 0))
    np.testing.assert_array_equal(tg.min(tg.tensor(a), b).numpy(), np.minimum(a, 0))


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods_and_functions(name):
    torch = torch_or_skip()
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    expected = getattr(torch.from_numpy(a), name)(torch.from_numpy(b)).numpy()
    ours = getattr(tg.tensor(a), name)(tg.tensor(b))
    assert ours.dtype == np.bool_
    np.testing.assert_array_equal(ours.numpy(), expected)
    np.testing.assert_array_equal(getattr(tg, name)(tg.tensor(a), 2.0).numpy(), expected)


# -- clamp, masked_fill, std/var --------------------------------------------------------------
def test_clamp_and_clip_with_number_and_tensor_bounds():
    torch = torch_or_skip()
    a = RNG.standard_normal((3, 4))
    low, high = np.full((4,), -0.5), np.full((3, 1), 0.5)
    compare_with_torch(lambda t: t.clamp(min=-0.3, max=0.4), lambda t: t.clamp(min=-0.3, max=0.4),
                       a, dtype=np.float64)
    compare_with_torch(lambda t, lo, hi: tg.clip(t, lo, hi),
                       lambda t, lo, hi: torch.clip(t, lo, hi), a, low, high, dtype=np.float64)
    assert tg.tensor([-1.0, 2.0]).clip(max=0).tolist() == [-1.0, 0.0]


def test_masked_fill_fills_and_passes_the_gradient_elsewhere():
    a = RNG.standard_normal((2, 3))
    mask = np.array([True, False, True])
    compare_with_torch(lambda t, m: t.masked_fill(m, -1.5),
                       lambda t, m: t.masked_fill(m.bool(), -1.5), a, mask, dtype=np.float64)
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor"):
        tg.tensor(a).masked_fill(tg.tensor([1, 0, 1]), 0.0)
    assert tg.masked_fill(tg.zeros(2), tg.tensor([True, False]), 3.0).tolist() == [3.0, 0.0]


@pytest.mark.parametrize("args, kwargs", [
    ((), {}), ((), {"correction": 0}), ((), {"unbiased": False}), ((), {"dim": 1}),
    ((), {"dim": 0, "keepdim": True, "correction": 2}),
    ((1, False), {}), ((0, True, True), {}), ((False,), {}),  # PyTorch's positional unbiased
])
def test_std_var_follow_torch(args, kwargs):
    torch = torch_or_skip()
    a = RNG.standard_normal((4, 5))
    for name in ("std", "var"):
        compare_with_torch(lambda t, n=name: getattr(t, n)(*args, **kwargs),
                           lambda t, n=name: getattr(t, n)(*args, **kwargs), a, dtype=np.float64)
        compare_with_torch(lambda t, n=name: getattr(tg, n)(t, *args, **kwargs),
                           lambda t, n=name: getattr(torch, n)(t, *args, **kwargs), a,
                           dtype=np.float64)


def test_any_all():
    torch = torch_or_skip()
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    for dim in (None, 0, 1):
        for name in ("any", "all"):
            kwargs = {} if dim is None else {"dim": dim}
            ours = getattr(tg.tensor(a), name)(**kwargs)
            theirs = getattr(torch.from_numpy(a), name)(**kwargs)
            assert ours.dtype == np.bool_
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert tg.any(tg.tensor([False, True])).item() and not tg.all(tg.tensor([False, True])).item()


# -- rearranging ----------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_flip_roll_repeat_match_torch_and_have_gradients(device):
    torch = torch_or_skip()
    a = RNG.standard_normal((2, 3, 2))
    cases = [
        (lambda t: t.flip(1), lambda t: t.flip(1)),
        (lambda t: tg.flip(t, (0, 2)), lambda t: torch.flip(t, (0, 2))),
        (lambda t: t.roll(1, 1), lambda t: t.roll(1, 1)),
        (lambda t: tg.roll(t, (2, -1), (0, 2)), lambda t: torch.roll(t, (2, -1), (0, 2))),
        (lambda t: t.roll(4), lambda t: t.roll(4)),
        (lambda t: t.repeat(2, 1, 3), lambda t: t.repeat(2, 1, 3)),
        (lambda t: t.repeat(2, 1, 1, 2), lambda t: t.repeat(2, 1, 1, 2)),
    ]
    for ours, theirs in cases:
        compare_with_torch(ours, theirs, a, device=device, dtype=np.float64)


@pytest.mark.parametrize("how", [2, 3, 4, [1, 3], [0, 4, 0]])
def test_split_matches_torch(how):
    torch = torch_or_skip()
    a = RNG.standard_normal((4, 3))
    ours, theirs = tg.tensor(a).split(how), torch.from_numpy(a).split(how)
    assert len(ours) == len(theirs)
    for x, y in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    with pytest.raises(ValueError, match="split: sizes \\[1, 1\\] must be non-negative and add"):
        tg.split(tg.tensor(a), [1, 1])


@pytest.mark.parametrize("chunks", [1, 2, 3, 5])
def test_chunk_matches_torch_and_pieces_carry_gradients(chunks):
    torch = torch_or_skip()
    a = RNG.standard_normal((3, 5))
    ours, theirs = tg.chunk(tg.tensor(a), chunks, 1), torch.chunk(torch.from_numpy(a), chunks, 1)
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    check_gradients(lambda t: t.chunk(chunks, 1)[-1] * 2, a)


# -- dtypes, conversions, tolist ------------------------------------------------------------
def test_dtype_aliases_are_pytorchs():
    assert tg.float is tg.float32 and tg.double is tg.float64
    assert tg.long is tg.int64 and tg.int is tg.int32 and tg.bool is tg.bool_
    assert tg.zeros(2, dtype=tg.long).dtype == np.int64
    assert tg.tensor([1, 2], dtype=tg.uint8).dtype == np.uint8


def test_conversions_and_type_names():
    x = tg.tensor([1.7, -0.2, 0.0])
    assert x.int().dtype == np.int32 and x.int().tolist() == [1, 0, 0]
    assert x.bool().tolist() == [True, True, False] and x.long().dtype == np.int64
    assert x.double().dtype == np.float64 and x.long().float().dtype == np.float32
    assert x.type() == "tinygradcnn.FloatTensor" and x.long().type() == "tinygradcnn.LongTensor"
    assert x.type(tg.double).dtype == np.float64
    assert x.type("torch.LongTensor").dtype == np.int64
    assert x.float() is x  # no copy when nothing changes, as in PyTorch
    assert tg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]


def test_double_gradients_pass_through_conversions():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 2.0]


# -- creation -------------------------------------------------------------------------------
def test_linspace_logspace_eye_match_torch():
    torch = torch_or_skip()
    np.testing.assert_allclose(tg.linspace(-1, 2, 7).numpy(), torch.linspace(-1, 2, 7).numpy(),
                               rtol=1e-6, atol=1e-7)
    assert tg.linspace(0, 1, 5).dtype == np.float32 and tg.linspace(0, 1, 1).tolist() == [0.0]
    np.testing.assert_allclose(tg.logspace(0, 3, 4).numpy(), torch.logspace(0, 3, 4).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(tg.logspace(0, 3, 4, base=2).numpy(), [1, 2, 4, 8])
    np.testing.assert_array_equal(tg.eye(3).numpy(), torch.eye(3).numpy())
    np.testing.assert_array_equal(tg.eye(2, 4, dtype=tg.long).numpy(), torch.eye(2, 4).numpy())
    assert tg.eye(2, requires_grad=True).requires_grad


@pytest.mark.parametrize("device", DEVICES)
def test_like_functions_keep_shape_dtype_and_device(device):
    x = tg.zeros(2, 3, dtype=tg.double, device=device)
    for made in (tg.zeros_like(x), tg.ones_like(x), tg.full_like(x, 7), tg.rand_like(x),
                 tg.randn_like(x), tg.empty_like(x)):
        assert made.shape == (2, 3) and made.dtype == np.float64 and made.device == device
    assert tg.full_like(x, 2, dtype=tg.long).dtype == np.int64
    assert tg.zeros_like(x, device="cpu").device == "cpu"
    assert tg.rand_like(x, requires_grad=True).requires_grad


def test_randint_forms_and_range():
    tg.manual_seed(0)
    draws = tg.randint(-3, 2, (2000,))
    assert draws.dtype == np.int64 and sorted(set(draws.tolist())) == [-3, -2, -1, 0, 1]
    assert tg.randint(5, (3, 4)).shape == (3, 4) and tg.randint(5, (3,)).numpy().max() < 5
    assert tg.randint(0, 10, (2,), dtype=tg.int32).dtype == np.int32
    with pytest.raises(ValueError, match="randint: low 3 must be below high 3"):
        tg.randint(3, 3, (2,))


def test_empty_has_the_shape_asked_for():
    assert tg.empty(2, 3).shape == tg.empty((2, 3)).shape == (2, 3)
    assert tg.empty(4, dtype=tg.long).dtype == np.int64


# -- devices and grad modes -----------------------------------------------------------------
def test_device_objects_behave_like_torch_device():
    cpu = tg.device("cpu")
    assert cpu == "cpu" and cpu.type == "cpu" and cpu.index is None and str(cpu) == "cpu"
    assert repr(cpu) == "device(type='cpu')"
    cuda0 = tg.device("cuda", 0)
    assert cuda0 == tg.device("cuda:0") == "cuda:0" and cuda0.index == 0
    assert repr(cuda0) == "device(type='cuda', index=0)"
    assert tg.device(cpu) is cpu
    x = tg.zeros(2, device=cpu).to(cpu)
    assert x.device == "cpu" and x.device.type == "cpu" and tg.ones(1).device == x.device
    with pytest.raises(ValueError, match="device: unknown device 'tpu'"):
        tg.device("tpu")
    with pytest.raises(TypeError, match="device: expected a device name"):
        tg.device(3)


@pytest.mark.skipif("cuda" not in DEVICES, reason="no GPU and no CUDA simulator")
def test_a_cuda_device_object_moves_tensors():
    device = tg.device("cuda" if tg.cuda.is_available() else "cpu")
    x = tg.ones(2).to(device)
    assert x.device == device and x.device.type == "cuda"
    assert x.cpu().device == "cpu" and x.cpu().cuda().device == "cuda"
    assert tg.zeros(2, device=tg.device("cuda", 0)).device == "cuda"


def test_set_grad_enabled_as_function_and_context():
    x = tg.ones(2, requires_grad=True)
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad and not tg.is_grad_enabled()
    assert (x * 2).requires_grad
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    with tg.no_grad(), tg.set_grad_enabled(True):
        assert (x * 2).requires_grad


def test_inference_mode_as_context_and_decorator():
    x = tg.ones(2, requires_grad=True)
    with tg.inference_mode():
        assert not (x * 2).requires_grad

    @tg.inference_mode()
    def called():
        return (x * 2).requires_grad

    @tg.inference_mode
    def bare():
        return (x * 2).requires_grad

    assert not called() and not bare() and tg.is_grad_enabled()
    with tg.inference_mode(False):
        assert (x * 2).requires_grad


def test_is_tensor():
    assert tg.is_tensor(tg.zeros(1)) and tg.is_tensor(tg.nn.Parameter(tg.zeros(1)))
    assert not tg.is_tensor(np.zeros(1)) and not tg.is_tensor([1.0])


# -- the in-place family --------------------------------------------------------------------
def test_inplace_family_matches_torch():
    torch = torch_or_skip()
    a = RNG.standard_normal((2, 3)).astype(np.float32)
    b = RNG.standard_normal((3,)).astype(np.float32)
    cases = [
        lambda t, u: t.add_(u, alpha=2.5), lambda t, u: t.sub_(u, alpha=0.5),
        lambda t, u: t.mul_(u), lambda t, u: t.div_(2.0), lambda t, u: t.clamp_(-0.2, 0.3),
        lambda t, u: t.clamp_(min=0), lambda t, u: t.clip_(max=u),
        lambda t, u: t.masked_fill_(t > 0, 9.0), lambda t, u: t.zero_(),
        lambda t, u: t.fill_(4.0), lambda t, u: t.copy_(u),
    ]
    for case in cases:
        ours, theirs = tg.tensor(a), torch.from_numpy(a.copy())
        # a bound tensor has to travel as a torch tensor for torch (clip_ max)
        result = case(ours, tg.tensor(b))
        case(theirs, torch.from_numpy(b))
        assert result is ours and ours._version == 1
        # atol: sub_(u, alpha) rounds alpha * u and then the difference, so a float32 ulp
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_random_inplace_fills_are_seeded_and_in_range(device):
    x = tg.zeros(4000, device=device)
    tg.manual_seed(2)
    x.uniform_(-2, 3)
    values = x.numpy()
    assert values.min() >= -2 and values.max() < 3 and abs(values.mean() - 0.5) < 0.1
    tg.manual_seed(2)
    np.testing.assert_array_equal(tg.zeros(4000, device=device).uniform_(-2, 3).numpy(), values)
    assert tg.zeros(3).uniform_(**{"from": 5, "to": 6}).numpy().min() >= 5
    normal = tg.zeros(4000, device=device).normal_(mean=1.0, std=0.5).numpy()
    assert abs(normal.mean() - 1.0) < 0.05 and abs(normal.std() - 0.5) < 0.05
    assert x._version == 1


@pytest.mark.parametrize("method", [
    lambda t: t.add_(1.0, alpha=2), lambda t: t.clamp_(0, 1), lambda t: t.normal_(),
    lambda t: t.uniform_(), lambda t: t.masked_fill_(tg.tensor([True, False]), 0.0),
    lambda t: t.sub_(1.0),
])
def test_inplace_methods_refuse_a_leaf_that_requires_grad_and_bump_versions(method):
    leaf = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad is used in an"):
        method(leaf)
    with tg.no_grad():
        method(leaf)  # allowed for initialisation, as in PyTorch
    assert leaf._version == 1
    # writing what the graph saved is caught at backward, never a silently wrong gradient
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = y * y
    method(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_clamp_inplace_on_an_integer_tensor_keeps_its_dtype():
    x = tg.tensor([-3, 0, 5])
    x.clamp_(0, 2)
    assert x.dtype == np.int64 and x.tolist() == [0, 0, 2]

