"""CPU benchmark: convolution, pooling and elementwise ops against PyTorch; a LeNet-5 step.

    python benchmarks/bench_cpu.py                 # the table (warm: uses numba's cache)
    python benchmarks/bench_cpu.py --cold          # a fresh, empty NUMBA_CACHE_DIR
    python benchmarks/bench_cpu.py --quick         # a smoke run: tiny batches, 2 rounds
    python benchmarks/bench_cpu.py --rounds 25 --json cpu.json

Every case is timed twice over, and both ratios are printed (issue 13):

- **same process**: tinygradcnn and PyTorch in this process, taking turns in blocks of a
  few rounds (with a pause at each switch: PyTorch's OpenMP workers spin for a while after
  a call). tinygradcnn's process-wide settings then act on PyTorch too: glibc malloc keeping
  freed blocks for reuse (``backend._keep_freed_memory``, applied here before any timing)
  and one BLAS thread for NumPy (threadpoolctl, which may reach PyTorch's BLAS too).
- **own process**: each library in processes of its own that import nothing of the other,
  PyTorch as installed; the libraries' processes alternate (ours, PyTorch, ours, ...,
  ``--processes`` each), and the times of a library's processes are pooled.

Each figure is a median. PyTorch always runs with Numba's thread count. ``ratio`` is our
time over PyTorch's for the op table (> 1: we are slower) and our throughput over PyTorch's
for the LeNet-5 step (> 1: we are faster), as the issue states its targets. ``first call`` is
our first call of the case in this process: with ``--cold`` it includes Numba's compile
time, warm it is the cache load.

Then the yardsticks: the machine's float32 FMA peak and triad bandwidth (machine.py,
measured in this run on all threads) and, per conv, our and PyTorch's achieved GFLOP/s as a
fraction of that peak: 2*N*O*OH*OW*(C/groups)*KH*KW FLOPs forward, 3x that forward+backward
(the input and weight gradients each cost a forward). For the depthwise conv the achieved
bandwidth against the measured one: its forward must move input + weight + bias + output
once (4 bytes each), forward+backward about 3x that (the backward reads the output gradient
and input and writes the input and weight gradients). Its 16 MiB of activations fit in a
32 MiB L3, so above 100% is possible there. Without PyTorch the table has our columns only.
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
from typing import NamedTuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package of this checkout, run from anywhere
LIBS = ("tinygradcnn", "torch")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="compile into a fresh, empty cache")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per case (15)")
    parser.add_argument("--lenet-rounds", type=int, default=None,
                        help="timed LeNet-5 steps per process and in this process (200)")
    parser.add_argument("--processes", type=int, default=None,
                        help="own-process runs per library, alternating (2)")
    parser.add_argument("--quick", action="store_true",
                        help="batches of 2, 2 rounds, one process each: checks the script")
    parser.add_argument("--skip-lenet", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--worker", choices=LIBS, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 15)
    args.lenet_rounds = args.lenet_rounds or (5 if args.quick else 200)
    args.processes = args.processes or (1 if args.quick else 2)
    return args


class Lib(NamedTuple):
    """One library's API as the cases use it."""
    name: str
    tensor: object
    F: object
    no_grad: object
    sigmoid: object
    SGD: object


def library(name: str, threads: int) -> Lib:
    """Import one library: tinygradcnn with its CPU kernels loaded (and so its process-wide
    settings applied), or PyTorch on ``threads`` threads."""
    if name == "tinygradcnn":
        import tinygradcnn as tg
        import tinygradcnn.nn.functional as F
        from tinygradcnn import backend

        backend.kernels_for("cpu")  # BLAS threads and malloc settings, before any timing
        return Lib(name, tg.tensor, F, tg.no_grad, tg.sigmoid, tg.optim.SGD)
    import torch
    import torch.nn.functional as TF

    torch.set_num_threads(threads)
    return Lib(name, torch.tensor, TF, torch.no_grad, torch.sigmoid, torch.optim.SGD)


