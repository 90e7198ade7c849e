"""CPU benchmark: convolution, pooling and elementwise ops against PyTorch; a LeNet-5 step.

    python benchmarks/bench_cpu.py            # warm: uses (and fills) numba's on-disk cache
    python benchmarks/bench_cpu.py --cold     # a fresh, empty NUMBA_CACHE_DIR: compile time shows

Prints, per case, the median time of tinygradcnn and of PyTorch (same thread count) and
their ratio (> 1: we are slower), then LeNet-5 training throughput in images/s. Without
PyTorch installed the table has our column only. The
``first call`` column is the first call of each case in this process: with ``--cold`` it
includes Numba's compile time, warm it is the cache load. Measurements alternate between
the two libraries in blocks of rounds, so background load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--cold", action="store_true", help="compile into a fresh, empty cache")
parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case")
parser.add_argument("--skip-lenet", action="store_true")
parser.add_argument("--step-only", choices=["tinygradcnn", "torch"], help=argparse.SUPPRESS)
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

    torch.set_num_threads(numba.get_num_threads())
except ImportError:  # our column only
    torch = TF = None


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(ours, theirs, rounds: int) -> tuple[float, float, float]:
    """(first call of ours, median of ours, median of theirs), in seconds; theirs is NaN
    without PyTorch.

    The libraries take turns in blocks of a few rounds, so background load hits both alike,
    with a pause at each switch: PyTorch's OpenMP workers spin for a while after each call,
    and a Numba kernel started meanwhile would share the cores with them.
    """
    theirs = theirs or (lambda: None)
    first = timed(ours)
    timed(theirs)
    mine, other = [], []
    block = 5
    for start in range(0, rounds, block):
        for fn, times in ((ours, mine), (theirs, other)):
            time.sleep(0.05)
            fn()  # warm-up after the pause
            times.extend(timed(fn) for _ in range(min(block, rounds - start)))
    return first, float(np.median(mine)), float(np.median(other)) if torch else math.nan


def pair(make_ours, make_theirs):
    """(ours, theirs) step functions; theirs is None without PyTorch."""
    return make_ours(), (make_theirs() if torch else None)


def conv_case(x_shape, w_shape, padding=0, groups=1, backward=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32) * 0.1
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    with tg.no_grad():
        out_shape = F.conv2d(tg.tensor(x), tg.tensor(w), padding=padding, groups=groups).shape
    grad = rng.standard_normal(out_shape).astype(np.float32)

    def make(lib, functional, grad_mode):
        tx, tw, tb = (lib.tensor(a, requires_grad=backward) for a in (x, w, b))
        g = lib.tensor(grad)

        def run():
            if not backward:
                with grad_mode():
                    functional.conv2d(tx, tw, tb, padding=padding, groups=groups)
                return
            tx.grad = tw.grad = tb.grad = None
            functional.conv2d(tx, tw, tb, padding=padding, groups=groups).backward(g)

        return run

    return pair(lambda: make(tg, F, tg.no_grad), lambda: make(torch, TF, torch.no_grad))


def pool_case(shape, backward=False):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    grad = np.ones((shape[0], shape[1], shape[2] // 2, shape[3] // 2), np.float32)

    def make(lib, functional, grad_mode):
        tx, g = lib.tensor(x, requires_grad=backward), lib.tensor(grad)

        def run():
            if not backward:
                with grad_mode():
                    functional.max_pool2d(tx, 2)
                return
            tx.grad = None
            functional.max_pool2d(tx, 2).backward(g)

        return run

    return pair(lambda: make(tg, F, tg.no_grad), lambda: make(torch, TF, torch.no_grad))


def elementwise_case(name, shape, backward=False):
    """One elementwise op over a LeNet-sized activation: unary (``relu``), binary between two
    same-shape arrays (``add``, ``mul``) or with a per-channel bias (``add bias``)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    other = rng.standard_normal(shape if name in ("add", "mul") else (shape[1], 1, 1))
    other = other.astype(np.float32)
    grad = np.ones(shape, np.float32)

    def make(lib, functional, grad_mode):
        tx, to = (lib.tensor(a, requires_grad=backward) for a in (x, other))
        g = lib.tensor(grad)
        apply = {"relu": lambda: functional.relu(tx), "gelu": lambda: functional.gelu(tx),
                 "sigmoid": lambda: lib.sigmoid(tx), "add": lambda: tx + to,
                 "mul": lambda: tx * to, "add bias": lambda: tx + to}[name]

        def run():
            if not backward:
                with grad_mode():
                    apply()
                return
            tx.grad = to.grad = None
            apply().backward(g)

        return run

    return pair(lambda: make(tg, F, tg.no_grad), lambda: make(torch, TF, torch.no_grad))


