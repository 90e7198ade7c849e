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
    assert loss._ctx.released and not loss._ctx.parents and intermediate() is None


def test_the_graph_does_not_keep_activations_that_no_backward_needs():
    # bn -> relu: relu's backward reads its output only, so nothing keeps the batch norm's
    # output once the forward has dropped it (as in PyTorch); the gradient is unchanged
    x = tg.tensor(np.linspace(-1.0, 1.0, 12).reshape(2, 6), requires_grad=True)
    shifted = x * 2.0 - 0.5
    dropped = weakref.ref(shifted)
    y = shifted.relu()
    del shifted
    gc.collect()
    assert dropped() is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(x.numpy() * 2 - 0.5 > 0, 2.0, 0.0))


def test_a_hook_on_a_tensor_the_caller_dropped_still_runs():
    # a forward hook that registers a gradient hook on a layer's output and keeps nothing
    seen = []
    x = tg.ones(3, requires_grad=True)
    hidden = x * 2.0
    hidden.register_hook(lambda grad: seen.append(grad.numpy().copy()) or grad * 0.5)
    out = (hidden * 3.0).sum()
    del hidden
    gc.collect()
    out.backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])  # the hook halved it


def test_a_second_backward_through_a_freed_graph_is_an_error():
    x = tg.ones(3, requires_grad=True)
    hidden = x.exp()
    first, second = hidden.sum(), (hidden * 2.0).sum()
    first.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time: "
                       r"input 0 of Mul was made by Unary \(exp\).*retain_graph=True"):
        second.backward()
    # nor through a tensor the first backward freed, used again afterwards, or twice
    with pytest.raises(RuntimeError, match=r"input 0 of Mul was made by Unary \(exp\)"):
        (hidden * 3.0).sum().backward()
    with pytest.raises(RuntimeError, match="the tensor was made by Sum"):
        first.backward()
    assert hidden.grad_fn.__name__ == "Unary" and not hidden.is_leaf  # as in PyTorch


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


# -- in-place changes of what the graph saved: version counters -------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_modifying_a_saved_tensor_in_place_makes_backward_fail(device):
    x = tg.ones(3, device=device, requires_grad=True)
    y = x * 2
    z = y * y  # Mul saves y for the gradient
    y.mul_(10)
    message = (r"mul: one of the variables needed for gradient computation has been modified "
               r"by an inplace operation: input 0 of Mul \(a float32 tensor of shape \(3,\), "
               r"made by Mul\) is at version 1; expected version 0 instead")
    with pytest.raises(RuntimeError, match=message):
        z.sum().backward()


def test_every_in_place_method_bumps_the_version():
    t = tg.zeros(2, 2)
    steps = [lambda: t.add_(1), lambda: t.sub_(1), lambda: t.mul_(2), lambda: t.div_(2),
             lambda: t.fill_(3), lambda: t.zero_(), lambda: t.copy_(tg.ones(2, 2)),
             lambda: t.__setitem__(0, 5.0)]
    for expected, step in enumerate(steps, start=1):
        step()
        assert t._version == expected
    assert (t + 1)._version == 0  # an out-of-place result is a new storage


def test_a_view_of_a_leaf_that_requires_grad_refuses_in_place_ops_too():
    w = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="mul_: a view of a leaf tensor that requires grad"):
        w.reshape(6).unsqueeze(0).mul_(2)
    with tg.no_grad():
        w.reshape(6).mul_(2)
    assert w._version == 1


def test_tensors_sharing_storage_share_the_version_counter():
    x = tg.ones(2, 3, requires_grad=True)
    y = x * 2
    z = y * y
    flat, detached = y.reshape(6), y.detach()
    flat.mul_(10)  # writes y's storage through a view
    assert y._version == detached._version == 1
    with pytest.raises(RuntimeError, match="input 0 of Mul"):
        z.sum().backward()
    with tg.no_grad():
        detached.add_(1)
    assert y._version == 2
    parameter = tg.nn.Parameter(y.detach())
    with tg.no_grad():
        parameter.mul_(2)
    assert y._version == 3


