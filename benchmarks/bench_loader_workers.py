"""DataLoader worker processes: when they pay, and what starting them costs.

A per-item data set whose `__getitem__` does real work (a few milliseconds of NumPy per
image, like decoding and resizing a photo) is read with num_workers = 0, 1, 2, ...; the
batches must be identical to num_workers=0's. Also times one epoch of the start methods
(forkserver, the default, spawn and fork) on a cheap data set, where the start-up dominates,
and an MNIST-sized uint8 data set with torchvision's `Compose([ToTensor(), Normalize])`
read through the one-call batch path against item by item.

    python benchmarks/bench_loader_workers.py [--items 384] [--work-ms 2] [--repeats 3]

Prints the best of `repeats` epochs per setting (the best, as other processes share the
cores) and the spread between the best and the worst run.
"""

import argparse
import os
import time

import numpy as np

from tinygradcnn import data


class Expensive(data.Dataset):
    """Item i: a (1, 32, 32) float32 image made by `rounds` rounds of FFT smoothing."""

    def __init__(self, n: int, rounds: int) -> None:
        self.n, self.rounds = n, rounds

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        image = np.random.default_rng(i).random((64, 64))
        for _ in range(self.rounds):
            image = np.abs(np.fft.ifft2(np.fft.fft2(image) * 0.5))
        return image[:32, :32].astype(np.float32)[None], i % 10


def _rounds_for(work_ms: float) -> int:
    """FFT rounds that take about `work_ms` per item on this machine."""
    dataset = Expensive(1, 50)
    start = time.perf_counter()
    dataset[0]
    per_round = (time.perf_counter() - start) / 50
    return max(1, int(round(work_ms / 1000 / per_round)))


def _epoch(loader) -> tuple[float, list]:
    start = time.perf_counter()
    batches = [(images.numpy(), labels.numpy()) for images, labels in loader]
    return time.perf_counter() - start, batches


def _timed(loader, repeats: int) -> tuple[float, float, list]:
    times, batches = [], []
    for _ in range(repeats):
        seconds, batches = _epoch(loader)
        times.append(seconds)
    return min(times), max(times), batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--work-ms", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rounds = _rounds_for(args.work_ms)
    dataset = Expensive(args.items, rounds)
    print(f"{args.items} items, ~{args.work_ms} ms of work each ({rounds} FFT rounds), "
          f"batch {args.batch_size}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    reference = None
    for workers in (0, 1, 2, 4):
        loader = data.DataLoader(dataset, args.batch_size, num_workers=workers,
                                 persistent_workers=workers > 0)
        best, worst, batches = _timed(loader, args.repeats)
        if reference is None:
            reference = batches
        same = all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                   for a, b in zip(batches, reference, strict=True))
        print(f"num_workers={workers}: {best * 1000:7.0f} ms per epoch (worst "
              f"{worst * 1000:.0f} ms), batches identical to num_workers=0: {same}")
    cheap = Expensive(args.batch_size * 2, 1)
    for method in ("forkserver", "spawn", "fork"):
        loader = data.DataLoader(cheap, args.batch_size, num_workers=2,
                                 multiprocessing_context=method)
        best, worst, _ = _timed(loader, args.repeats)
        print(f"start method {method:10s}: {best * 1000:6.0f} ms for a 2-batch epoch with 2 "
              f"fresh workers (worst {worst * 1000:.0f} ms)")
    _batch_path_against_items(args.repeats)


def _batch_path_against_items(repeats: int, n: int = 6400) -> None:
    from tinygradcnn.data import transforms as T

    images = np.random.default_rng(0).integers(0, 256, (n, 1, 28, 28), dtype=np.uint8)
    transform = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    dataset = data.ArrayDataset(images, np.arange(n) % 10, transform=transform)
    for name, collate in (("batch path", None), ("item by item", data.default_collate)):
        loader = data.DataLoader(dataset, 64, collate_fn=collate)
        best, worst, _ = _timed(loader, repeats)
        print(f"{n} images (1, 28, 28), ToTensor + Normalize, {name:12s}: "
              f"{best / n * 1e6:7.1f} us per image (worst {worst / n * 1e6:.1f})")


if __name__ == "__main__":
    main()
