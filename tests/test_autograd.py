"""The autograd engine: accumulation, graph reuse, no_grad, retain_grad, freeing, errors."""

import gc
import weakref

import numpy as np
import pytest
from conftest import DEVICES

import tinygradcnn as tg


@pytest.mark.parametrize("device", DEVICES)
def test_a_tensor_used_twice_accumulates_both_gradients(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * x + x  # x reaches the output along three paths
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0, 3.0]) + 1)


@pytest.mark.parametrize("device", DEVICES)
def test_backward_twice_accumulates_into_grad(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_diamond_graph_sums_gradients_through_both_branches():
    x = tg.tensor(2.0, requires_grad=True)
    a, b = x * 3, x.exp()
    (a * b).backward()  # d/dx (3x e^x) = 3 e^x + 3x e^x
    np.testing.assert_allclose(x.grad.item(), 3 * np.exp(2) + 6 * np.exp(2), rtol=1e-6)


def test_no_grad_records_no_graph():
    x = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = x * 2
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_works_as_a_decorator():
    @tg.no_grad()
    def evaluate(x):
        return x * 2

    assert not evaluate(tg.ones(2, requires_grad=True)).requires_grad


def test_requires_grad_propagates_only_from_inputs_that_need_it():
    a, b = tg.ones(2), tg.ones(2, requires_grad=True)
    assert not (a * 2).requires_grad
    assert (a * b).requires_grad
    (a * b).sum().backward()
    assert a.grad is None and b.grad is not None


def test_non_leaf_gradients_are_kept_only_when_asked():
    x = tg.ones(2, requires_grad=True)
    hidden, kept = x * 2, x * 3
    kept.retain_grad()
    (hidden + kept).sum().backward()
    assert hidden.grad is None
    np.testing.assert_array_equal(kept.grad.numpy(), [1.0, 1.0])


def test_graph_is_freed_after_backward():
    x = tg.ones(1000, requires_grad=True)
    y = (x * 2).exp()
    intermediate = weakref.ref(y._ctx.parents[0])
    loss = y.sum()
    loss.backward()
    del y
    gc.collect()
    assert loss._ctx is None and intermediate() is None


def test_backward_on_a_non_scalar_without_gradient_is_an_error():
    x = tg.ones(2, 3, requires_grad=True)
    message = r"gradient can be omitted only for a one-element tensor, got shape \(2, 3\)"
    with pytest.raises(ValueError, match=message):
        (x * 2).backward()
    (x * 2).backward(tg.ones(2, 3))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


def test_backward_gradient_of_the_wrong_shape_is_an_error():
    x = tg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\), tensor has shape \(2,\)"):
        (x * 2).backward(tg.ones(3))


def test_backward_through_broadcast_sums_to_the_input_shape():
    bias = tg.zeros(3, requires_grad=True)
    (tg.ones(4, 3) + bias).sum().backward()
    np.testing.assert_array_equal(bias.grad.numpy(), [4.0, 4.0, 4.0])


def test_gradcheck_reports_the_input_and_element_of_a_wrong_gradient():
    class WrongSquare(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return ctx.kernels.binary("mul", x, x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_arrays
            return ctx.kernels.binary("mul", grad, x)  # missing the factor 2

    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    message = r"input 0 \(shape \(2,\)\) gradient mismatch at index"
    with pytest.raises(tg.GradcheckError, match=message):
        tg.gradcheck(WrongSquare.apply, [x])


def test_gradcheck_insists_on_float64():
    with pytest.raises(TypeError, match="gradcheck: input 0 has dtype float32; use float64"):
        tg.gradcheck(lambda x: x * 2, [tg.ones(2, requires_grad=True)])


def test_mixing_devices_in_one_op_is_an_error():
    if "cuda" not in DEVICES:
        pytest.skip("needs the cuda backend (a GPU or the simulator)")
    message = r"all inputs must be on one device, got \['cpu', 'cuda'\]"
    with pytest.raises(ValueError, match=message):
        tg.ones(2) + tg.ones(2, device="cuda")


def test_in_place_update_of_a_leaf_that_requires_grad_needs_no_grad():
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place operation"):
        w.sub_(1.0)
    with tg.no_grad():
        w.sub_(tg.tensor([0.5, 0.25]))
    np.testing.assert_array_equal(w.numpy(), [0.5, 0.75])
