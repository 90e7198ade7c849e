"""The global random state: ``manual_seed`` makes every random op reproducible.

Kernels draw from a counter-based generator keyed by a 64-bit seed; this module hands out
those seeds from one NumPy generator, so a whole program replays from ``manual_seed(n)``,
and ``get_rng_state``/``set_rng_state`` let a checkpoint resume the exact same sequence.
"""

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed every random op of tinygradcnn (dropout, noise, init, rand, shuffling)."""
    global _generator
    _generator = np.random.default_rng(int(seed))


def next_seed() -> int:
    """A fresh 64-bit seed for one kernel launch."""
    return int(_generator.integers(0, 2**63 - 1, dtype=np.int64))


def generator() -> np.random.Generator:
    """The NumPy generator behind the seeds, for host-side draws (augmentation parameters)."""
    return _generator


def get_rng_state() -> dict:
    """A snapshot of the random state (JSON-serialisable dict)."""
    return dict(_generator.bit_generator.state)


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken by ``get_rng_state``."""
    _generator.bit_generator.state = state