def batch(shape: tuple, quick: bool) -> tuple:
    return (min(shape[0], 2), *shape[1:]) if quick else shape


def conv_case(lib: Lib, backward: bool, quick: bool, x_shape, w_shape, padding=0, groups=1):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(batch(x_shape, quick)).astype(np.float32)
    w = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    tx, tw, tb = (lib.tensor(a, requires_grad=backward) for a in (x, w, b))
    g = lib.tensor(np.ones(conv_out_shape(x.shape, w_shape, padding), np.float32))

    def run():
        if not backward:
            with lib.no_grad():
                lib.F.conv2d(tx, tw, tb, padding=padding, groups=groups)
            return
        tx.grad = tw.grad = tb.grad = None
        lib.F.conv2d(tx, tw, tb, padding=padding, groups=groups).backward(g)

    return run


def conv_out_shape(x_shape, w_shape, padding=0) -> tuple:
    """(N, O, OH, OW) of a stride-1 conv."""
    n, _, h, w = x_shape
    return (n, w_shape[0], h + 2 * padding - w_shape[2] + 1, w + 2 * padding - w_shape[3] + 1)


def pool_case(lib: Lib, backward: bool, quick: bool, shape):
    shape = batch(shape, quick)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    tx = lib.tensor(x, requires_grad=backward)
    g = lib.tensor(np.ones((*shape[:2], shape[2] // 2, shape[3] // 2), np.float32))

    def run():
        if not backward:
            with lib.no_grad():
                lib.F.max_pool2d(tx, 2)
            return
        tx.grad = None
        lib.F.max_pool2d(tx, 2).backward(g)

    return run


def elementwise_case(lib: Lib, backward: bool, quick: bool, name, shape):
    """One elementwise op over a LeNet-sized activation: unary (``relu``), binary between two
    same-shape arrays (``add``, ``mul``) or with a per-channel bias (``add bias``)."""
    shape = batch(shape, quick)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    other = rng.standard_normal(shape if name in ("add", "mul") else (shape[1], 1, 1))
    tx, to = (lib.tensor(a, requires_grad=backward) for a in (x, other.astype(np.float32)))
    g = lib.tensor(np.ones(shape, np.float32))
    apply = {"relu": lambda: lib.F.relu(tx), "gelu": lambda: lib.F.gelu(tx),
             "sigmoid": lambda: lib.sigmoid(tx), "add": lambda: tx + to,
             "mul": lambda: tx * to, "add bias": lambda: tx + to}[name]

    def run():
        if not backward:
            with lib.no_grad():
                apply()
            return
        tx.grad = to.grad = None
        apply().backward(g)

    return run


_ACTIVATION = (64, 6, 28, 28)  # the first LeNet-5 activation: 301,056 floats
RESNET_CONV = "conv2d ResNet (32,64,32,32)x(64,64,3,3) p1"
DEPTHWISE_CONV = "conv2d depthwise (32,64,32,32)x(64,1,3,3) p1 g64"
CASES = [
    ("conv2d LeNet-1 (64,1,28,28)x(6,1,5,5) p2", conv_case, ((64, 1, 28, 28), (6, 1, 5, 5), 2)),
    ("conv2d LeNet-2 (64,6,14,14)x(16,6,5,5)", conv_case, ((64, 6, 14, 14), (16, 6, 5, 5), 0)),
    (RESNET_CONV, conv_case, ((32, 64, 32, 32), (64, 64, 3, 3), 1)),
    (DEPTHWISE_CONV, conv_case, ((32, 64, 32, 32), (64, 1, 3, 3), 1, 64)),
    ("max_pool2d 2x2 (64,6,28,28)", pool_case, ((64, 6, 28, 28),)),
] + [(f"{op} (64,6,28,28)", elementwise_case, (op, _ACTIVATION))
     for op in ("relu", "gelu", "sigmoid", "add", "mul", "add bias")]
PASSES = (("fwd", False), ("fwd+bwd", True))


def lenet_step(lib: Lib, n: int = 64):
    """One LeNet-5 training step (batch 64: forward, cross-entropy, backward, SGD) written
    once against either library's API."""
    rng = np.random.default_rng(0)
    shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
              (10, 84), (10,)]
    params = [lib.tensor((rng.standard_normal(s) * 0.1).astype(np.float32), requires_grad=True)
              for s in shapes]
    x = lib.tensor(rng.standard_normal((n, 1, 28, 28)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, n))
    optimizer = lib.SGD(params, lr=0.01)
    c1, c1b, c2, c2b, l1, l1b, l2, l2b, l3, l3b = params
    f = lib.F

    def step():
        optimizer.zero_grad()
        h = f.max_pool2d(f.relu(f.conv2d(x, c1, c1b, padding=2)), 2)
        h = f.max_pool2d(f.relu(f.conv2d(h, c2, c2b)), 2)
        h = f.relu(f.linear(h.reshape(n, 400), l1, l1b))
        h = f.relu(f.linear(h, l2, l2b))
        f.cross_entropy(f.linear(h, l3, l3b), y).backward()
        optimizer.step()

    return step


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def take_turns(runs: dict, rounds: int, block: int = 5) -> dict[str, list[float]]:
    """Times of each library's call, the libraries taking turns in blocks of ``block``
    rounds, a pause and one untimed warm-up call at each switch."""
    times: dict[str, list[float]] = {lib: [] for lib in runs}
    for start in range(0, rounds, block):
        for lib, run in runs.items():
            time.sleep(0.05)
            run()
            times[lib].extend(timed(run) for _ in range(min(block, rounds - start)))
    return times


def worker(args) -> None:
    """One library alone in this process: every case's times and the LeNet-5 step's, as a
    JSON line."""
    lib = library(args.worker, args.threads)
    result: dict = {"cases": {}}
    for name, make, params in CASES:
        for label, backward in PASSES:
            run = make(lib, backward, args.quick, *params)
            run()
            run()
            result["cases"][f"{name}|{label}"] = [timed(run) for _ in range(args.rounds)]
    if not args.skip_lenet:
        step = lenet_step(lib)
        for _ in range(10):
            step()
        result["lenet"] = [timed(step) for _ in range(args.lenet_rounds)]
    print(json.dumps(result))


def installed_environment() -> dict[str, str]:
    """This process's environment without what tinygradcnn's CPU backend set in it (the
    OpenMP spin count), so that a worker runs each library as installed."""
    from tinygradcnn import backend

    env = dict(os.environ)
    if backend.spin_count_set:
        env.pop("GOMP_SPINCOUNT", None)
    return env


def own_processes(args, threads: int, libs: list[str]) -> dict[str, dict]:
    """Each library's pooled times from ``args.processes`` processes of its own, alternating."""
    pooled: dict[str, dict] = {lib: {"cases": {}, "lenet": []} for lib in libs}
    flags = [f"--rounds={args.rounds}", f"--lenet-rounds={args.lenet_rounds}",
             f"--threads={threads}"] + ["--quick"] * args.quick + ["--skip-lenet"] * args.skip_lenet
    for _ in range(args.processes):
        for lib in libs:
            time.sleep(0.5)
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", lib,
                                   *flags], capture_output=True, text=True,
                                  env=installed_environment())
            if done.returncode != 0:
                raise RuntimeError(f"the {lib} worker failed (exit {done.returncode}):\n"
                                   f"{done.stderr[-3000:]}")
            result = json.loads(done.stdout.splitlines()[-1])
            for key, times in result["cases"].items():
                pooled[lib]["cases"].setdefault(key, []).extend(times)
            pooled[lib]["lenet"].extend(result.get("lenet", []))
    return pooled


