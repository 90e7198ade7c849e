"""Learning-rate schedules against torch.optim.lr_scheduler: the same lr (and momentum)
sequence, float for float, over many steps and two parameter groups; chaining; resuming from
a saved state."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import tinygradcnn as tg
from tinygradcnn import nn, optim
from tinygradcnn.optim import lr_scheduler

LRS = (0.1, 0.03)  # the two parameter groups'


def two_groups(params):
    return [{"params": params[:1], "lr": LRS[0]}, {"params": params[1:], "lr": LRS[1]}]


def our_optimizer(kind="sgd"):
    params = [nn.Parameter(tg.zeros(2)), nn.Parameter(tg.zeros(3))]
    if kind == "adam":
        return optim.Adam(two_groups(params))
    return optim.SGD(two_groups(params), momentum=0.9)


def torch_optimizer(torch, kind="sgd"):
    params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    if kind == "adam":
        return torch.optim.Adam(two_groups(params))
    return torch.optim.SGD(two_groups(params), momentum=0.9)


def momenta(optimizer):
    return [group["betas"][0] if "betas" in group else group["momentum"]
            for group in optimizer.param_groups]


# (name, optimizer kind, steps, build(schedules, optimizer) -> scheduler)
CASES = [
    ("StepLR", "sgd", 30, lambda m, o: m.StepLR(o, step_size=3, gamma=0.5)),
    ("MultiStepLR", "sgd", 30, lambda m, o: m.MultiStepLR(o, [2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", "sgd", 30, lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", "sgd", 40, lambda m, o: m.CosineAnnealingLR(o, T_max=7,
                                                                       eta_min=1e-3)),
    ("CosineAnnealingLR-no-floor", "adam", 25, lambda m, o: m.CosineAnnealingLR(o, T_max=10)),
    ("LambdaLR", "sgd", 20, lambda m, o: m.LambdaLR(o, lambda epoch: 0.95**epoch)),
    ("LambdaLR-per-group", "sgd", 20,
     lambda m, o: m.LambdaLR(o, [lambda epoch: 1 / (epoch + 1), lambda epoch: 0.9**epoch])),
    ("LinearLR-warm-up", "sgd", 12, lambda m, o: m.LinearLR(o, start_factor=0.25,
                                                             total_iters=4)),
    ("LinearLR-decay", "sgd", 12, lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                                           total_iters=6)),
    ("OneCycleLR-cos-sgd", "sgd", 30, lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2],
                                                                 total_steps=30)),
    ("OneCycleLR-linear-adam", "adam", 24,
     lambda m, o: m.OneCycleLR(o, max_lr=0.01, epochs=4, steps_per_epoch=6, pct_start=0.25,
                               anneal_strategy="linear")),
    ("OneCycleLR-three-phase", "adam", 40,
     lambda m, o: m.OneCycleLR(o, max_lr=0.02, total_steps=40, three_phase=True,
                               div_factor=10.0, final_div_factor=100.0,
                               base_momentum=0.8, max_momentum=0.9)),
    ("OneCycleLR-no-momentum", "sgd", 20,
     lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=20, cycle_momentum=False)),
    ("MultiplicativeLR", "sgd", 15, lambda m, o: m.MultiplicativeLR(o, lambda epoch: 0.9)),
    ("ConstantLR", "sgd", 10, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4)),
    ("PolynomialLR", "adam", 12, lambda m, o: m.PolynomialLR(o, total_iters=8, power=2.0)),
    ("CosineAnnealingWarmRestarts", "sgd", 40,
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3)),
    ("ChainedScheduler", "sgd", 12,
     lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, gamma=0.9),
                                      m.MultiStepLR(o, milestones=[3, 6], gamma=0.1)])),
    ("SequentialLR-constant-then-polynomial", "sgd", 15,
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.2, total_iters=2),
                                     m.PolynomialLR(o, total_iters=10)], milestones=[4])),
    ("SequentialLR-warm-up-then-cosine", "sgd", 25,
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=3),
                                     m.CosineAnnealingLR(o, T_max=8)], milestones=[3])),
    ("SequentialLR-three", "adam", 25,
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.5, total_iters=2),
                                     m.StepLR(o, step_size=2, gamma=0.5),
                                     m.ExponentialLR(o, gamma=0.8)], milestones=[2, 7])),
]


def sequence(scheduler, optimizer, steps):
    """(get_last_lr, the groups' lrs, the momenta) after construction and every step."""
    seen = []
    for step in range(steps + 1):
        if step:
            optimizer.step()
            scheduler.step()
        seen.append((scheduler.get_last_lr(), [g["lr"] for g in optimizer.param_groups],
                     momenta(optimizer)))
    return seen


@pytest.mark.torch
@pytest.mark.parametrize("name,kind,steps,build", CASES, ids=[case[0] for case in CASES])
def test_lr_sequence_is_torchs(name, kind, steps, build):
    torch = torch_or_skip()
    ours = our_optimizer(kind)
    theirs = torch_optimizer(torch, kind)
    our_lrs = sequence(build(lr_scheduler, ours), ours, steps)
    their_lrs = sequence(build(torch.optim.lr_scheduler, theirs), theirs, steps)
    assert our_lrs == their_lrs  # float for float: the same recursion in the same order
    assert [g["initial_lr"] for g in ours.param_groups] == \
        [g["initial_lr"] for g in theirs.param_groups]


@pytest.mark.torch
def test_two_schedulers_on_one_optimizer_chain_as_in_torch():
    torch = torch_or_skip()
    lrs = []
    for module, optimizer in ((lr_scheduler, our_optimizer()),
                              (torch.optim.lr_scheduler, torch_optimizer(torch))):
        first = module.ExponentialLR(optimizer, gamma=0.9)
        second = module.MultiStepLR(optimizer, milestones=[3, 6], gamma=0.1)
        run = []
        for _ in range(10):
            optimizer.step()
            first.step()
            second.step()
            run.append([group["lr"] for group in optimizer.param_groups])
        lrs.append(run)
    assert lrs[0] == lrs[1]


@pytest.mark.torch
def test_warm_restarts_at_fractional_epochs_follow_torch():
    torch = torch_or_skip()
    lrs = []
    for module, optimizer in ((lr_scheduler, our_optimizer()),
                              (torch.optim.lr_scheduler, torch_optimizer(torch))):
        scheduler = module.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=3)
        run = []
        for epoch in range(12):
            for batch in range(4):  # PyTorch's documented per-batch use
                optimizer.step()
                scheduler.step(epoch + batch / 4)
                run.append(scheduler.get_last_lr())
        lrs.append(run)
    assert lrs[0] == lrs[1]


