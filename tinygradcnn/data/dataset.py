"""Map-style data sets as PyTorch's `torch.utils.data`: `Dataset`, `TensorDataset`,
`ConcatDataset`, `Subset` and the splits.

A data set is anything with `len(dataset)` and `dataset[i]` -> one sample. One that sets
`indexable_by_array = True` also answers `dataset[index_array]` with the whole batch at once,
as a tuple of arrays or Tensors with a leading batch axis (the same values the default
collate would have stacked from the items); the `DataLoader` then builds a batch with one
fancy-indexing call instead of a Python loop over items.
"""

from __future__ import annotations

import abc
import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..random import Generator, seed_from


class Dataset(abc.ABC):
    """Base class of map-style data sets: subclasses define `__getitem__` (and `__len__`).

    `a + b` is `ConcatDataset([a, b])`."""

    indexable_by_array: bool = False

    @abc.abstractmethod
    def __getitem__(self, index) -> Any:
        """The sample at `index`."""

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


def _is_batchable(dataset) -> bool:
    return bool(getattr(dataset, "indexable_by_array", False))


class TensorDataset(Dataset):
    """Samples are the rows of tensors (or arrays) sharing their first dimension:
    `TensorDataset(x (N, ...), y (N,))[i]` -> `(x[i], y[i])`."""

    indexable_by_array = True

    def __init__(self, *tensors) -> None:
        sizes = [tensor.shape[0] if len(tensor.shape) else None for tensor in tensors]
        if not tensors or None in sizes or len(set(sizes)) != 1:
            shapes = [tuple(tensor.shape) for tensor in tensors]
            raise ValueError(f"TensorDataset: size mismatch between tensors, shapes {shapes} "
                             "(all need the same first dimension)")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __repr__(self) -> str:
        return f"TensorDataset({', '.join(str(tuple(t.shape)) for t in self.tensors)})"


class ConcatDataset(Dataset):
    """The data sets one after another: item `len(a)` of `ConcatDataset([a, b])` is `b[0]`."""

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    @property
    def indexable_by_array(self) -> bool:  # type: ignore[override]
        return all(_is_batchable(dataset) for dataset in self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, index: int) -> tuple[int, int]:
        if index < 0:
            if -index > len(self):
                raise IndexError(f"ConcatDataset: index {index} out of range for "
                                 f"{len(self)} items")
            index += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} items")
        return part, index - (self.cumulative_sizes[part - 1] if part else 0)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            part, local = self._locate(int(index))
            return self.datasets[part][local]
        return self._batch(np.asarray(index, dtype=np.int64))

    def _batch(self, indices: np.ndarray):
        """A batch from parts that are all indexable by arrays, in the order asked for."""
        indices = np.where(indices < 0, indices + len(self), indices)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise IndexError(f"ConcatDataset: indices out of range for {len(self)} items")
        parts = np.searchsorted(self.cumulative_sizes, indices, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes[:-1]])
        order = np.argsort(parts, kind="stable")  # grouped by part, each group in order
        pieces = [self.datasets[part][indices[order][parts[order] == part] - starts[part]]
                  for part in np.unique(parts)]
        restore = np.argsort(order)
        from ..tensor import Tensor

        fields: list[Any] = []
        for column in zip(*pieces, strict=True):
            if isinstance(column[0], Tensor):
                from ..ops.shape import cat

                fields.append(cat(list(column))[restore])
            else:
                fields.append(np.concatenate(column)[restore])
        return tuple(fields)


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order; indexable like the data set."""

    def __init__(self, dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    @property
    def indexable_by_array(self) -> bool:  # type: ignore[override]
        return _is_batchable(self.dataset)

    def __len__(self) -> int:
        return self.indices.shape[0]

    def __getitem__(self, index):
        position = self.indices[index]
        return self.dataset[int(position) if position.ndim == 0 else position]

    def __getattr__(self, name: str):
        # classes, image_shape, num_classes ... come from the wrapped data set
        if name in ("dataset", "indices"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, n={len(self)})"


def random_split(
    dataset, lengths: Sequence[int | float], seed: int | None = 0,
    generator: Generator | None = None,
) -> list[Subset]:
    """Split `dataset` into non-overlapping random subsets of the given lengths.

    `lengths` are item counts summing to len(dataset), or fractions summing to 1 (the
    remainder of the rounding goes to the first parts). The permutation comes from `seed`;
    `seed=None` draws it from `generator` (a `tg.Generator`), else from `tinygradcnn.random`
    (reproducible under `tg.manual_seed`). PyTorch's `random_split(ds, lengths, generator)`
    works too: a Generator passed third is taken as the generator.
    """
    if isinstance(seed, Generator):
        seed, generator = None, seed
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
    rng = np.random.default_rng(seed_from(generator) if seed is None else seed)
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