def conv_flops(params: tuple, quick: bool) -> float:
    """Forward FLOPs of a conv case: 2*N*O*OH*OW*(C/groups)*KH*KW."""
    x_shape, w_shape, *rest = params
    n, o, oh, ow = conv_out_shape(batch(x_shape, quick), w_shape, *rest[:1])
    return 2.0 * n * o * oh * ow * w_shape[1] * w_shape[2] * w_shape[3]


def conv_bytes(params: tuple, quick: bool) -> float:
    """Forward bytes a conv must move at least: input + weight + bias + output, float32."""
    x_shape, w_shape, *rest = params
    sizes = (batch(x_shape, quick), w_shape, w_shape[:1],
             conv_out_shape(batch(x_shape, quick), w_shape, *rest[:1]))
    return 4.0 * sum(math.prod(s) for s in sizes)


def median(times) -> float:
    return float(np.median(times)) if times else math.nan


def main(args) -> None:
    if args.cold:  # before numba is imported
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="tinygradcnn-cold-cache-")
    import machine
    import numba

    threads = numba.get_num_threads()
    ours = library("tinygradcnn", threads)
    try:
        theirs = library("torch", threads)
        torch_info = f"torch {sys.modules['torch'].__version__} ({threads} threads)"
    except ImportError:
        theirs, torch_info = None, "torch not installed (our columns only)"
    libs = [lib.name for lib in (ours, theirs) if lib]
    keep = os.environ.get("TINYGRADCNN_KEEP_MEMORY", "1") != "0"
    print(f"numba {numba.__version__} ({threads} threads, {numba.config.THREADING_LAYER} "
          f"threading layer), {torch_info}, cache: "
          f"{'cold ' + os.environ['NUMBA_CACHE_DIR'] if args.cold else 'warm'}; same process: "
          f"{'tinygradcnn malloc settings for both' if keep else 'malloc left alone'}, "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')}"
          + ("; QUICK: batches of 2, checks the script, measures nothing" if args.quick else ""))
    spec = machine.measure(quick=args.quick)
    print(machine.describe(spec))
    results: dict = {"machine": spec, "quick": args.quick, "rounds": args.rounds,
                     "threads": threads, "cases": []}
    for name, make, params in CASES:
        for label, backward in PASSES:
            run_ours = make(ours, backward, args.quick, *params)
            first = timed(run_ours)
            runs = {"tinygradcnn": run_ours}
            if theirs:
                runs["torch"] = make(theirs, backward, args.quick, *params)
                runs["torch"]()
            times = take_turns(runs, args.rounds)
            results["cases"].append({"case": name, "pass": label, "first_s": first,
                                     "same": {lib: median(t) for lib, t in times.items()}})
            print(f"  {name} {label}: done", file=sys.stderr, flush=True)
    lenet = {}
    if not args.skip_lenet:
        steps = {"tinygradcnn": lenet_step(ours)}
        lenet["first_s"] = timed(steps["tinygradcnn"])
        if theirs:
            steps["torch"] = lenet_step(theirs)
        for step in steps.values():
            for _ in range(10):
                step()
        lenet["same"] = {lib: median(t) for lib, t in take_turns(steps, args.lenet_rounds,
                                                                  block=20).items()}
    pooled = own_processes(args, threads, libs)
    for row in results["cases"]:
        row["own"] = {lib: median(pooled[lib]["cases"][f"{row['case']}|{row['pass']}"])
                      for lib in libs}
    if lenet:
        lenet["own"] = {lib: median(pooled[lib]["lenet"]) for lib in libs}
    results["lenet"] = lenet
    report(results, libs, args)
    if args.json:
        from tinygradcnn.atomic import write_json

        write_json(args.json, results, indent=1)