def test_a_saved_reshape_of_an_input_is_checked_too():
    x = tg.ones(2, 3)
    w = tg.ones(4, 3, requires_grad=True)
    out = tg.nn.functional.linear(x.reshape(1, 2, 3), w)  # saves a reshape of its input
    x.fill_(2.0)
    with pytest.raises(RuntimeError, match="input 0 of Linear"):
        out.sum().backward()


def test_modifying_a_graph_tensor_that_nothing_saved_is_still_caught():
    # y.mul_ is not recorded in the graph, so the gradient through y would be 10x too small
    x = tg.ones(3, requires_grad=True)
    y = x * 2
    y.mul_(10)
    with pytest.raises(RuntimeError, match="the output of Mul .* is at version 1"):
        y.sum().backward()


def test_in_place_changes_of_unsaved_inputs_are_allowed():
    x = tg.ones(3, requires_grad=True)
    c = tg.ones(3)
    y = x + c  # Add saves nothing
    c.mul_(5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_optimizer_step_bumps_versions_but_normal_training_never_trips():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Conv2d(1, 2, 3), tg.nn.BatchNorm2d(2), tg.nn.ReLU(),
                             tg.nn.Flatten(), tg.nn.Linear(2 * 4 * 4, 3))
    weight = model[4].weight
    initial = weight._version  # initialisation wrote it in place once
    for optimizer in (tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      tg.optim.Adam(model.parameters(), lr=0.01)):
        for _ in range(3):
            optimizer.zero_grad()
            loss = tg.nn.functional.cross_entropy(model(tg.randn(4, 1, 6, 6)),
                                                  tg.tensor([0, 1, 2, 0]))
            loss.backward()
            optimizer.step()
    assert weight._version == initial + 6
    loss = model(tg.randn(4, 1, 6, 6)).sum()
    loss.backward(retain_graph=True)
    optimizer.step()  # the retained graph saved the weights it just changed
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


# -- gradient storage ownership ---------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_leaves_never_share_gradient_storage(device):
    a = tg.ones(3, device=device, requires_grad=True)
    b = tg.ones(3, device=device, requires_grad=True)
    (a + b).sum().backward()  # Add hands one array to both inputs
    with tg.no_grad():
        a.grad.mul_(5)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 5.0, 5.0])


def test_gradients_own_their_storage_through_views_and_retained_grads():
    a = tg.ones(2, 3, requires_grad=True)
    b = tg.ones(6, requires_grad=True)
    hidden = a.reshape(6) + b
    hidden.retain_grad()
    hidden.sum().backward()
    arrays = [a.grad.numpy(), b.grad.numpy(), hidden.grad.numpy()]
    for i, first in enumerate(arrays):
        for second in arrays[i + 1:]:
            assert not np.shares_memory(first, second)


def test_a_leaf_does_not_keep_the_callers_gradient_array():
    x, y = tg.ones(3, requires_grad=True), tg.ones(3, requires_grad=True)
    upstream = tg.tensor([1.0, 2.0, 3.0])
    x.backward(upstream)  # x is the root: its gradient is the one given
    y.reshape(3, 1).backward(upstream.reshape(3, 1))  # a view of it reaches y
    upstream.fill_(0.0)
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 2.0, 3.0])


def test_a_fresh_gradient_is_taken_without_a_copy():
    x = tg.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    grad = x.grad
    (x * 2).sum().backward()
    assert x.grad is grad  # accumulation writes into the same Tensor
    np.testing.assert_array_equal(grad.numpy(), [4.0, 4.0, 4.0])


def test_apply_with_no_tensor_input_is_an_error_not_a_gpu_launch():
    class Constant(tg.Function):
        @staticmethod
        def forward(ctx, _):
            return np.ones(1)

    with pytest.raises(ValueError, match="constant: needs at least one tensor input"):
        Constant.apply(None)