_ACTIVATION = (64, 6, 28, 28)  # the first LeNet-5 activation: 301,056 floats
CASES = [
    ("conv2d LeNet-1 (64,1,28,28)x(6,1,5,5) p2", conv_case, ((64, 1, 28, 28), (6, 1, 5, 5), 2)),
    ("conv2d LeNet-2 (64,6,14,14)x(16,6,5,5)", conv_case, ((64, 6, 14, 14), (16, 6, 5, 5), 0)),
    ("conv2d ResNet (32,64,32,32)x(64,64,3,3) p1", conv_case,
     ((32, 64, 32, 32), (64, 64, 3, 3), 1)),
    ("conv2d depthwise (32,64,32,32)x(64,1,3,3) p1 g64", conv_case,
     ((32, 64, 32, 32), (64, 1, 3, 3), 1, 64)),
    ("max_pool2d 2x2 (64,6,28,28)", pool_case, ((64, 6, 28, 28),)),
] + [(f"{op} (64,6,28,28)", elementwise_case, (op, _ACTIVATION))
     for op in ("relu", "gelu", "sigmoid", "add", "mul", "add bias")]


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
    torch_info = (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch
                  else "torch not installed (our column only)")
    print(f"numba {numba.__version__} ({numba.get_num_threads()} threads, "
          f"{numba.config.THREADING_LAYER} threading layer), {torch_info}, "
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
    # Each library's step runs in a process of its own, as a user would run it: tinygradcnn
    # sets process-wide knobs (BLAS threads, malloc) that would otherwise favour PyTorch too.
    runs = {lib: [] for lib in (("tinygradcnn", "torch") if torch else ("tinygradcnn",))}
    for _ in range(2):
        for lib, results in runs.items():
            output = subprocess.run([sys.executable, __file__, "--step-only", lib],
                                    capture_output=True, text=True, check=True).stdout
            results.append(json.loads(output.splitlines()[-1]))
    mine = min(r["median"] for r in runs["tinygradcnn"])
    first = runs["tinygradcnn"][0]["first"]
    print()
    line = (f"LeNet-5 training step, batch 64 (best of 2 processes each): tinygradcnn "
            f"{64 / mine:6.0f} images/s ({mine * 1e3:.2f} ms/step)")
    if torch:
        other = min(r["median"] for r in runs["torch"])
        line += (f", PyTorch {64 / other:6.0f} images/s ({other * 1e3:.2f} ms/step), "
                 f"ratio {other / mine:.2f}x of PyTorch's throughput")
    print(line)
    print(f"LeNet-5 first step (includes {'compilation' if args.cold else 'cache load'}): "
          f"{first:.2f} s")


def step_only(lib: str, rounds: int = 300) -> None:
    """Time one library's LeNet-5 step in this process; prints a JSON line."""
    step = lenet_step(lib)
    first = timed(step)
    for _ in range(20):
        step()
    median = float(np.median([timed(step) for _ in range(rounds)]))
    print(json.dumps({"first": first, "median": median}))

if __name__ == "__main__":
    if args.step_only:
        step_only(args.step_only)
    else:
        main()
