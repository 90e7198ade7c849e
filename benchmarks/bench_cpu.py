"""CPU benchmark: convolution and pooling against PyTorch, then a LeNet-5 training step.

    python benchmarks/bench_cpu.py            # warm: uses (and fills) numba's on-disk cache
    python benchmarks/bench_cpu.py --cold     # a fresh, empty NUMBA_CACHE_DIR: compile time shows

Prints, per case, the median time of tinygradcnn and of PyTorch (same thread count) and
their ratio (> 1: we are slower), then LeNet-5 training throughput in images/s. The
``first call`` column is the first call of each case in this process: with ``--cold`` it
includes Numba's compile time, warm it is the cache load. Measurements alternate between
the two libraries round by round, so background load hits both alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--cold", action="store_true", help="compile into a fresh, empty cache")
parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case")
parser.add_argument("--skip-lenet", action="store_true")
args = parser.parse_args()
if args.cold:  # must happen before numba is imported
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="tinygradcnn-cold-cache-")

import numba  # noqa: E402
import numpy as np  # noqa: E402

import tinygradcnn as tg  # noqa: E402
import tinygradcnn.nn.functional as F  # noqa: E402

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover
    sys.exit("this benchmark compares with PyTorch: pip install torch")

torch.set_num_threads(numba.get_num_threads())


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(ours, theirs, rounds: int) -> tuple[float, float, float]:
    """(first call of ours, median of ours, median of theirs), in seconds."""
    first = timed(ours)
    timed(theirs)
    for _ in range(2):
        ours()
        theirs()
    mine, other = [], []
    for _ in range(rounds):
        mine.append(timed(ours))
        other.append(timed(theirs))
    return first, float(np.median(mine)), float(np.median(other))


def conv_case(x_shape, w_shape, padding=0, groups=1, backward=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32) * 0.1
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    tx, tw, tb = (tg.tensor(a, requires_grad=backward) for a in (x, w, b))
    px, pw, pb = (torch.tensor(a, requires_grad=backward) for a in (x, w, b))
    out_shape = TF.conv2d(px, pw, pb, padding=padding, groups=groups).shape
    grad = rng.standard_normal(tuple(out_shape)).astype(np.float32)
    tgrad, pgrad = tg.tensor(grad), torch.tensor(grad)
    if not backward:
        def ours():
            with tg.no_grad():
                F.conv2d(tx, tw, tb, padding=padding, groups=groups)

        def theirs():
            with torch.no_grad():
                TF.conv2d(px, pw, pb, padding=padding, groups=groups)
    else:
        def ours():
            tx.grad = tw.grad = tb.grad = None
            F.conv2d(tx, tw, tb, padding=padding, groups=groups).backward(tgrad)

        def theirs():
            px.grad = pw.grad = pb.grad = None
            TF.conv2d(px, pw, pb, padding=padding, groups=groups).backward(pgrad)
    return ours, theirs


def pool_case(shape, backward=False):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    tx, px = tg.tensor(x, requires_grad=backward), torch.tensor(x, requires_grad=backward)
    grad = np.ones((shape[0], shape[1], shape[2] // 2, shape[3] // 2), np.float32)
    tgrad, pgrad = tg.tensor(grad), torch.tensor(grad)
    if not backward:
        def ours():
            with tg.no_grad():
                F.max_pool2d(tx, 2)

        def theirs():
            with torch.no_grad():
                TF.max_pool2d(px, 2)
    else:
        def ours():
            tx.grad = None
            F.max_pool2d(tx, 2).backward(tgrad)

        def theirs():
            px.grad = None
            TF.max_pool2d(px, 2).backward(pgrad)
    return ours, theirs


CASES = [
    ("conv2d LeNet-1 (64,1,28,28)x(6,1,5,5) p2", conv_case, ((64, 1, 28, 28), (6, 1, 5, 5), 2)),
    ("conv2d LeNet-2 (64,6,14,14)x(16,6,5,5)", conv_case, ((64, 6, 14, 14), (16, 6, 5, 5), 0)),
    ("conv2d ResNet (32,64,32,32)x(64,64,3,3) p1", conv_case,
     ((32, 64, 32, 32), (64, 64, 3, 3), 1)),
    ("conv2d depthwise (32,64,32,32)x(64,1,3,3) p1 g64", conv_case,
     ((32, 64, 32, 32), (64, 1, 3, 3), 1, 64)),
    ("max_pool2d 2x2 (64,6,28,28)", pool_case, ((64, 6, 28, 28),)),
]


def lenet_step(lib):
    """One LeNet-5 training step (batch 64) written once against either library's API."""
    rng = np.random.default_rng(0)
    shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
              (10, 84), (10,)]
    arrays = [(rng.standard_normal(s) * 0.1).astype(np.float32) for s in shapes]
    images = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 64)
    if lib == "tinygradcnn":
        f, params = F, [tg.tensor(a, requires_grad=True) for a in arrays]
        x, y = tg.tensor(images), tg.tensor(labels)
        optimizer = tg.optim.SGD(params, lr=0.01)
    else:
        f, params = TF, [torch.tensor(a, requires_grad=True) for a in arrays]
        x, y = torch.tensor(images), torch.tensor(labels)
        optimizer = torch.optim.SGD(params, lr=0.01)
    c1, c1b, c2, c2b, l1, l1b, l2, l2b, l3, l3b = params

    def step():
        optimizer.zero_grad()
        h = f.max_pool2d(f.relu(f.conv2d(x, c1, c1b, padding=2)), 2)
        h = f.max_pool2d(f.relu(f.conv2d(h, c2, c2b)), 2)
        h = h.reshape(64, 400)
        h = f.relu(f.linear(h, l1, l1b))
        h = f.relu(f.linear(h, l2, l2b))
        loss = f.cross_entropy(f.linear(h, l3, l3b), y)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    print(f"numba {numba.__version__} ({numba.get_num_threads()} threads, "
          f"{numba.config.THREADING_LAYER} threading layer), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"cache: {'cold ' + os.environ['NUMBA_CACHE_DIR'] if args.cold else 'warm'}")
    header = (f"{'case':50s} {'pass':8s} {'first call':>11s} {'ours':>9s} {'torch':>9s} "
              f"{'ratio':>6s}")
    print(header)
    print("-" * len(header))
    for name, make, params in CASES:
        for backward in (False, True):
            ours, theirs = make(*params, backward=backward)
            first, mine, other = compare(ours, theirs, args.rounds)
            print(f"{name:50s} {'fwd+bwd' if backward else 'fwd':8s} {first * 1e3:9.1f}ms "
                  f"{mine * 1e3:7.3f}ms {other * 1e3:7.3f}ms {mine / other:6.2f}")
    if args.skip_lenet:
        return
    ours, theirs = lenet_step("tinygradcnn"), lenet_step("torch")
    first, mine, other = compare(ours, theirs, max(args.rounds, 30))
    print()
    print(f"LeNet-5 training step, batch 64: tinygradcnn {64 / mine:8.0f} images/s "
          f"({mine * 1e3:.2f} ms/step), PyTorch {64 / other:8.0f} images/s "
          f"({other * 1e3:.2f} ms/step), ratio {other / mine:.2f}x of PyTorch's throughput")
    print(f"LeNet-5 first step (includes {'compilation' if args.cold else 'cache load'}): "
          f"{first:.2f} s")


if __name__ == "__main__":
    main()
