"""Checkpoints: what a run's state is, and how a `fit` continues from one.

A checkpoint holds everything the next epoch depends on: the weights and buffers, the
optimizer and schedule state, the random state, the callbacks' state, the history and the
epoch number. Each callback with state gets back its own (matched by type and rank), and a
callback that would have to start from scratch is an error, not a silent reset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import random as tg_random
from .callbacks import Callback

if TYPE_CHECKING:
    from .loop import Trainer

CHECKPOINT_FORMAT = "tinygradcnn-checkpoint-v1"


def _match_callbacks(callbacks: list[Callback], saved: list[dict[str, Any]]
                     ) -> list[tuple[Callback, dict[str, Any]]]:
    """Pair each callback that has state with the saved entry of the same type and rank
    (the second EarlyStopping gets the second saved EarlyStopping state). A callback with
    state and no saved state of its own would silently start from scratch: a ValueError.
    Callbacks without state (TerminateOnNaN) carry nothing and need no partner."""
    pairs: list[tuple[Callback, dict[str, Any]]] = []
    unmatched: list[str] = []
    seen: dict[str, int] = {}  # callbacks of each type met so far
    for callback in callbacks:
        if not callback.state_dict():
            continue
        name = type(callback).__name__
        rank = seen[name] = seen.get(name, -1) + 1
        entries = [entry for entry in saved if entry["type"] == name]
        if rank < len(entries):
            pairs.append((callback, entries[rank]))
        else:
            unmatched.append(name)
    if unmatched:
        held = [entry["type"] for entry in saved if entry["state"]]
        raise ValueError(f"resume: this fit's callbacks {', '.join(unmatched)} have no state "
                         f"in the checkpoint, which holds the state of "
                         f"[{', '.join(held)}]; pass the callbacks the checkpoint was "
                         "written with (a callback added now would start from scratch)")
    return pairs


def make_checkpoint(trainer: Trainer) -> dict[str, Any]:
    """The state of a run after `trainer.epoch` epochs, as a nest that `tg.save` stores:
    weights and buffers, optimizer, schedule, random state, history, callbacks."""
    return {
        "format": CHECKPOINT_FORMAT,
        "epoch": trainer.epoch,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
        "rng_state": tg_random.get_rng_state(),
        "history": trainer.history.state_dict(),
        "callbacks": [{"type": type(cb).__name__, "state": cb.state_dict()}
                      for cb in trainer.callbacks],
    }


def restore(trainer: Trainer, checkpoint: dict[str, Any]) -> None:
    """Put `trainer` (its model, optimizer, schedule, callbacks, history, epoch) and the
    global random state back where `checkpoint` left them."""
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("resume: not a tinygradcnn checkpoint (a weights-only file? "
                         "load it with model.load_state_dict(tg.load(path)))")
    pairs = _match_callbacks(trainer.callbacks, checkpoint["callbacks"])
    for name in sorted({entry["type"] for entry in checkpoint["callbacks"] if entry["state"]}
                       - {type(cb).__name__ for cb, _ in pairs}):
        trainer.log(f"resume: the checkpoint's {name} state is not restored: this fit has "
                    f"no {name}")
    for callback, entry in pairs:  # first: they check that they monitor the same thing
        callback.load_state_dict(entry["state"])
    trainer.model.load_state_dict(checkpoint["model"])
    trainer.optimizer.load_state_dict(checkpoint["optimizer"])
    if trainer.scheduler is not None and checkpoint["scheduler"] is not None:
        trainer.scheduler.load_state_dict(checkpoint["scheduler"])
    tg_random.set_rng_state(checkpoint["rng_state"])
    trainer.history.load_state_dict(checkpoint["history"])
    trainer.epoch = int(checkpoint["epoch"])
    trainer.resumed = True
