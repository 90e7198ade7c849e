"""Making tensors, dtypes, devices, random reproducibility, printing."""

import numpy as np
import pytest
from conftest import DEVICES

import tinygradcnn as tg


def test_default_dtypes_follow_pytorch():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32
    assert tg.tensor([1, 2]).dtype == np.int64
    assert tg.tensor(np.ones(2)).dtype == np.float64
    assert tg.zeros(2, 3).dtype == np.float32
    assert tg.arange(5).dtype == np.int64 and tg.arange(0.0, 1.0, 0.25).dtype == np.float32


def test_creation_functions_take_sizes_as_args_or_tuple():
    assert tg.zeros(2, 3).shape == tg.zeros((2, 3)).shape == (2, 3)
    assert tg.ones(4).numpy().tolist() == [1.0] * 4
    assert tg.full((2,), 7).numpy().tolist() == [7, 7]
    np.testing.assert_array_equal(tg.arange(1, 7, 2).numpy(), [1, 3, 5])
    x = tg.randn(3, 2)
    assert tg.zeros_like(x).shape == (3, 2) and tg.ones_like(x).dtype == np.float32


def test_non_contiguous_numpy_input_is_copied_to_contiguous():
    a = np.arange(12.0).reshape(3, 4)
    x = tg.tensor(a.T)
    np.testing.assert_array_equal(x.numpy(), a.T)
    assert x.numpy().flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(tg.tensor(a[:, ::2]).numpy(), a[:, ::2])


def test_from_numpy_shares_memory():
    a = np.zeros(3, dtype=np.float32)
    x = tg.from_numpy(a)
    a[0] = 5
    assert x.numpy()[0] == 5


@pytest.mark.parametrize("device", DEVICES)
def test_manual_seed_makes_random_ops_reproducible(device):
    tg.manual_seed(0)
    a, b = tg.rand(5, device=device).numpy(), tg.randn(5, device=device).numpy()
    tg.manual_seed(0)
    np.testing.assert_array_equal(tg.rand(5, device=device).numpy(), a)
    np.testing.assert_array_equal(tg.randn(5, device=device).numpy(), b)
    assert not np.array_equal(tg.rand(5, device=device).numpy(), a)


def test_random_distributions_have_the_right_moments():
    tg.manual_seed(1)
    u, n = tg.rand(100_000).numpy(), tg.randn(100_000).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1) < 0.02


def test_rng_state_round_trips():
    tg.manual_seed(3)
    state = tg.get_rng_state()
    a = tg.rand(4).numpy()
    tg.set_rng_state(state)
    np.testing.assert_array_equal(tg.rand(4).numpy(), a)


def test_item_detach_and_repr():
    x = tg.tensor([[1.5]], requires_grad=True)
    assert x.item() == 1.5 and isinstance(x.item(), float)
    assert not x.detach().requires_grad
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<Mul>" in repr(x * 2)
    with pytest.raises(ValueError, match="item: tensor has 2 elements, expected 1"):
        tg.ones(2).item()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        tg.tensor([1, 2], requires_grad=True)


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.ones(2, device="tpu")


def test_to_changes_dtype_and_keeps_gradient_flowing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(tg.float64) * 2
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_cuda_availability_answers_without_raising():
    assert tg.cuda.is_available() in (True, False)
    if not tg.cuda.is_available():
        with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
            tg.ones(2, device="cuda")


@pytest.mark.parametrize("device", [None, "gpu", "cuda:1", "cpu:3", 0])
def test_an_unknown_device_is_an_error_everywhere_never_cuda(device):
    from tinygradcnn.backend import kernels_for

    quoted = repr(device).replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=f"kernels_for: unknown device {quoted}"):
        kernels_for(device)
    with pytest.raises(ValueError, match=f"Tensor.to: unknown device '{device}'"):
        tg.ones(2).to(str(device))
    with pytest.raises(ValueError, match=f"DataLoader: unknown device {quoted}"):
        tg.data.DataLoader([(np.zeros(2), 0)], device=device)
    if device is not None:  # None means the default device, or no move (Module.to)
        with pytest.raises(ValueError, match=f"Sequential.to: unknown device {quoted}"):
            tg.nn.Sequential(tg.nn.Linear(2, 2)).to(device)
        with pytest.raises(ValueError, match=f"tensor: unknown device {quoted}"):
            tg.tensor([1.0], device=device)
        with pytest.raises(ValueError, match=f"randn: unknown device {quoted}"):
            tg.randn(2, device=device)


def test_device_none_means_the_default_where_pytorch_says_so():
    assert tg.tensor([1.0], device=None).device == "cpu"
    assert tg.zeros(2, device=None).device == "cpu"
    x = tg.ones(2)
    assert x.to(None) is x
    model = tg.nn.Linear(2, 2)
    assert model.to(None) is model and model.weight.device == "cpu"


def test_a_new_tensor_owns_its_storage():
    array = np.ones(3, np.float32)
    copied = tg.tensor(array)
    array[0] = 5.0
    assert copied.numpy()[0] == 1.0
    again = tg.Tensor(copied)
    copied.fill_(2.0)
    np.testing.assert_array_equal(again.numpy(), [1.0, 1.0, 1.0])


def test_tensor_methods_are_declared_in_the_class_body_with_docstrings():
    import inspect

    # declared in Tensor's class body or in one of its method mixins (tensor_math.py,
    # tensor_layout.py, tensor_inplace.py), never attached from outside
    owners = {cls: cls.__dict__ for cls in tg.Tensor.__mro__ if cls is not object}

    def declared(name):
        return next(body[name] for body in owners.values() if name in body)

    for name in ["reshape", "view", "sum", "mean", "max", "relu", "exp", "matmul", "permute",
                 "unsqueeze", "clamp", "argmax", "__add__", "__matmul__", "__getitem__"]:
        method = declared(name)
        assert inspect.signature(method).return_annotation != inspect.Signature.empty, name
    for name in ["reshape", "sum", "relu", "matmul", "flatten", "add"]:
        assert declared(name).__doc__, name
    assert {cls.__module__ for cls in owners} == {
        "tinygradcnn.tensor", "tinygradcnn.tensor_math", "tinygradcnn.tensor_layout",
        "tinygradcnn.tensor_inplace"}


@pytest.mark.parametrize("preset, expected", [
    ({}, "10000"),
    ({"GOMP_SPINCOUNT": "5"}, "5"),  # the user's choice stands
    ({"OMP_WAIT_POLICY": "passive"}, None),  # so does a wait policy
])
def test_cpu_backend_shortens_the_openmp_spin_unless_the_user_chose(monkeypatch, preset,
                                                                     expected):
    """backend._short_spin_wait: GNU OpenMP's default spin held the second core while the
    large matrix products ran on it (kernels/cpu/matmul.py)."""
    import os

    from tinygradcnn import backend

    for name in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in preset.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(backend, "spin_count_set", False)
    backend._short_spin_wait()
    assert os.environ.get("GOMP_SPINCOUNT") == expected
    assert backend.spin_count_set == (not preset)
