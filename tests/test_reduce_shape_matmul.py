"""Reductions, shape ops and matmul: forward against NumPy, gradients by gradcheck, errors."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, tensors
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import arrays

import tinygradcnn as tg


@st.composite
def array_and_dims(draw, min_dims=1):
    """An array and a reduction ``dim``: None, an int, or a tuple of distinct ints."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    a = draw(arrays(shape))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return a, None
    if kind == "int":
        return a, draw(st.integers(-len(shape), len(shape) - 1))
    dims = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    return a, tuple(dims)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["sum", "mean", "var", "amax", "amin"])
@given(case=array_and_dims(), keepdim=st.booleans())
def test_reduction_matches_numpy_and_passes_gradcheck(device, name, case, keepdim):
    a, dim = case
    axis = dim if dim is None or isinstance(dim, tuple) else dim
    reference = {
        "sum": lambda: np.sum(a, axis=axis, keepdims=keepdim),
        "mean": lambda: np.mean(a, axis=axis, keepdims=keepdim),
        "var": lambda: np.var(a, axis=axis, keepdims=keepdim, ddof=1),
        "amax": lambda: np.max(a, axis=axis, keepdims=keepdim),
        "amin": lambda: np.min(a, axis=axis, keepdims=keepdim),
    }[name]
    if name == "var":
        count = a.size if dim is None else np.prod([a.shape[d] for d in np.atleast_1d(dim)])
        assume(count > 1)
    (x,) = tensors(a, device=device)
    ours = lambda x: getattr(x, name)(dim=dim, keepdim=keepdim)  # noqa: E731
    np.testing.assert_allclose(ours(x).numpy(), reference(), rtol=1e-10, atol=1e-12)
    if name in ("amax", "amin"):
        assume(a.size < 2 or np.min(np.diff(np.sort(a, axis=None))) > 1e-3)  # no (near) ties
    check_gradients(ours, a, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_max_gradient_goes_to_the_max_only(device):
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], device=device, requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("device", DEVICES)
def test_argmax_and_argmin_match_numpy(device):
    a = np.random.default_rng(1).standard_normal((3, 4, 5))
    x = tg.tensor(a, device=device)
    for dim in (None, 0, 1, -1):
        np.testing.assert_array_equal(x.argmax(dim).numpy(), np.argmax(a, axis=dim))
        np.testing.assert_array_equal(x.argmin(dim).numpy(), np.argmin(a, axis=dim))


@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_matmul_broadcasts_batches_like_numpy_and_passes_gradcheck(device, data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch_a = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    batch_b = data.draw(st.sampled_from([batch_a, (), batch_a[-1:], (1,) + batch_a[1:]]))
    vector_a, vector_b = data.draw(st.booleans()), data.draw(st.booleans())
    shape_a = (k,) if vector_a else (*batch_a, n, k)
    shape_b = (k,) if vector_b else (*batch_b, k, m)
    assume(not (vector_a and vector_b) or True)
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    x, y = tensors(a, b, device=device)
    np.testing.assert_allclose((x @ y).numpy(), np.matmul(a, b), rtol=1e-10, atol=1e-12)
    check_gradients(lambda x, y: x @ y, a, b, device=device)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("a_shape, b_shape", [
    ((40, 9), (9, 33)),  # row blocks of a
    ((2, 30), (30, 50)),  # a fully connected layer at batch 2: column blocks of b
    ((24, 300), (300, 40)),  # b far larger than a and the result: its columns, rows or not
    ((17, 4), (5, 4, 20)),  # a 1x1 conv's batch of products
    ((17, 4), (1, 4, 20)),  # one product of the batch: row blocks
    ((3, 4), (1, 4, 40)),  # too few rows and a batch of one: not cut
    ((24, 24), (24, 24)),  # square, so a transposed result would have the right shape
])
def test_cpu_product_cut_across_threads_equals_one_matmul(monkeypatch, threads, a_shape,
                                                          b_shape):
    """kernels/cpu/matmul.py: ``product`` hands blocks of a large product to Python threads;
    every way of cutting it gives NumPy's product, C-contiguous, for a transposed ``a`` too."""
    import importlib

    blas = importlib.import_module("tinygradcnn.kernels.cpu.matmul")
    monkeypatch.setattr(blas, "SPLIT_MIN_MACS", 1)
    monkeypatch.setattr(blas, "get_num_threads", lambda: threads)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    for left in (a, np.asfortranarray(a)):
        got = blas.product(left, b)
        assert got.flags.c_contiguous
        np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-12, atol=1e-12)


