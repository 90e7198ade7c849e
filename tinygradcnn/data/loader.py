"""`DataLoader`: a data set in batches of Tensors, with PyTorch's arguments and semantics.

Two ways to build a batch, chosen per data set:

- a data set with `indexable_by_array` (`ArrayDataset`, `TensorDataset`, a `Subset` or a
  `ConcatDataset` of them) answers `dataset[index_array]` with the whole batch: one
  fancy-indexing call, never a Python loop over items. With the default `collate_fn` this is
  the path taken, and `num_workers` is not used: slicing a batch out of memory costs less
  than sending it from another process.
- any other data set is read item by item, `dataset[i]`, and the items are merged by
  `collate_fn` (`default_collate`); with `num_workers > 0` worker processes do that
  (`data/workers.py`), and the batches still come in order, the same as without workers.

Reproducibility: with `seed=`, the shuffle order and the augmentation seeds of epoch `e` are
functions of `(seed, e)` only. `fit` calls `loader.set_epoch(e)` before each epoch, so a run
resumed at epoch `e` sees exactly the batches an uninterrupted run would have seen. Without
`seed`, each epoch draws one seed from `generator` (a `tg.Generator`), else from
`tinygradcnn.random` (reproducible under `tg.manual_seed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..backend import normalize_device
from ..random import Generator, seed_from
from .collate import to_tensors
from .dataset import Subset as Subset
from .dataset import _is_batchable
from .dataset import random_split as random_split
from .dataset import train_val_split as train_val_split
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .transforms import Transform, derive_seed
from .workers import WorkerPool, fetch


def _non_negative_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"DataLoader: {name} option should be a non-negative integer, "
                         f"got {name}={value!r}")
    return int(value)


class DataLoader:
    """Iterate over a data set in batches, as `torch.utils.data.DataLoader`.

    Args (PyTorch's, in PyTorch's order):
        dataset: a map-style data set (`len`, `dataset[i]`; see the module docstring).
        batch_size: samples per batch; None yields single samples, unbatched.
        shuffle: visit the items in a new random order every epoch (default False).
        sampler: the order of the items (a `Sampler` or any iterable of indices); excludes
            `shuffle`.
        batch_sampler: yields whole lists of indices; excludes batch_size, shuffle, sampler
            and drop_last.
        num_workers: worker processes that read and collate items (0: in this process).
        collate_fn: merges a list of samples into a batch (default `default_collate`).
        pin_memory: accepted; batches are host NumPy memory already, copied to the GPU by
            `device=` (there is no pinned-memory pool).
        drop_last: skip the last batch when it is smaller than batch_size.
        timeout: seconds to wait for a batch from the workers (0: no limit).
        worker_init_fn: called as `worker_init_fn(worker_id)` in each worker, first.
        multiprocessing_context: start method ("forkserver", "spawn", "fork") or a context;
            default forkserver (see `data/workers.py` for why).
        generator: a `tg.Generator` for the shuffle order and the workers' base seed.
        prefetch_factor: batches in flight per worker (default 2; only with workers).
        persistent_workers: keep the workers from one epoch to the next.
        pin_memory_device, in_order: accepted for PyTorch's signature (batches always come
            in order).
    tinygradcnn's own (keyword only):
        seed: seed of the shuffle order and the augmentation, so that epoch `e` replays.
        transform: a batch transform (`tinygradcnn.data.transforms`) applied to the first
            field of every batch (the images), on the batch's device.
        device: where the batches are placed ("cpu" or "cuda").

    An `ArrayDataset` yields `(images, labels)`: images float32 (B, C, H, W) in [0, 1] (before
    `transform`), labels int64 (B,).
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
        transform: Transform | None = None,
        device: str = "cpu",
    ) -> None:
        shuffle = bool(shuffle)
        self.num_workers = _non_negative_int("num_workers", num_workers)
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if self.num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing; let num_workers > 0 to enable it, otherwise "
                             "set prefetch_factor to None")
        if persistent_workers and self.num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive "
                                 "with batch_size, shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching "
                                 "and is mutually exclusive with drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self._owns_sampler = sampler is None
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.seed = seed
        self.transform = transform
        self.device = normalize_device(device, "DataLoader")
        self.epoch = 0
        self._pool: WorkerPool | None = None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order (and augmentation) the next iteration replays."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.sampler if self.batch_sampler is None  # type: ignore[arg-type]
                   else self.batch_sampler)

    def batch_indices(self, epoch: int | None = None) -> list[np.ndarray]:
        """The index arrays of every batch of `epoch` (default: the next one), without
        reading any data; for a seeded loader this is a pure function of (seed, epoch)."""
        epoch = self.epoch if epoch is None else epoch
        seed = self.seed if self.seed is not None else 0
        return self._batches(derive_seed(seed, epoch, 0))

    def _batches(self, order_seed: int | None) -> list[Any]:
        """The epoch's batches as index arrays (unbatched: single indices)."""
        if self.batch_sampler is None:
            if isinstance(self.sampler, Sampler):
                return self.sampler.epoch_indices(order_seed).tolist()
            return list(self.sampler)
        if isinstance(self.batch_sampler, BatchSampler):
            return self.batch_sampler.epoch_batches(order_seed)
        return [np.asarray(batch, dtype=np.int64) for batch in self.batch_sampler]

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        self.epoch += 1
        needs_seed = self.shuffle or self.transform is not None
        seed = self.seed if self.seed is not None else (
            seed_from(self.generator) if needs_seed else 0)
        # a sampler passed in keeps its own generator unless the loader was given a seed
        order_seed = (derive_seed(seed, epoch, 0) if self._owns_sampler or self.seed is not None
                      else None)
        batches = self._batches(order_seed)
        for number, batch in enumerate(self._produce(batches)):
            if self.transform is not None:
                batch = self._transformed(batch, derive_seed(seed, epoch, number + 1))
            yield batch

    def _produce(self, batches: list[Any]) -> Iterator[Any]:
        """The batches, read and collated here or by the workers, placed on the device."""
        batched = self.batch_sampler is not None
        if self.collate_fn is None and batched and _is_batchable(self.dataset):
            for indices in batches:
                yield to_tensors(self.dataset[indices], self.device)
            return
        if self.num_workers == 0:
            results: Iterator[Any] = (fetch(self.dataset, indices, self.collate_fn, batched)
                                      for indices in batches)
        else:
            results = self._from_workers(batches, batched)
        for result in results:
            if self.collate_fn is None or self.device != "cpu":
                result = to_tensors(result, self.device)
            yield result

    def _from_workers(self, batches: list[Any], batched: bool) -> Iterator[Any]:
        pool = self._pool
        if pool is None:
            pool = WorkerPool(self.dataset, self.collate_fn, batched, self.num_workers,
                              seed_from(self.generator), self.worker_init_fn,
                              self.multiprocessing_context)
        try:
            yield from pool.run(batches, self.prefetch_factor or 2, self.timeout)
        finally:
            if self.persistent_workers:
                self._pool = pool
            else:
                pool.shutdown()

    def _transformed(self, batch, seed: int):
        transform = self.transform
        if transform is None:
            return batch
        if isinstance(batch, (tuple, list)) and batch:
            return type(batch)([transform(batch[0], seed=seed), *batch[1:]])
        return transform(batch, seed=seed)

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            try:
                pool.shutdown()
            except Exception:  # at interpreter exit the queues may be gone already
                pass

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")
