"""Optimizers against PyTorch's update rules, their state, schedules and the L1 penalty."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import tinygradcnn as tg
from tinygradcnn import nn, optim
from tinygradcnn.kernels.cpu import adam_step

SHAPES = [(4, 3), (3,), (2, 2, 3)]


def make_params(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def run_ours(optimizer_class, arrays, grads, **kwargs):
    params = [nn.Parameter(tg.tensor(a.copy())) for a in arrays]
    optimizer = optimizer_class(params, **kwargs)
    for step_grads in grads:
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = tg.tensor(grad)
        optimizer.step()
    return [p.numpy() for p in params], optimizer


def run_torch(torch, optimizer_class, arrays, grads, **kwargs):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    optimizer = optimizer_class(params, **kwargs)
    for step_grads in grads:
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = torch.tensor(grad)
        optimizer.step()
    return [p.detach().numpy() for p in params]


def random_grads(steps, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-3)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, amsgrad=True)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", CASES)
def test_several_steps_match_torch(name, kwargs):
    torch = torch_or_skip()
    arrays, grads = make_params(), random_grads(8)
    ours, _ = run_ours(getattr(optim, name), arrays, grads, **kwargs)
    theirs = run_torch(torch, getattr(torch.optim, name), arrays, grads, **kwargs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_parameter_groups_match_torch():
    torch = torch_or_skip()
    arrays, grads = make_params(), random_grads(5)
    params = [nn.Parameter(tg.tensor(a.copy())) for a in arrays]
    ours = optim.SGD([{"params": params[:1], "lr": 0.5}, {"params": params[1:]}], lr=0.1,
                     momentum=0.9)
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = torch.optim.SGD([{"params": tparams[:1], "lr": 0.5}, {"params": tparams[1:]}],
                             lr=0.1, momentum=0.9)
    for step_grads in grads:
        for p, t, g in zip(params, tparams, step_grads, strict=True):
            p.grad, t.grad = tg.tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
    for p, t in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_float64_step_follows_the_formula_exactly():
    param = np.array([1.0, -2.0])
    grad = np.array([0.5, 0.25])
    exp_avg, exp_avg_sq = np.zeros(2), np.zeros(2)
    adam_step(param, grad, exp_avg, exp_avg_sq, 1, 0.1)
    # first Adam step: m_hat = g, v_hat = g^2, so p moves by lr * g / (|g| + eps)
    np.testing.assert_allclose(param, [1.0 - 0.1 * 0.5 / (0.5 + 1e-8),
                                       -2.0 - 0.1 * 0.25 / (0.25 + 1e-8)], rtol=1e-12)


def test_frozen_parameters_are_not_updated():
    layer = nn.Linear(3, 2)
    before = layer.state_dict()
    layer.weight.requires_grad_(False)
    optimizer = optim.SGD(layer.parameters(), lr=1.0)
    layer(tg.ones(4, 3)).sum().backward()
    optimizer.step()
    assert layer.weight.grad is None
    assert np.array_equal(layer.weight.numpy(), before["weight"])
    assert not np.array_equal(layer.bias.numpy(), before["bias"])


@pytest.mark.parametrize("name,kwargs", [CASES[2], CASES[6], CASES[8]])
def test_state_dict_resumes_exactly(name, kwargs):
    arrays, grads = make_params(), random_grads(6)
    straight, _ = run_ours(getattr(optim, name), arrays, grads, **kwargs)
    halfway, first = run_ours(getattr(optim, name), arrays, grads[:3], **kwargs)
    params = [nn.Parameter(tg.tensor(a)) for a in halfway]
    second = getattr(optim, name)(params, **kwargs)
    second.load_state_dict(first.state_dict())
    for step_grads in grads[3:]:
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = tg.tensor(grad)
        second.step()
    for a, b in zip(straight, params, strict=True):
        assert np.array_equal(a, b.numpy())


def test_state_dict_survives_a_file_round_trip(tmp_path):
    arrays, grads = make_params(), random_grads(2)
    _, optimizer = run_ours(optim.Adam, arrays, grads, lr=1e-2)
    tg.save(optimizer.state_dict(), tmp_path / "opt.npz")
    loaded = tg.load(tmp_path / "opt.npz")
    assert loaded["param_groups"][0]["betas"] == (0.9, 0.999)
    assert loaded["state"][0]["step"] == 2
    np.testing.assert_array_equal(loaded["state"][2]["exp_avg"],
                                  optimizer.state_dict()["state"][2]["exp_avg"])


def test_invalid_arguments_are_refused():
    params = [nn.Parameter(tg.zeros(2))]
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": params}, {"params": params}], lr=0.1)


@pytest.mark.torch
def test_schedules_match_torch():
    torch = torch_or_skip()
    for ours_cls, torch_cls, kwargs in [
        (optim.StepLR, torch.optim.lr_scheduler.StepLR, dict(step_size=3, gamma=0.5)),
        (optim.CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR,
         dict(T_max=7, eta_min=0.01)),
    ]:
        ours_opt = optim.SGD([nn.Parameter(tg.zeros(1))], lr=0.2)
        torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
        ours, theirs = ours_cls(ours_opt, **kwargs), torch_cls(torch_opt, **kwargs)
        for _ in range(10):
            assert math.isclose(ours.get_last_lr()[0], theirs.get_last_lr()[0], rel_tol=1e-9)
            torch_opt.step()
            ours.step()
            theirs.step()


def test_schedule_state_round_trip():
    optimizer = optim.SGD([nn.Parameter(tg.zeros(1))], lr=1.0)
    schedule = optim.StepLR(optimizer, step_size=2)
    for _ in range(3):
        schedule.step()
    state = schedule.state_dict()
    fresh_optimizer = optim.SGD([nn.Parameter(tg.zeros(1))], lr=1.0)
    fresh = optim.StepLR(fresh_optimizer, step_size=2)
    fresh.load_state_dict(state)
    assert fresh.get_last_lr() == schedule.get_last_lr() == [0.1]


def test_l1_penalty_value_and_gradient():
    layer = nn.Linear(3, 2)
    penalty = optim.l1_penalty(layer, 0.5)
    expected = 0.5 * (np.abs(layer.weight.numpy()).sum() + np.abs(layer.bias.numpy()).sum())
    assert math.isclose(penalty.item(), expected, rel_tol=1e-5)
    penalty.backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), 0.5 * np.sign(layer.weight.numpy()))


def test_optimizer_and_schedule_bases_are_abstract():
    param = nn.Parameter(tg.zeros(2))
    with pytest.raises(TypeError, match="abstract"):
        optim.Optimizer([param], {"lr": 0.1})
    with pytest.raises(TypeError, match="abstract"):
        optim.LRScheduler(optim.SGD([param], lr=0.1))

    class HalfEveryEpoch(optim.LRScheduler):
        def get_lr(self):
            return [base_lr * 0.5**self.last_epoch for base_lr in self.base_lrs]

    optimizer = optim.SGD([param], lr=0.1)
    schedule = HalfEveryEpoch(optimizer)
    schedule.step()
    assert schedule.get_last_lr() == [0.05]


def test_cli_builds_every_optimizer_it_offers():
    from tinygradcnn.__main__ import DEFAULT_LR, _optimizer, _parser

    for name, lr in DEFAULT_LR.items():
        args = _parser().parse_args(["train", "--optimizer", name, "--weight-decay", "1e-4"])
        optimizer = _optimizer(args, [nn.Parameter(tg.zeros(2))])
        assert type(optimizer).__name__.lower() == name
        assert optimizer.param_groups[0]["lr"] == lr
        assert optimizer.param_groups[0]["weight_decay"] == 1e-4
