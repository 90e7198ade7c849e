"""Batching, shuffling and splitting of in-memory data sets.

A data set here is anything with `len(dataset)` whose `dataset[index_array]` returns
`(images, labels)` NumPy arrays for all those indices at once (`ArrayDataset`, `Subset`), so
a batch is one fancy-indexing call, never a Python loop over items.

Reproducibility: the shuffle order and the augmentation seeds of epoch `e` are functions of
`(seed, e)` only. `fit` calls `loader.set_epoch(e)` before each epoch, so a run resumed at
epoch `e` sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..backend import normalize_device
from .transforms import Transform, _global_seed, derive_seed


class Subset:
    """The items of `dataset` at `indices`, in that order; indexable like the data set."""

    def __init__(self, dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return self.indices.shape[0]

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __getattr__(self, name: str):
        # classes, image_shape, num_classes ... come from the wrapped data set
        if name in ("dataset", "indices"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, n={len(self)})"


def random_split(
    dataset, lengths: Sequence[int | float], seed: int | None = 0
) -> list[Subset]:
    """Split `dataset` into non-overlapping random subsets of the given lengths.

    `lengths` are item counts summing to len(dataset), or fractions summing to 1 (the
    remainder of the rounding goes to the first parts). `seed=None` draws the permutation
    from `tinygradcnn.random` (reproducible under `tg.manual_seed`).
    """
    total = len(dataset)
    if all(isinstance(length, float) for length in lengths):
        if abs(sum(lengths) - 1.0) > 1e-6:
            raise ValueError(f"random_split: fractions {lengths} do not sum to 1")
        counts = [int(np.floor(total * fraction)) for fraction in lengths]
        for k in range(total - sum(counts)):
            counts[k % len(counts)] += 1
    else:
        counts = [int(length) for length in lengths]
    if sum(counts) != total or min(counts) < 0:
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the "
                         f"{total} items of the data set")
    rng = np.random.default_rng(_global_seed() if seed is None else seed)
    order = rng.permutation(total)
    bounds = np.cumsum([0, *counts])
    pairs = zip(bounds[:-1], bounds[1:], strict=True)
    return [Subset(dataset, order[start:stop]) for start, stop in pairs]


def train_val_split(
    dataset, val_fraction: float = 0.1, seed: int | None = 0
) -> tuple[Subset, Subset]:
    """(train, validation) subsets with round(val_fraction * len) validation items."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    n_val = int(round(len(dataset) * val_fraction))
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], seed=seed)
    return train, val


class DataLoader:
    """Iterate over a data set in batches of Tensors.

    Args:
        dataset: an `ArrayDataset`, `Subset` or anything indexable by an index array.
        batch_size: images per batch.
        shuffle: visit the items in a new random order every epoch.
        drop_last: skip the last batch when it is smaller than batch_size.
        seed: seed of the shuffle order and the augmentation; None draws a fresh seed from
            `tinygradcnn.random` at the start of every epoch.
        transform: a batch transform (`tinygradcnn.data.transforms`) applied to the images.
        device: where the batches are placed ("cpu" or "cuda").

    Yields `(images, labels)`: images float32 (B, C, H, W) in [0, 1] (before `transform`),
    labels int64 (B,).
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        transform: Transform | None = None,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.transform = transform
        self.device = normalize_device(device, "DataLoader")
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order (and augmentation) the next iteration replays."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batch_indices(self, epoch: int | None = None) -> list[np.ndarray]:
        """The index arrays of every batch of `epoch` (default: the next one), without
        reading any data; for a seeded loader this is a pure function of (seed, epoch)."""
        epoch = self.epoch if epoch is None else epoch
        seed = self.seed if self.seed is not None else 0
        return self._batches(seed, epoch)

    def _batches(self, seed: int, epoch: int) -> list[np.ndarray]:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(derive_seed(seed, epoch, 0)).permutation(n)
        else:
            order = np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        return [order[start:start + self.batch_size] for start in range(0, stop, self.batch_size)]

    def __iter__(self) -> Iterator[tuple]:
        from ..tensor import Tensor

        epoch = self.epoch
        self.epoch += 1
        needs_seed = self.shuffle or self.transform is not None
        seed = self.seed if self.seed is not None else (_global_seed() if needs_seed else 0)
        for number, indices in enumerate(self._batches(seed, epoch)):
            images, labels = self.dataset[indices]
            # moved first, so that the augmentation runs on the batch's device
            batch = Tensor(np.asarray(images, np.float32, order="C"), device=self.device)
            if self.transform is not None:
                batch = self.transform(batch, seed=derive_seed(seed, epoch, number + 1))
            yield batch, Tensor(np.asarray(labels, np.int64, order="C"), device=self.device)

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")
