"""Schedules made of schedules: SequentialLR runs several one after another, ChainedScheduler
steps several at once (their factors multiply)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from .optimizer import Optimizer
from .plateau import ReduceLROnPlateau
from .scheduler import LRScheduler


def _check_parts(name: str, optimizer: Optimizer, schedulers: Sequence[LRScheduler]) -> None:
    if not schedulers:
        raise ValueError(f"{name}: expects at least one scheduler, got none")
    for index, scheduler in enumerate(schedulers):
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{name}: schedulers[{index}] is a ReduceLROnPlateau, whose step "
                             "needs a metric")
        if getattr(scheduler, "optimizer", None) is not optimizer:
            raise ValueError(f"{name}: schedulers[{index}] ({type(scheduler).__name__}) "
                             "drives another optimizer")


class _Composite(LRScheduler):
    """A schedule whose parts set the lrs in their own steps; its state holds theirs."""

    _schedulers: list[LRScheduler]

    def get_lr(self) -> list[float]:
        """The lrs the parts set."""
        return self._current_lrs()

    def state_dict(self) -> dict[str, Any]:
        """Its attributes, with each part's own state_dict in "_schedulers"."""
        state = {key: value for key, value in vars(self).items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, scheduler_state in zip(self._schedulers, saved, strict=True):
            scheduler.load_state_dict(scheduler_state)


class SequentialLR(_Composite):
    """Run `schedulers` one after the other: `schedulers[i + 1]` takes over at epoch
    `milestones[i]`, restarted from its own epoch 0 (e.g. a LinearLR warm-up, then a
    CosineAnnealingLR). All of them drive the same `optimizer`."""

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler],
                 milestones: list[int], last_epoch: int = -1) -> None:
        _check_parts("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need "
                             f"{len(schedulers) - 1} milestones, got {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # each scheduler took its step 0 when it was built; undo them and start the first
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_steps(self)
        index = bisect_right(self._milestones, 0)
        self._schedulers[index]._initial_step()
        self._last_lr = self._schedulers[index].get_last_lr()

    @staticmethod
    def _undo_steps(scheduler: LRScheduler) -> None:
        if isinstance(scheduler, _Composite):
            for inner in scheduler._schedulers:
                SequentialLR._undo_steps(inner)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:
        """Step the schedule of this epoch; at a milestone, start the next one at 0."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Step all of `schedulers` at every `step()`: their changes compose (e.g. an
    ExponentialLR decay with MultiStepLR drops). They drive one optimizer."""

    def __init__(self, schedulers: Sequence[LRScheduler],
                 optimizer: Optimizer | None = None) -> None:
        if not schedulers:
            raise ValueError("ChainedScheduler: expects at least one scheduler, got none")
        optimizer = optimizer or schedulers[0].optimizer
        _check_parts("ChainedScheduler", optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self) -> None:
        """Step every part, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()