PLATEAU_CASES = [
    dict(),
    dict(factor=0.5, patience=1, cooldown=2),
    dict(mode="max", threshold=0.05, threshold_mode="abs", patience=0, min_lr=[0.02, 0.001]),
    dict(patience=0, factor=0.5, min_lr=0.02, eps=1e-3),
]


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=str)
def test_reduce_lr_on_plateau_follows_torch(kwargs):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    # a loss that improves, then wanders on plateaus
    metrics = np.concatenate([np.linspace(1.0, 0.5, 6), 0.5 + 0.01 * rng.standard_normal(30)])
    runs = []
    for module, optimizer in ((lr_scheduler, our_optimizer()),
                              (torch.optim.lr_scheduler, torch_optimizer(torch))):
        scheduler = module.ReduceLROnPlateau(optimizer, **kwargs)
        run = []
        for metric in metrics:
            optimizer.step()
            scheduler.step(float(metric))
            run.append((scheduler.get_last_lr(), scheduler.num_bad_epochs,
                        scheduler.cooldown_counter, scheduler.best))
        runs.append(run)
    assert runs[0] == runs[1]
    assert runs[0][-1][0] != list(LRS)  # the lrs did come down


@pytest.mark.parametrize("name,kind,steps,build", CASES, ids=[case[0] for case in CASES])
def test_resuming_from_a_saved_file_continues_the_sequence(name, kind, steps, build, tmp_path):
    optimizer = our_optimizer(kind)
    straight = sequence(build(lr_scheduler, optimizer), optimizer, steps)
    half = steps // 2
    optimizer = our_optimizer(kind)
    scheduler = build(lr_scheduler, optimizer)
    first = sequence(scheduler, optimizer, half)
    tg.save({"epoch": half, "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict()}, tmp_path / "checkpoint.npz")
    checkpoint = tg.load(tmp_path / "checkpoint.npz")
    scheduler_state, optimizer_state = checkpoint["scheduler"], checkpoint["optimizer"]
    # as in PyTorch: build the scheduler, then load the optimizer, then the scheduler
    fresh = our_optimizer(kind)
    resumed = build(lr_scheduler, fresh)
    fresh.load_state_dict(optimizer_state)
    resumed.load_state_dict(scheduler_state)
    rest = sequence(resumed, fresh, steps - half)
    assert first + rest[1:] == straight


def test_reduce_lr_on_plateau_resumes_from_a_saved_file(tmp_path):
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86, 0.9, 0.91]
    optimizer = our_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, factor=0.5, cooldown=1)
    straight = []
    for metric in metrics:
        scheduler.step(metric)
        straight.append(scheduler.get_last_lr())
    optimizer = our_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, factor=0.5, cooldown=1)
    for metric in metrics[:4]:
        scheduler.step(metric)
    tg.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
            tmp_path / "checkpoint.npz")
    checkpoint = tg.load(tmp_path / "checkpoint.npz")
    optimizer = our_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    resumed = []
    for metric in metrics[4:]:
        scheduler.step(tg.tensor(metric))  # a one-element Tensor works as the metric too
        resumed.append(scheduler.get_last_lr())
    assert straight[4:] == resumed


