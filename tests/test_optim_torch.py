"""Every optimizer against torch.optim over 20 steps: the same parameters and gradients,
several hyper-parameter settings, two parameter groups with different lrs, float32 and
float64, on every device; and their state_dicts (layout, resuming, files)."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import simulated, torch_or_skip

import tinygradcnn as tg
from tinygradcnn import nn, optim

STEPS = 20
SHAPES = [(4, 3), (5,), (2, 2, 3)]
TINY_SHAPES = [(3, 2), (2,)]  # for numba's CUDA simulator, where every element is a thread

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=1e-2, betas=(0.3, 0.8), weight_decay=0.1)),
    ("Adam", dict(lr=1e-2, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, amsgrad=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(eps=1e-3, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(centered=True)),
    ("RMSprop", dict(alpha=0.3, centered=True, momentum=0.5, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'defaults'}"
            for name, kwargs in CASES]


def problem(shapes, dtype, steps=STEPS, seed=0):
    """Initial parameters and one gradient per parameter and step."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    grads = [[rng.standard_normal(shape).astype(dtype) for shape in shapes]
             for _ in range(steps)]
    return arrays, grads


def groups(params, kwargs):
    """Two groups: the first with an lr of its own, the second with the optimizer's."""
    return [{"params": params[:1], "lr": 0.5 * kwargs.get("lr", 1e-2)}, {"params": params[1:]}]


def run_ours(name, arrays, grads, kwargs, device="cpu", start=None):
    params = [nn.Parameter(tg.tensor(a, device=device)) for a in arrays]
    optimizer = getattr(optim, name)(groups(params, kwargs), **kwargs)
    if start is not None:
        optimizer.load_state_dict(start)
    for step_grads in grads:
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = tg.tensor(grad, device=device)
        optimizer.step()
    return [p.numpy() for p in params], optimizer


def run_torch(torch, name, arrays, grads, kwargs):
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    optimizer = getattr(torch.optim, name)(groups(params, kwargs), **kwargs)
    for step_grads in grads:
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = torch.tensor(grad)
        optimizer.step()
    return [p.detach().numpy() for p in params], optimizer


TOLERANCES = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_twenty_steps_match_torch_on_the_cpu(name, kwargs, dtype):
    torch = torch_or_skip()
    arrays, grads = problem(SHAPES, dtype)
    ours, _ = run_ours(name, arrays, grads, kwargs)
    theirs, _ = run_torch(torch, name, arrays, grads, kwargs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **TOLERANCES[dtype])


@pytest.mark.torch
@pytest.mark.skipif("cuda" not in DEVICES, reason="cuda not available")
@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_twenty_steps_match_torch_on_cuda(name, kwargs):
    torch = torch_or_skip()
    shapes = TINY_SHAPES if simulated("cuda") else SHAPES
    arrays, grads = problem(shapes, np.float32)
    ours, _ = run_ours(name, arrays, grads, kwargs, device="cuda")
    theirs, _ = run_torch(torch, name, arrays, grads, kwargs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, **TOLERANCES[np.float32])


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[4], CASES[7], CASES[10], CASES[15],
                                         CASES[18]], ids=lambda case: str(case))
def test_state_dict_has_torchs_layout(name, kwargs):
    torch = torch_or_skip()
    arrays, grads = problem(SHAPES, np.float32, steps=3)
    _, ours = run_ours(name, arrays, grads, kwargs)
    _, theirs = run_torch(torch, name, arrays, grads, kwargs)
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert sorted(mine["state"]) == sorted(reference["state"]) == [0, 1, 2]
    for index, state in reference["state"].items():
        assert set(mine["state"][index]) == set(state)
        for key, value in state.items():
            if key in ("step", "mu_product"):
                assert mine["state"][index][key] == pytest.approx(float(value), rel=1e-6)
            else:
                assert isinstance(mine["state"][index][key], tg.Tensor)
                np.testing.assert_allclose(mine["state"][index][key].numpy(), value.numpy(),
                                           rtol=1e-5, atol=1e-6)
    for group, reference_group in zip(mine["param_groups"], reference["param_groups"],
                                      strict=True):
        assert group["params"] == reference_group["params"]
        for key in group:
            assert group[key] == reference_group[key], key


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kwargs", [CASES[2], CASES[4], CASES[7], CASES[10], CASES[15],
                                         CASES[18]], ids=lambda case: str(case))
