"""nn.utils: gradient clipping and parameters <-> vector, against torch.nn.utils."""

import math

import numpy as np
import pytest
from conftest import DEVICES
from helpers import torch_or_skip

import tinygradcnn as tg
from tinygradcnn import nn

SHAPES = [(3, 4), (5,), (2, 1, 3), (1,)]


def _gradients(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.standard_normal(shape)).astype(np.float32) for shape in SHAPES]


def _ours(grads, device="cpu"):
    params = []
    for grad in grads:
        param = nn.Parameter(tg.zeros(*grad.shape, device=device))
        param.grad = tg.tensor(grad, device=device)
        params.append(param)
    return params


def _theirs(torch, grads):
    params = []
    for grad in grads:
        param = torch.nn.Parameter(torch.zeros(grad.shape))
        param.grad = torch.tensor(grad)
        params.append(param)
    return params


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, "inf", math.inf, 0, -math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(device, norm_type, max_norm):
    torch = torch_or_skip()
    grads = _gradients()
    ours, theirs = _ours(grads, device), _theirs(torch, grads)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == () and total.device == device
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-5)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_bounds_the_joint_norm_and_skips_missing_grads():
    params = _ours(_gradients(scale=10.0)) + [nn.Parameter(tg.ones(3))]
    before = nn.utils.clip_grad_norm_(params, 2.0)
    assert before.item() > 2.0
    joint = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in params[:-1]))
    assert joint == pytest.approx(2.0, rel=1e-5)
    assert params[-1].grad is None
    # one tensor instead of a list, and a generator (model.parameters()), as in PyTorch
    single = _ours(_gradients())[0]
    assert nn.utils.clip_grad_norm_(single, 1e9).item() == pytest.approx(
        float(np.linalg.norm(single.grad.numpy())), rel=1e-6)
    layer = nn.Linear(4, 2)
    layer(tg.ones(3, 4)).sum().backward()
    assert nn.utils.clip_grad_norm_(layer.parameters(), 1.0).item() > 0
    assert nn.utils.clip_grad_norm_([nn.Parameter(tg.ones(2))], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite_raises_only_when_asked():
    torch = torch_or_skip()
    grads = _gradients()
    grads[1][0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(_ours(grads), 1.0, error_if_nonfinite=True)
    ours, theirs = _ours(grads), _theirs(torch, grads)
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isinf(total.item()) and math.isinf(expected.item())
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_(ours, 1.0, norm_type="fro")


def test_get_total_norm_and_clip_grads_with_norm_compose_to_clip_grad_norm_():
    torch = torch_or_skip()
    grads = _gradients(seed=3)
    ours, theirs = _ours(grads), _theirs(torch, grads)
    total = nn.utils.get_total_norm([p.grad for p in ours], 3.0)
    expected = torch.nn.utils.get_total_norm([p.grad for p in theirs], 3.0)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    nn.utils.clip_grads_with_norm_(ours, 0.1, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.1, expected)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("device", DEVICES)
def test_clip_grad_value_matches_torch(device):
    torch = torch_or_skip()
    grads = _gradients(seed=1)
    ours, theirs = _ours(grads, device), _theirs(torch, grads)
    kept = [p.grad for p in ours]
    assert nn.utils.clip_grad_value_(ours, 0.3) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for p, q, grad in zip(ours, theirs, kept, strict=True):
        assert p.grad is grad  # in place
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_to_vector_round_trip_matches_torch():
    torch = torch_or_skip()
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(),
                                 torch.nn.Linear(8, 3))
    theirs.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    vector = nn.utils.parameters_to_vector(model.parameters())
    expected = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vector.numpy(), expected.detach().numpy())
    # differentiable: the gradient of a weighted sum reaches every parameter
    weights = np.arange(vector.shape[0], dtype=np.float32)
    (vector * tg.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(model[0].bias.grad.numpy(), weights[18:20])
    new = np.linspace(-1, 1, vector.shape[0]).astype(np.float32)
    nn.utils.vector_to_parameters(tg.tensor(new), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs.parameters())
    for (name, ours_value), theirs_value in zip(model.state_dict().items(),
                                                theirs.state_dict().values(), strict=True):
        np.testing.assert_array_equal(ours_value, theirs_value.numpy(), err_msg=name)


def test_vector_to_parameters_rejects_wrong_sizes_and_non_tensors():
    params = [nn.Parameter(tg.zeros(2, 2)), nn.Parameter(tg.zeros(3))]
    with pytest.raises(ValueError, match=r"7 elements .* got shape \(6,\)"):
        nn.utils.vector_to_parameters(tg.zeros(6), params)
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.utils.vector_to_parameters(np.zeros(7), params)
    with pytest.raises(TypeError, match="expected Tensors"):
        nn.utils.parameters_to_vector([np.zeros(2)])
