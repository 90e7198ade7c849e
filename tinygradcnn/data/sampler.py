"""Samplers, as PyTorch's: the order in which a `DataLoader` visits a data set's items.

A sampler iterates over item indices; a batch sampler over lists of them. The built-in ones
also give a whole epoch at once as an index array (`epoch_indices(seed)`), so that the
loader slices batches out of one array instead of looping over Python ints; a sampler of
your own needs only `__iter__` (and `__len__`). `seed` is the epoch's seed when the loader
chooses it (its own `seed=` and the epoch number); None draws a fresh one from the sampler's
`generator`, else from `tinygradcnn.random` (reproducible under `tg.manual_seed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..random import Generator, seed_from


class Sampler:
    """Base class: subclasses define `__iter__` over indices (and usually `__len__`)."""

    def __init__(self, data_source=None) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        if type(self).epoch_indices is Sampler.epoch_indices:
            raise TypeError(f"{type(self).__name__}: a Sampler defines __iter__ (or "
                            "epoch_indices)")
        return iter(self.epoch_indices().tolist())

    def epoch_indices(self, seed: int | None = None) -> np.ndarray:
        """The indices of one epoch as an int64 array (by default, what `__iter__` gives)."""
        return np.fromiter(iter(self), dtype=np.int64)


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def epoch_indices(self, seed: int | None = None) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


def _check_num_samples(name: str, num_samples) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
            or num_samples <= 0:
        raise ValueError(f"{name}: num_samples should be a positive integer value, "
                         f"but got num_samples={num_samples!r}")
    return int(num_samples)


class RandomSampler(Sampler):
    """A random permutation of the items each epoch; with `replacement=True`,
    `num_samples` independent uniform draws (default: len(data_source))."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _check_num_samples("RandomSampler", num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def epoch_indices(self, seed: int | None = None) -> np.ndarray:
        n = len(self.data_source)
        rng = np.random.default_rng(seed_from(self.generator) if seed is None else seed)
        if self.replacement:
            return rng.integers(0, n, self.num_samples, dtype=np.int64)
        # more samples than items: whole permutations one after another, as PyTorch does
        rounds = [rng.permutation(n) for _ in range(-(-self.num_samples // max(n, 1)))]
        return np.concatenate(rounds or [np.zeros(0, np.int64)])[:self.num_samples]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given `indices` in a random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def epoch_indices(self, seed: int | None = None) -> np.ndarray:
        rng = np.random.default_rng(seed_from(self.generator) if seed is None else seed)
        return np.asarray(self.indices, dtype=np.int64)[rng.permutation(len(self.indices))]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probability proportional to `weights` (with or
    without replacement): the usual cure for a class-imbalanced training set."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        self.num_samples = _check_num_samples("WeightedRandomSampler", num_samples)
        weights_array = np.asarray(weights, dtype=np.float64).reshape(-1)
        if weights_array.size == 0 or (weights_array < 0).any() \
                or not np.isfinite(weights_array).all() or weights_array.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             f"not all zero, got {weights_array[:8].tolist()}")
        if not replacement and num_samples > np.count_nonzero(weights_array):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                             f"without replacement from {np.count_nonzero(weights_array)} "
                             "items of non-zero weight")
        self.weights = weights_array
        self.replacement = replacement
        self.generator = generator

    def epoch_indices(self, seed: int | None = None) -> np.ndarray:
        rng = np.random.default_rng(seed_from(self.generator) if seed is None else seed)
        return rng.choice(self.weights.size, self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum()).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter
    unless `drop_last`): `list(BatchSampler(SequentialSampler(range(5)), 2, False))` ->
    `[[0, 1], [2, 3], [4]]`."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:  # type: ignore[override]
        for batch in self.epoch_batches():
            yield batch.tolist()

    def epoch_batches(self, seed: int | None = None) -> list[np.ndarray]:
        """The index array of every batch of one epoch."""
        if isinstance(self.sampler, Sampler):
            order = self.sampler.epoch_indices(seed)
        else:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        stop = order.size - order.size % self.batch_size if self.drop_last else order.size
        return [order[start:start + self.batch_size]
                for start in range(0, stop, self.batch_size)]

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
