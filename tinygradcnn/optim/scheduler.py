"""The learning-rate scheduler base class, PyTorch's `LRScheduler`: it owns the epoch count
and writes each group's lr; a subclass says what the lr is (`get_lr`). The schedules
themselves are in `schedules.py`, `composite.py`, `one_cycle.py` and `plateau.py`;
`lr_scheduler.py` is the namespace users import them from, as in PyTorch."""

from __future__ import annotations

import abc
from typing import Any

from .optimizer import Optimizer


class LRScheduler(abc.ABC):
    """Base class: subclasses implement `get_lr()`, the lrs at `self.last_epoch` (usually
    from the groups' current lrs). Call `step()` after the optimizer's steps."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            "Optimizer")
        self.optimizer = optimizer
        for index, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{index}] has no "
                               f"'initial_lr' to resume from (last_epoch={last_epoch}); load "
                               "the optimizer's state first, or start with last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Step 0: set the lrs of the schedule's start."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    @abc.abstractmethod
    def get_lr(self) -> list[float]:
        """The lr of every group at `self.last_epoch` (called by `step`)."""

    def step(self) -> None:
        """Advance one step (an epoch, or a batch for OneCycleLR) and set the groups' lrs."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        """Set the lrs of the next step, or of `epoch` by the closed form where there is
        one (how SequentialLR restarts a schedule at its milestone)."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._closed_form_lr() if hasattr(self, "_closed_form_lr") else \
                self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lrs set by the last `step()`, one per parameter group."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (PyTorch's layout); `tg.save` stores it."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by `state_dict`. The lrs themselves live in the
        optimizer's state: load that too, as in PyTorch."""
        self.__dict__.update(state_dict)
