"""Worker processes of a `DataLoader(num_workers=n)`: items read and collated in parallel.

Each worker gets its own queue of batches to build (batch k goes to worker k % n) and all of
them answer on one result queue; the loader keeps `prefetch_factor * n` batches in flight and
yields them in order, so the batches are those of `num_workers=0`, whatever the timing.

Workers start with the **forkserver** method (spawn where there is none): a worker is forked
from a small server process that was itself started fresh, never from the loader's process,
so it inherits neither a CUDA context (which a forked child cannot use) nor Numba's running
thread pool (whose threads do not survive a fork). The server imports tinygradcnn once, so
each worker starts in milliseconds instead of re-importing NumPy and Numba. What crosses to
the workers is pickled: the data set, `collate_fn` and `worker_init_fn` must be picklable
(defined at a module's top level; a script that starts workers needs the
`if __name__ == "__main__":` guard, as with PyTorch on spawn).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import queue
import random
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .collate import collate_arrays


@dataclasses.dataclass
class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: its `id` (0..num_workers-1), the
    number of workers, its `seed` (base seed + id) and its copy of the data set."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The `WorkerInfo` of the current worker process; None in the main process."""
    return _worker_info


@dataclasses.dataclass
class _Failure:
    """An exception raised in a worker, carried back to be raised in the main process."""

    worker_id: int
    kind: type
    text: str

    def reraise(self):
        message = (f"Caught {self.kind.__name__} in DataLoader worker process "
                   f"{self.worker_id}.\nOriginal {self.text}")
        try:
            error = self.kind(message)
        except Exception:  # an exception type that takes other arguments
            error = RuntimeError(message)
        raise error


def fetch(dataset, indices, collate_fn: Callable | None, batched: bool) -> Any:
    """One batch (or, unbatched, one sample) read from `dataset`; with the default collate,
    as NumPy arrays (`collate_arrays`), which the loader wraps as Tensors."""
    if not batched:
        sample = dataset[int(indices)]
        return sample if collate_fn is None else collate_fn(sample)
    samples = [dataset[int(index)] for index in indices]
    return collate_arrays(samples) if collate_fn is None else collate_fn(samples)


def _worker_loop(dataset, collate_fn, batched, index_queue, result_queue, worker_id,
                 num_workers, seed, worker_init_fn) -> None:
    global _worker_info
    from ..random import manual_seed

    # each worker its own random streams, reproducible from the loader's base seed
    manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    init_failure = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception as error:
            init_failure = _Failure(worker_id, type(error), traceback.format_exc())
    while True:
        try:
            task = index_queue.get()
        except (EOFError, OSError, KeyboardInterrupt):  # the loader went away
            return
        if task is None:
            return
        number, indices = task
        result: Any = init_failure
        if result is None:
            try:
                result = fetch(dataset, indices, collate_fn, batched)
            except Exception as error:
                result = _Failure(worker_id, type(error), traceback.format_exc())
        result_queue.put((number, result))


def _context(multiprocessing_context):
    if multiprocessing_context is None:
        methods = multiprocessing.get_all_start_methods()
        method = "forkserver" if "forkserver" in methods else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["tinygradcnn.data"])
        return context
    if isinstance(multiprocessing_context, str):
        return multiprocessing.get_context(multiprocessing_context)
    return multiprocessing_context


class WorkerPool:
    """`num_workers` processes that build batches of `dataset` (see the module docstring)."""

    _POLL_SECONDS = 1.0  # how often a wait for a batch checks that the workers are alive

    def __init__(self, dataset, collate_fn: Callable | None, batched: bool, num_workers: int,
                 base_seed: int, worker_init_fn: Callable | None = None,
                 multiprocessing_context=None) -> None:
        context = _context(multiprocessing_context)
        self.result_queue = context.Queue()
        self.index_queues = [context.Queue() for _ in range(num_workers)]
        self.workers: list[Any] = []
        for worker_id, index_queue in enumerate(self.index_queues):
            process = context.Process(
                target=_worker_loop, daemon=True,
                args=(dataset, collate_fn, batched, index_queue, self.result_queue, worker_id,
                      num_workers, (base_seed + worker_id) % 2**63, worker_init_fn))
            try:
                process.start()
            except (pickle.PicklingError, AttributeError, TypeError) as error:
                self.shutdown()
                raise TypeError(
                    f"DataLoader: cannot send the data set, collate_fn or worker_init_fn to a "
                    f"worker process ({error}); define them at the top level of a module "
                    "(not as lambdas or local functions), or pass "
                    "multiprocessing_context='fork' where nothing has used CUDA") from error
            self.workers.append(process)

    def run(self, batches: Sequence[Any], prefetch_factor: int,
            timeout: float = 0) -> Iterator[Any]:
        """Yield the results for `batches` (index arrays, or single indices) in order."""
        # a run's tasks carry its number: results of an abandoned earlier run (a loop left
        # by `break`, with persistent workers) are recognised and dropped
        self._runs = run = getattr(self, "_runs", 0) + 1
        in_flight = prefetch_factor * len(self.workers)
        ready: dict[int, Any] = {}
        sent = 0
        for number in range(len(batches)):
            while sent < len(batches) and sent < number + in_flight:
                self.index_queues[sent % len(self.workers)].put(((run, sent), batches[sent]))
                sent += 1
            while number not in ready:
                (done_run, done), result = self._next_result(timeout)
                if done_run == run:
                    ready[done] = result
            result = ready.pop(number)
            if isinstance(result, _Failure):
                result.reraise()
            yield result

    def _next_result(self, timeout: float) -> tuple[tuple[int, int], Any]:
        start = time.monotonic()
        while True:
            try:
                return self.result_queue.get(timeout=self._POLL_SECONDS)
            except queue.Empty:
                dead = [w for w in self.workers if not w.is_alive()]
                if dead:
                    raise RuntimeError(
                        f"DataLoader worker (pid {dead[0].pid}) exited unexpectedly with "
                        f"exit code {dead[0].exitcode}") from None
                if timeout and time.monotonic() - start > timeout:
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds "
                                       "waiting for a batch from its workers") from None

    def shutdown(self) -> None:
        """Stop the workers (they finish the batch in hand) and release the queues."""
        for index_queue in self.index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):
                pass
        for process in self.workers:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        for q in (*self.index_queues, self.result_queue):
            q.cancel_join_thread()
            q.close()
        self.workers = []
