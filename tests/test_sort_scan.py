"""sort, argsort, topk, cumsum, prod, norm: values and indices against PyTorch, gradients by
finite differences, and the new kernels on both devices."""

import math

import numpy as np
import pytest
from conftest import DEVICES
from helpers import (
    check_gradients,
    compare_with_torch,
    simulated,
    to_device,
    to_numpy,
    torch_or_skip,
)
from hypothesis import given
from hypothesis import strategies as st

import tinygradcnn as tg
from tinygradcnn.backend import kernels_for

RNG = np.random.default_rng(0)


def _distinct(*shape):
    """Values with no ties (so every sort order is unique), in a random order."""
    return RNG.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) / 7


@st.composite
def sort_cases(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(0 if i else 1, 4)) for i in range(ndim))
    dim = draw(st.integers(-ndim, ndim - 1))
    # few distinct values, so ties are common and stability shows
    values = draw(st.lists(st.integers(-2, 2), min_size=int(np.prod(shape)),
                           max_size=int(np.prod(shape))))
    return np.array(values, dtype=np.float32).reshape(shape), dim, draw(st.booleans())


@given(sort_cases())
def test_sort_is_torchs_stable_sort_with_ties(case):
    torch = torch_or_skip()
    x, dim, descending = case
    values, indices = tg.tensor(x).sort(dim, descending=descending, stable=True)
    expected = torch.sort(torch.from_numpy(x), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(values.numpy(), expected.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())
    assert indices.dtype == np.int64


@pytest.mark.parametrize("device", DEVICES)
def test_sort_kernels_agree_on_both_devices_nan_included(device):
    x = np.array([[3.0, np.nan, 1.0, 1.0, -2.0], [0.0, 0.0, 5.0, np.nan, -1.0]], np.float32)
    for axis, descending in [(1, False), (1, True), (0, True)]:
        values, indices = kernels_for(device).sort_forward(to_device(x, device), axis, descending)
        expected = np.argsort(-x if descending else x, axis=axis, kind="stable")
        if descending:  # NaN first when descending, as PyTorch; -NaN sorts last in NumPy
            expected = np.argsort(np.where(np.isnan(x), -np.inf, -x), axis=axis, kind="stable")
        np.testing.assert_array_equal(to_numpy(indices), expected)
        np.testing.assert_array_equal(to_numpy(values), np.take_along_axis(x, expected, axis))
    grad = np.arange(10, dtype=np.float32).reshape(2, 5)
    _, indices = kernels_for(device).sort_forward(to_device(x, device), 1, False)
    back = to_numpy(kernels_for(device).sort_backward(to_device(grad, device), indices, 1))
    expected = np.empty_like(grad)
    np.put_along_axis(expected, to_numpy(indices), grad, 1)
    np.testing.assert_array_equal(back, expected)


@pytest.mark.parametrize("device", DEVICES)
def test_sort_and_topk_gradients_go_back_to_where_each_value_came_from(device):
    x = _distinct(3, 4)
    check_gradients(lambda t: t.sort(1, descending=True).values, x, device=device)
    check_gradients(lambda t: t.topk(2, dim=0).values, x, device=device)
    check_gradients(lambda t: t.topk(3, largest=False).values * 2, x, device=device)


@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch(largest):
    torch = torch_or_skip()
    x = _distinct(4, 6).astype(np.float32)
    ours = tg.tensor(x).topk(3, dim=1, largest=largest)
    theirs = torch.from_numpy(x).topk(3, dim=1, largest=largest)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    values, indices = tg.topk(tg.tensor(x), 2, 0)  # unpacks like torch.return_types.topk
    assert values.shape == indices.shape == (2, 6)


def test_topk_and_sort_refuse_bad_arguments():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError, match="topk: k 4 is larger than dim 1 of size 3"):
        x.topk(4, dim=1)
    with pytest.raises(IndexError, match="sort: dim 2 out of range"):
        x.sort(2)
    with pytest.raises(TypeError, match="topk: k must be an int"):
        x.topk(1.5)