def test_schedules_are_importable_from_optim_and_from_lr_scheduler():
    for name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR",
                 "LambdaLR", "LinearLR", "SequentialLR", "ReduceLROnPlateau", "LRScheduler",
                 "MultiplicativeLR", "ConstantLR", "PolynomialLR", "ChainedScheduler",
                 "CosineAnnealingWarmRestarts"):
        assert getattr(optim, name) is getattr(optim.lr_scheduler, name)


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(our_optimizer(), step_size=2, last_epoch=3)


@pytest.mark.parametrize("build,message", [
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.1], total_steps=5), "max_lr"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"),
     "anneal_strategy"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0]), "lr_lambdas"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="lowest"), "mode"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=2.0), "factor"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], milestones=[3]),
     "milestones"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o),
                                             lr_scheduler.StepLR(o, 2)], milestones=[3]),
     "ReduceLROnPlateau"),
])
def test_invalid_schedules_are_refused_with_the_reason(build, message):
    with pytest.raises(ValueError, match=message):
        build(our_optimizer())


def test_one_cycle_refuses_to_step_past_total_steps():
    optimizer = our_optimizer()
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="total_steps"):
        scheduler.step()


def test_cosine_annealing_reaches_eta_min_at_t_max():
    optimizer = our_optimizer()
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=6, eta_min=0.001)
    for _ in range(6):
        scheduler.step()
    assert all(math.isclose(lr, 0.001, rel_tol=1e-9) for lr in scheduler.get_last_lr())


@pytest.mark.parametrize("validate", [True, False])
def test_fit_steps_reduce_lr_on_plateau_with_the_validation_loss(validate):
    from tinygradcnn import data

    tg.manual_seed(0)
    train, val = data.train_val_split(data.Digits(train=True), 0.5, seed=0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    # better only when 100 below the best: the first epoch improves on inf, no later one does
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0,
                                               threshold=100.0, threshold_mode="abs")
    history = tg.fit(model, train, 3, optimizer, validation_data=val if validate else None,
                     scheduler=scheduler, verbose=0, batch_size=256)
    assert history["lr"] == [0.1, 0.1, 0.05]
    assert optimizer.param_groups[0]["lr"] == 0.025
    assert scheduler.best == history["val_loss" if validate else "loss"][0]
