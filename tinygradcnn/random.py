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


class Generator:
    """A random state of its own, as ``torch.Generator``: pass it where a shuffle or split
    takes ``generator=`` to make that one reproducible without touching the global state.

        g = tg.Generator().manual_seed(0)
        loader = DataLoader(dataset, batch_size=64, shuffle=True, generator=g)

    ``device`` is accepted for PyTorch's signature; seeds are drawn on the host either way.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.seed()

    def manual_seed(self, seed: int) -> "Generator":
        """Restart from ``seed``; returns the generator (``Generator().manual_seed(0)``)."""
        self._initial_seed = int(seed)
        self._generator = np.random.default_rng(self._initial_seed)
        return self

    def seed(self) -> int:
        """Restart from a fresh non-deterministic seed and return it."""
        fresh = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
        return self.manual_seed(fresh).initial_seed()

    def initial_seed(self) -> int:
        """The seed the generator was last (re)started from."""
        return self._initial_seed

    def next_seed(self) -> int:
        """A fresh 64-bit seed drawn from this generator (as ``next_seed`` from the global)."""
        return int(self._generator.integers(0, 2**63 - 1, dtype=np.int64))

    def get_state(self) -> dict:
        """A snapshot of the state (JSON-serialisable dict)."""
        return {"initial_seed": self._initial_seed,
                "state": dict(self._generator.bit_generator.state)}

    def set_state(self, state: dict) -> "Generator":
        """Restore a snapshot taken by ``get_state``."""
        self._initial_seed = int(state["initial_seed"])
        self._generator.bit_generator.state = state["state"]
        return self

    def __repr__(self) -> str:
        return f"Generator(initial_seed={self._initial_seed})"


def seed_from(generator: "Generator | None") -> int:
    """A fresh seed from ``generator``, or from the global state when it is None."""
    return next_seed() if generator is None else generator.next_seed()