def test_resuming_from_a_saved_file_continues_exactly(name, kwargs, device, tmp_path):
    shapes = TINY_SHAPES if simulated(device) else SHAPES
    arrays, grads = problem(shapes, np.float32, steps=6)
    straight, _ = run_ours(name, arrays, grads, kwargs, device=device)
    halfway, first = run_ours(name, arrays, grads[:3], kwargs, device=device)
    state = first.state_dict()
    for param_state in state["state"].values():
        for value in param_state.values():
            if isinstance(value, tg.Tensor):
                assert value.device == device
    tg.save({"epoch": 3, "optimizer": state}, tmp_path / "checkpoint.npz")
    loaded = tg.load(tmp_path / "checkpoint.npz")["optimizer"]
    resumed, second = run_ours(name, halfway, grads[3:], kwargs, device=device, start=loaded)
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    for param in second.param_groups[0]["params"]:
        for value in second.state[param].values():
            if isinstance(value, tg.Tensor):
                assert value.device == device and value.dtype == np.float32


def test_state_dict_is_a_snapshot():
    arrays, grads = problem(SHAPES, np.float32, steps=4)
    params = [nn.Parameter(tg.tensor(a)) for a in arrays]
    optimizer = optim.RMSprop(params, momentum=0.9)
    for param, grad in zip(params, grads[0], strict=True):
        param.grad = tg.tensor(grad)
    optimizer.step()
    saved = optimizer.state_dict()
    before = saved["state"][0]["square_avg"].numpy().copy()
    optimizer.step()
    np.testing.assert_array_equal(saved["state"][0]["square_avg"].numpy(), before)
    assert saved["state"][0]["step"] == 1


def test_adagrad_fills_its_state_at_construction_as_torch_does():
    params = [nn.Parameter(tg.zeros(3))]
    state = optim.Adagrad(params, initial_accumulator_value=0.25).state_dict()["state"]
    assert state[0]["step"] == 0
    np.testing.assert_array_equal(state[0]["sum"].numpy(), np.full(3, 0.25, np.float32))


def test_closure_is_evaluated_and_its_loss_returned():
    param = nn.Parameter(tg.tensor([1.0, -2.0]))
    optimizer = optim.Adadelta([param])

    def closure():
        optimizer.zero_grad()
        loss = (param * param).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 5.0
    assert np.all(np.abs(param.numpy()) < [1.0, 2.0])


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.Adadelta(p, rho=1.5), "rho"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
    (lambda p: optim.RMSprop(p, lr=-0.1), "lr"),
    (lambda p: optim.RMSprop(p, momentum=-0.1), "momentum"),
    (lambda p: optim.NAdam(p, betas=(0.9, 1.0)), "betas"),
    (lambda p: optim.Adam(p, eps=-1.0), "eps"),
])
def test_invalid_hyperparameters_name_the_optimizer_and_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(tg.zeros(2))])


def test_load_state_dict_refuses_a_state_of_the_wrong_shape():
    arrays, grads = problem(SHAPES, np.float32, steps=1)
    _, optimizer = run_ours("Adadelta", arrays, grads, {})
    state = optimizer.state_dict()
    other = [nn.Parameter(tg.zeros((1,) + shape)) for shape in SHAPES]
    with pytest.raises(ValueError, match="square_avg"):
        optim.Adadelta(groups(other, {}), lr=1.0).load_state_dict(state)