def report(results: dict, libs: list[str], args) -> None:
    """The table, the LeNet-5 step and the conv yardsticks."""
    both = len(libs) == 2
    head = f"{'case':50s} {'pass':8s} {'first call':>11s} {'ours':>9s}"
    if both:
        head += f" {'torch':>9s} {'ratio':>6s} | {'ours':>9s} {'torch':>9s} {'ratio':>6s}"
    print(f"\n{'':83s}{'same process' if both else ''}{'':12s}{'own processes' if both else ''}")
    print(head)
    print("-" * len(head))
    for row in results["cases"]:
        same, own = row["same"], row["own"]
        line = (f"{row['case']:50s} {row['pass']:8s} {row['first_s'] * 1e3:9.1f}ms "
                f"{same['tinygradcnn'] * 1e3:7.3f}ms")
        if both:
            row["ratio_same"] = same["tinygradcnn"] / same["torch"]
            row["ratio_own"] = own["tinygradcnn"] / own["torch"]
            line += (f" {same['torch'] * 1e3:7.3f}ms {row['ratio_same']:6.2f} | "
                     f"{own['tinygradcnn'] * 1e3:7.3f}ms {own['torch'] * 1e3:7.3f}ms "
                     f"{row['ratio_own']:6.2f}")
        print(line)
    print("(op table ratio: our time / PyTorch's, > 1: we are slower)")
    lenet = results["lenet"]
    if lenet:
        print(f"\nLeNet-5 training step, batch 64 (forward, backward, SGD; median of "
              f"{args.lenet_rounds} steps here, of {args.processes}x{args.lenet_rounds} in own "
              f"processes; first step here {lenet['first_s']:.2f} s, "
              f"{'compilation' if args.cold else 'cache load'} included):")
        for where in ("same", "own"):
            t = lenet[where]
            line = f"  {where + ' process' + ('es' if where == 'own' else ''):14s} tinygradcnn " \
                   f"{64 / t['tinygradcnn']:6.0f} images/s ({t['tinygradcnn'] * 1e3:.2f} ms)"
            if both:
                lenet[f"ratio_{where}"] = t["torch"] / t["tinygradcnn"]
                line += (f", PyTorch {64 / t['torch']:6.0f} images/s ({t['torch'] * 1e3:.2f} "
                         f"ms): {lenet[f'ratio_{where}']:.2f}x PyTorch's throughput")
            print(line)
    spec = results["machine"]
    peak, bandwidth = spec["peak_gflops_all"], spec["triad_gbs_all"]
    width = ("" if "fma_gflops_all_512" not in spec else
             f" with 512-bit FMAs; {spec['fma_gflops_all']:.1f} with the 256-bit ones Numba uses")
    print(f"\nconvs against the measured peak ({peak:.1f} GFLOP/s{width}, {spec['threads_all']} "
          f"threads) and triad bandwidth ({bandwidth:.1f} GB/s), times of this process:")
    params = {name: p for name, make, p in CASES if make is conv_case}
    for row in results["cases"]:
        if row["case"] not in params:
            continue
        scale = 3 if row["pass"] == "fwd+bwd" else 1
        flops = scale * conv_flops(params[row["case"]], args.quick)
        moved = scale * conv_bytes(params[row["case"]], args.quick)
        parts = []
        for lib in libs:
            gflops = flops / row["same"][lib] / 1e9
            gbs = moved / row["same"][lib] / 1e9
            row[f"gflops_{lib}"], row[f"gbs_{lib}"] = gflops, gbs
            if row["case"] == DEPTHWISE_CONV:
                parts.append(f"{lib} {gbs:6.1f} GB/s = {gbs / bandwidth:5.0%} of triad")
            else:
                parts.append(f"{lib} {gflops:6.1f} GFLOP/s = {gflops / peak:5.0%} of peak")
        print(f"  {row['case']:50s} {row['pass']:8s} " + "; ".join(parts))


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.worker:
        worker(arguments)
    else:
        main(arguments)