def test_argsort_and_randperm():
    torch = torch_or_skip()
    x = _distinct(5, 3)
    np.testing.assert_array_equal(tg.argsort(tg.tensor(x), 0, descending=True).numpy(),
                                  torch.argsort(torch.from_numpy(x), 0, descending=True))
    tg.manual_seed(4)
    perm = tg.randperm(20)
    assert perm.dtype == np.int64 and sorted(perm.tolist()) == list(range(20))
    tg.manual_seed(4)
    assert tg.randperm(20).tolist() == perm.tolist()
    assert tg.sort(tg.tensor([2, 1, 3])).values.tolist() == [1, 2, 3]  # integers sort as is


@pytest.mark.parametrize("device", DEVICES)
def test_cumsum_matches_torch_forward_and_backward(device):
    torch = torch_or_skip()
    x = RNG.standard_normal((3, 4, 2))
    for dim in (0, 1, -1):
        compare_with_torch(lambda t, d=dim: t.cumsum(d), lambda t, d=dim: t.cumsum(d), x,
                           device=device)
    check_gradients(lambda t: tg.cumsum(t, 1), x, device=device)
    ints = tg.tensor([[1, 2], [3, 4]], device=device)
    assert tg.cumsum(ints, 0).tolist() == torch.cumsum(torch.tensor([[1, 2], [3, 4]]), 0).tolist()
    assert tg.tensor([True, False, True]).cumsum(0).dtype == np.int64


@pytest.mark.parametrize("device", DEVICES)
def test_scan_kernel_runs_both_ways_on_both_devices(device):
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    for axis in range(3):
        forward = to_numpy(kernels_for(device).cumsum(to_device(x, device), axis))
        backward = to_numpy(kernels_for(device).cumsum(to_device(x, device), axis, reverse=True))
        np.testing.assert_array_equal(forward, np.cumsum(x, axis))
        np.testing.assert_array_equal(backward, np.flip(np.cumsum(np.flip(x, axis), axis), axis))


@pytest.mark.parametrize("device", DEVICES)
def test_prod_gradient_is_exact_with_zeros(device):
    # one line without zeros, one with a single zero, one with two
    x = np.array([[1.5, -2.0, 3.0], [2.0, 0.0, 4.0], [0.0, 5.0, 0.0]])
    compare_with_torch(lambda t: t.prod(1), lambda t: t.prod(1), x, device=device,
                       dtype=np.float64)
    compare_with_torch(lambda t: tg.prod(t), lambda t: t.prod(), x[:2], device=device,
                       dtype=np.float64)
    check_gradients(lambda t: t.prod(0, keepdim=True), RNG.standard_normal((3, 2)), device=device)
    assert tg.tensor([[2, 3], [4, 5]]).prod(1).tolist() == [6, 20]


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, math.inf, -math.inf, 0])
def test_norm_matches_torch(p):
    torch = torch_or_skip()
    x = RNG.standard_normal((3, 4))
    for dim, keepdim in [(None, False), (1, False), (0, True)]:
        compare_with_torch(lambda t, d=dim, k=keepdim: t.norm(p, d, k),
                           lambda t, d=dim, k=keepdim: torch.norm(t, p, d, k), x,
                           dtype=np.float64,
                           grad=p != 0)  # the count of non-zeros has no gradient


def test_norm_of_zeros_has_a_zero_gradient_as_in_torch():
    x = tg.zeros(3, dtype=np.float64, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="norm: p must be a number"):
        tg.norm(x, "nuc")


@pytest.mark.parametrize("device", DEVICES)
def test_sort_family_runs_on_every_device(device):
    if simulated(device):
        x = _distinct(2, 3).astype(np.float32)
    else:
        x = _distinct(8, 16).astype(np.float32)
    t = tg.tensor(x, device=device)
    np.testing.assert_array_equal(t.sort(1).values.numpy(), np.sort(x, 1))
    np.testing.assert_array_equal(t.topk(2).indices.numpy(), np.argsort(-x, 1)[:, :2])
    np.testing.assert_allclose(t.cumsum(0).numpy(), np.cumsum(x, 0), rtol=1e-6)
    np.testing.assert_allclose(t.prod(1).numpy(), np.prod(x, 1), rtol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_randperm_is_the_same_permutation_on_every_device(device):
    tg.manual_seed(9)
    on_cpu = tg.randperm(7)
    tg.manual_seed(9)
    here = tg.randperm(7, device=device)
    assert here.device == device and here.tolist() == on_cpu.tolist()
    assert tg.randperm(0).shape == (0,)