def test_matmul_with_mismatched_inner_dims_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align"):
        tg.ones(2, 3) @ tg.ones(4, 5)


@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_permute_transpose_reshape_pass_gradcheck(device, data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=3))
    a = data.draw(arrays(shape))
    axes = data.draw(st.permutations(range(len(shape))))
    (x,) = tensors(a, device=device)
    np.testing.assert_array_equal(x.permute(*axes).numpy(), np.transpose(a, axes))
    np.testing.assert_array_equal(x.transpose(0, -1).numpy(), np.swapaxes(a, 0, -1))
    np.testing.assert_array_equal(x.reshape(-1).numpy(), a.reshape(-1))
    check_gradients(lambda x: (x.permute(*axes).reshape(-1, 1) * 2).flatten(), a, device=device)


@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_getitem_with_slices_and_index_arrays_passes_gradcheck(device, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
    a = data.draw(arrays(shape))
    key = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    (x,) = tensors(a, device=device)
    np.testing.assert_array_equal(x[key].numpy(), a[key])
    check_gradients(lambda x: x[key], a, device=device)
    index = data.draw(hnp.arrays(np.int64, st.integers(1, 5),
                                 elements=st.integers(0, shape[0] - 1)))
    np.testing.assert_array_equal(x[index].numpy(), a[index])
    check_gradients(lambda x: x[index], a, device=device)  # repeated indices accumulate


@pytest.mark.parametrize("device", DEVICES)
def test_getitem_accumulates_gradient_of_repeated_indices(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x[tg.tensor([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])


@pytest.mark.parametrize("device", DEVICES)
@given(data=st.data())
def test_cat_stack_pad_expand_pass_gradcheck(device, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    a, b = data.draw(arrays(shape)), data.draw(arrays(shape))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x, y = tensors(a, b, device=device)
    np.testing.assert_array_equal(tg.cat([x, y], dim).numpy(), np.concatenate([a, b], dim))
    np.testing.assert_array_equal(tg.stack([x, y], dim).numpy(), np.stack([a, b], dim))
    check_gradients(lambda x, y: tg.cat([x, y * 2], dim), a, b, device=device)
    check_gradients(lambda x, y: tg.stack([x, y], dim), a, b, device=device)
    widths = data.draw(st.lists(st.integers(0, 2), min_size=2, max_size=2 * len(shape)).filter(
        lambda w: len(w) % 2 == 0))
    padded = tg.pad(x, widths, value=0.5)
    np_widths = [(0, 0)] * len(shape)
    for i in range(len(widths) // 2):
        np_widths[len(shape) - 1 - i] = (widths[2 * i], widths[2 * i + 1])
    np.testing.assert_array_equal(padded.numpy(), np.pad(a, np_widths, constant_values=0.5))
    check_gradients(lambda x: tg.pad(x, widths), a, device=device)
    check_gradients(lambda x: x.unsqueeze(0).expand(2, *shape), a, device=device)


def test_shape_errors_name_the_op_and_shapes():
    message = r"reshape: cannot reshape \(2, 3\) \(6 elements\) into \(4, 2\)"
    with pytest.raises(ValueError, match=message):
        tg.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 4\)"):
        tg.cat([tg.ones(2, 3), tg.ones(2, 4)])
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 3\) to \(4, 3\)"):
        tg.ones(2, 3).expand(4, 3)
    with pytest.raises(IndexError, match="permute: dim 3 out of range"):
        tg.ones(2, 3).permute(0, 3)
    with pytest.raises(IndexError, match="getitem: index"):
        tg.ones(2, 3)[5]
    with pytest.raises(IndexError, match="sum: dim 2 out of range for a tensor with 2 dimensions"):
        tg.ones(2, 3).sum(2)
