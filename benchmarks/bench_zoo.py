"""Zoo benchmark: eval-mode inference of five ImageNet models, a ResNet-20 training step and
issue 13's speed set, against torchvision on the same weights, with peak memory.

    python benchmarks/bench_zoo.py                                 # the whole table
    python benchmarks/bench_zoo.py --suite speed                   # issue 13's six targets
    python benchmarks/bench_zoo.py --models resnet18 resnet20 --rounds 9 --json zoo.json
    python benchmarks/bench_zoo.py --quick --models resnet18      # checks the script works

Suites (``--suite``; ``--models`` keeps only the named models of it):

- ``zoo``: the table before issue 13, described next.
- ``speed``: exactly issue 13's zoo targets: training steps at 3x64x64 of resnet18 and
  mobilenet_v2 at batch 16 and of efficientnet_b0 and convnext_tiny at batch 8, and
  inference at 3x224x224 of resnet50 at batch 4 and vgg11 at batch 2. Its geometric mean
  and minimum of the throughput ratios are printed against the targets (>= 1.0, none
  below 0.7).
- ``all`` (the default): both.

Every training step, here and in ``zoo``, is the whole step: forward, cross-entropy,
backward and the SGD update (momentum 0.9, weight decay 5e-4), in train mode (batch-norm
batch statistics). Dropout and stochastic depth are set to p = 0 in both libraries' models
for the steps, so they compute the same, deterministic thing and the logits and weights can
be compared; both libraries then skip those layers (their masks cost little beside the convs).

Cases of ``zoo``: inference (``tg.no_grad()`` / ``torch.inference_mode()``, eval mode) of resnet18,
resnet50, mobilenet_v2, efficientnet_b0 and convnext_tiny on 3x224x224 images at batch 1 and
8 (``--batches``), and one training step of the CIFAR ResNet-20 (3 input channels, 32x32,
batch 128: forward, cross-entropy, backward, SGD with momentum 0.9 and weight decay 5e-4).
PyTorch runs torchvision's model (for ResNet-20, which torchvision lacks, the same network
built from torchvision's ``BasicBlock``, with the same state_dict keys) with torchvision's
randomly initialised weights, batch-norm statistics moved away from (0, 1), copied into
ours; so both time the same computation, and the largest difference of their logits (of the
first step, for training) is printed per case, with that of the whole state_dict after one
training step. PyTorch uses as many threads as Numba.

Per case: the median time of each library (``ratio`` > 1: we are slower), images/s, the
first call of our first process (with a warm Numba cache, its load; else compilation),
and peak memory. The geometric mean and the minimum of the throughput ratios (ours /
PyTorch's) end the table, over all its cases and over the speed set's. Without PyTorch or
torchvision the table has our columns only.

Discipline, as in ``bench_cpu.py``: every (library, case) runs in processes of its own, as
a user would run it (tinygradcnn sets process-wide knobs at import, one BLAS thread and
glibc malloc keeping freed memory, that would otherwise act on PyTorch too, and a process
holds its peak memory for good). The rounds are split into two blocks (one with
``--quick``), each a process; the libraries take turns (ours, PyTorch, ours, PyTorch) with
a pause between, so background load hits both alike. Each process makes one untimed
warm-up call after its first.

Memory: the peak resident set over the case's warm-up and timed calls minus the resident set
just before them, after the process's first call (imports, model, weights, inputs, the
kernels loaded or compiled and, for training, the momentum buffers all in the baseline):
the working memory a call adds at its peak (activations, workspaces, for training the
gradients), from the last process of each library. At the baseline, freed memory goes back
to the system (glibc's ``malloc_trim``, so memory tinygradcnn's malloc settings keep for
reuse is counted when reused) and on Linux the peak is reset to the current resident set
(``/proc/self/clear_refs``), so neither the first call's one-time costs nor the transient
copies of building the model hide the steady state's peak.
The peak is ``VmHWM`` of ``/proc/self/status`` on Linux: ``getrusage(RUSAGE_SELF).ru_maxrss``
is the same counter but, in a process started by another, never below the parent's peak at
the spawn (Linux keeps the larger of the pre-exec image's), which would hide every case
smaller than this driver with torchvision loaded. Elsewhere it is ru_maxrss, without the
reset (``"peak_reset": false`` in the JSON), from before the first call: only the growth of
the process's peak, one-time costs included.
Resident memory, not tracemalloc, because tracemalloc sees only allocations made through
Python's hooks: NumPy's arrays, but neither PyTorch's CPU allocator nor Numba's runtime, so
it would compare unlike things. RSS counts both libraries alike: pages actually touched,
allocator caches included. The table shows the case's MiB and, after the slash, the
process's resident peak during the case (libraries, weights and all).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the package of this checkout, run from anywhere

ZOO = ("resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny")
TRAIN = "resnet20"
# issue 13's zoo targets: (model, train, batch, input side)
SPEED = (("resnet18", True, 16, 64), ("mobilenet_v2", True, 16, 64),
         ("efficientnet_b0", True, 8, 64), ("convnext_tiny", True, 8, 64),
         ("resnet50", False, 4, 224), ("vgg11", False, 2, 224))
MODELS = (*ZOO, TRAIN, "vgg11")
SUITES = ("all", "zoo", "speed")
PAUSE = 0.5  # seconds between processes
BLOCKS = 2  # processes per library and case
SGD = dict(lr=0.1, momentum=0.9, weight_decay=5e-4)  # He et al.'s CIFAR recipe


def torchvision_models():
    """``torchvision.models`` or None: the tests' helper, whose import trick lets the CUDA
    torchvision wheel load beside CPU torch. It is imported from tests/ rather than copied,
    so the workaround lives in one place. Appended to sys.path: tests/ never shadows."""
    tests = os.path.join(ROOT, "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    from torchvision_models import torchvision_models as find

    return find()


def max_rss_mib() -> float:
    """Peak resident set of this process (since the last reset), in MiB: VmHWM on Linux,
    else ru_maxrss (KiB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def reset_peak() -> bool:
    """Give freed heap memory back to the system and restart the peak (VmHWM) from the
    current resident set; False where the system cannot."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:  # Linux 4.0+: 5 resets the peak
            f.write("5")
        return True
    except OSError:
        return False


def inputs(case: dict) -> tuple[np.ndarray, np.ndarray]:
    """The case's images and labels, the same in every process."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((case["batch"], 3, case["size"], case["size"])).astype(np.float32)
    return x, rng.integers(0, case["classes"], case["batch"])


def no_random_masks(model) -> None:
    """Dropout and stochastic depth of either library's model to p = 0: the same, deterministic
    training step in both (each library then returns its input unchanged)."""
    for module in model.modules():
        if type(module).__name__ in ("Dropout", "StochasticDepth"):
            module.p = 0.0


# --- PyTorch's side (these functions import torch; the worker never imports tinygradcnn) ---

def torch_resnet20(num_classes: int = 10, in_channels: int = 3):
    """The CIFAR ResNet-20 of `tinygradcnn.models.resnet20` (option B shortcuts) out of
    torchvision's BasicBlock, with its state_dict keys and its (torchvision's) init."""
    import torch
    from torch import nn

    torchvision_models()
    from torchvision.models.resnet import BasicBlock, conv1x1, conv3x3

    class CifarResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inplanes = 16
            self.conv1 = conv3x3(in_channels, 16)
            self.bn1 = nn.BatchNorm2d(16)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = self._layer(16)
            self.layer2 = self._layer(32, stride=2)
            self.layer3 = self._layer(64, stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(64, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def _layer(self, planes: int, blocks: int = 3, stride: int = 1):
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride),
                                           nn.BatchNorm2d(planes))
            layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes
            layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return CifarResNet()


def torch_model(name: str):
    if name == TRAIN:
        return torch_resnet20()
    return getattr(torchvision_models(), name)(weights=None)


def write_weights(name: str, path: str) -> None:
    """torchvision's random init of `name`, batch-norm statistics and affine parameters moved
    away from (0, 1) as in the zoo's parity tests, saved as .npz for both libraries."""
    import torch

    torch.manual_seed(0)
    model = torch_model(name)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                m.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(n, generator=generator) * 0.1)
    np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})


def torch_case(case: dict):
    """(call, model) for PyTorch; the call returns the logits."""
    import torch

    torch.set_num_threads(case["threads"])
    model = torch_model(case["model"])
    with np.load(case["weights"]) as saved, torch.no_grad():  # one array in memory at a time
        state = model.state_dict()
        if set(state) != set(saved.files):
            raise RuntimeError(f"{case['model']}: torch's keys are not the saved ones: "
                               f"{sorted(set(state) ^ set(saved.files))}")
        for key, value in state.items():
            value.copy_(torch.from_numpy(saved[key]))
    images, labels = inputs(case)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    if case["train"]:
        no_random_masks(model)
    if not case["train"]:
        model.eval()

        def run():
            with torch.inference_mode():
                return model(x)

        return run, model
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), **SGD)

    def step():
        optimizer.zero_grad()
        logits = model(x)
        torch.nn.functional.cross_entropy(logits, y).backward()
        optimizer.step()
        return logits

    return step, model


def ours_case(case: dict):
    """(call, model) for tinygradcnn; the call returns the logits."""
    import tinygradcnn as tg
    import tinygradcnn.nn.functional as F
    from tinygradcnn import models

    tg.manual_seed(0)
    extra = {"in_channels": 3, "num_classes": case["classes"]} if case["model"] == TRAIN else {}
    model = models.get_model(case["model"], **extra)
    if case["weights"]:
        with np.load(case["weights"]) as saved:  # a lazy mapping: one array at a time
            model.load_state_dict(saved)
    images, labels = inputs(case)
    x, y = tg.tensor(images), tg.tensor(labels)
    if case["train"]:
        no_random_masks(model)
    if not case["train"]:
        model.eval()

        def run():
            with tg.no_grad():
                return model(x)

        return run, model
    model.train()
    optimizer = tg.optim.SGD(model.parameters(), **SGD)

    def step():
        optimizer.zero_grad()
        logits = model(x)
        F.cross_entropy(logits, y).backward()
        optimizer.step()
        return logits

    return step, model


def worker(lib: str, case: dict) -> None:
    """Run one block of one case in this process; prints a JSON line. The first process
    of each library also saves its first call's logits (and, training, the state_dict
    after that step) for the agreement check."""
    call, model = (ours_case if lib == "tinygradcnn" else torch_case)(case)
    gc.collect()
    baseline = max_rss_mib()  # kept only where the peak cannot be reset
    start = time.perf_counter()
    logits = call()
    first = time.perf_counter() - start
    if case.get("out"):
        arrays = {"logits": np.array(logits.detach().numpy() if lib == "torch"
                                     else logits.numpy())}
        if case["train"]:
            for key, value in model.state_dict().items():  # ours: NumPy arrays already
                value = value.detach().numpy() if lib == "torch" else value
                arrays[f"state/{key}"] = np.array(value)
        np.savez(case["out"], **arrays)
    del logits
    gc.collect()
    peak_reset = reset_peak()
    if peak_reset:  # the steady state's baseline: kernels loaded, momentum buffers made
        baseline = max_rss_mib()
    call()  # warm-up
    times = []
    for _ in range(case["rounds"]):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    info = {"first": first, "times": times, "baseline_mib": baseline, "peak_mib": max_rss_mib(),
            "peak_reset": peak_reset}
    if lib == "tinygradcnn":
        import numba

        try:
            layer = numba.threading_layer()
        except ValueError:  # no parallel kernel ran
            layer = numba.config.THREADING_LAYER
        info.update(threads=numba.get_num_threads(), version=f"numba {numba.__version__}",
                    layer=layer)
    else:
        import torch

        info.update(threads=torch.get_num_threads(), version=f"torch {torch.__version__}")
    print(json.dumps(info))


# --- the driver: no tinygradcnn and no kernels in this process, torch only for weights ---

def run_worker(lib: str, case: dict) -> dict:
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", lib,
                           "--case", json.dumps(case)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{lib} {case['model']} batch {case['batch']} failed "
                           f"(exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def measure(case: dict, libs: list[str], folder: str, threads: list[int]) -> dict:
    """Both libraries' blocks, taking turns; pooled times, memory of the last block."""
    per_block = [len(r) for r in np.array_split(np.arange(case["rounds"]),
                                                min(case["blocks"], case["rounds"]))]
    runs: dict[str, list[dict]] = {lib: [] for lib in libs}
    for index, rounds in enumerate(per_block):
        for lib in libs:
            out = os.path.join(folder, f"{lib}-out.npz") if index == 0 else None
            # ours goes first: PyTorch gets the thread count Numba reported
            block = dict(case, rounds=rounds, out=out, threads=threads[0])
            time.sleep(PAUSE)
            info = run_worker(lib, block)
            threads[0] = threads[0] or info["threads"]
            runs[lib].append(info)
    result = {}
    for lib, infos in runs.items():
        median = float(np.median([t for info in infos for t in info["times"]]))
        last = infos[-1]
        result[lib] = {"median_s": median, "images_per_s": case["batch"] / median,
                       "first_s": infos[0]["first"], "peak_mib": last["peak_mib"],
                       "baseline_mib": last["baseline_mib"],
                       "case_mib": last["peak_mib"] - last["baseline_mib"],
                       "peak_reset": last["peak_reset"],
                       "times_s": [t for info in infos for t in info["times"]],
                       "threads": last["threads"], "version": last["version"],
                       "layer": last.get("layer")}
    if "torch" in result:
        ours, theirs = (np.load(os.path.join(folder, f"{lib}-out.npz")) for lib in libs)
        result["max_abs_diff"] = float(np.abs(ours["logits"] - theirs["logits"]).max())
        if case["train"]:
            keys = [k for k in ours.files if k.startswith("state/")
                    and np.issubdtype(ours[k].dtype, np.floating)]
            result["state_max_abs_diff"] = max(float(np.abs(ours[k] - theirs[k]).max())
                                               for k in keys)
            # relative to each tensor's largest value: one step of an untrained network on
            # a tiny batch (--quick) moves some weights by tens, where 1e-6 relative is 1e-5
            result["state_max_rel_diff"] = max(
                float(np.abs(ours[k] - theirs[k]).max() / max(np.abs(theirs[k]).max(), 1e-30))
                for k in keys)
        result["ratio"] = result["tinygradcnn"]["median_s"] / result["torch"]["median_s"]
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=SUITES, default="all",
                        help="zoo: the inference table and ResNet-20; speed: issue 13's six "
                             "targets; all (default): both")
    parser.add_argument("--models", nargs="+", default=None, choices=MODELS,
                        help="only these models of the suite (default: all of it)")
    parser.add_argument("--batches", type=int, nargs="+", default=None,
                        help="inference batch sizes (default 1 8)")
    parser.add_argument("--train-batch", type=int, default=None,
                        help="ResNet-20 training batch (default 128)")
    parser.add_argument("--size", type=int, default=None, help="inference input side (224)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per case (5)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny: inference at 64x64, batches 1 and 2, training batch 4, "
                             "the speed set at batch 2 (32x32 training, 64x64 inference), "
                             "2 rounds; checks the script, measures nothing")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    parser.add_argument("--worker", choices=["tinygradcnn", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.batches = args.batches or ([1, 2] if quick else [1, 8])
    args.train_batch = args.train_batch or (4 if quick else 128)
    args.size = args.size or (64 if quick else 224)
    args.rounds = args.rounds or (2 if quick else 5)
    return args


def cases(args) -> list[dict]:
    """The suite's cases (``--models`` of them), each a dict; ``speed`` marks issue 13's."""
    found = []
    if args.suite in ("all", "zoo"):
        for name in (*ZOO, TRAIN):
            if name == TRAIN:
                found.append(dict(model=name, train=True, batch=args.train_batch, size=32,
                                  classes=10))
            else:
                found += [dict(model=name, train=False, batch=b, size=args.size, classes=1000)
                          for b in args.batches]
    if args.suite in ("all", "speed"):
        for name, train, size_batch, side in SPEED:
            if args.quick:  # the same models and modes, tiny
                size_batch, side = 2, (32 if train else 64)
            found.append(dict(model=name, train=train, batch=size_batch, size=side,
                              classes=1000, speed=True))
    if args.models:
        found = [case for case in found if case["model"] in args.models]
    for case in found:  # --quick: one process per library, the check needs no turns
        case.update(rounds=args.rounds, blocks=1 if args.quick else BLOCKS)
    return found


def mib(result: dict) -> str:
    """The case's memory / the process's resident peak during it, in MiB."""
    return f"{result['case_mib']:.0f}/{result['peak_mib']:.0f}"


def main(args) -> None:
    try:
        import torch  # noqa: F401  (only to build the shared weights here)

        have_torch = torchvision_models() is not None
        missing = "" if have_torch else "torchvision not importable"
    except ImportError:
        have_torch, missing = False, "torch not installed"
    libs = ["tinygradcnn", "torch"] if have_torch else ["tinygradcnn"]
    rows, threads = [], [0]
    head = (f"{'model':16s} {'mode':5s} {'input':>12s} {'first s':>8s} {'ours ms':>9s} "
            + (f"{'torch ms':>9s} {'ratio':>6s} " if have_torch else "")
            + f"{'ours img/s':>10s} " + (f"{'torch img/s':>11s} " if have_torch else "")
            + f"{'ours MiB':>10s} " + (f"{'torch MiB':>10s} {'max|diff|':>9s}" if have_torch
                                       else ""))
    with tempfile.TemporaryDirectory(prefix="bench-zoo-") as folder:
        weights = {}
        for case in cases(args):
            if have_torch and case["model"] not in weights:
                weights[case["model"]] = os.path.join(folder, f"{case['model']}.npz")
                write_weights(case["model"], weights[case["model"]])
            case["weights"] = weights.get(case["model"])
            try:
                result = measure(case, libs, folder, threads)
            except RuntimeError as error:  # one failed case (memory, say) ends nothing else
                print(f"{case['model']} batch {case['batch']}: {error}", flush=True)
                continue
            if not rows:
                ours = result["tinygradcnn"]
                theirs = (f"{result['torch']['version']} ({result['torch']['threads']} "
                          f"threads)" if have_torch else f"{missing} (our columns only)")
                print(f"{ours['version']} ({ours['threads']} threads, {ours['layer']} "
                      f"threading layer), {theirs}; rounds {args.rounds} in "
                      f"{min(case['blocks'], args.rounds)} process(es) per library"
                      + ("; QUICK: checks the script, measures nothing" if args.quick else ""))
                print(head)
                print("-" * len(head))
            ours = result["tinygradcnn"]
            line = (f"{case['model']:16s} {'train' if case['train'] else 'eval':5s} "
                    f"{case['batch']:>3d}x3x{case['size']}x{case['size']:<3d} "
                    f"{ours['first_s']:8.2f} {ours['median_s'] * 1e3:9.1f} ")
            if have_torch:
                line += f"{result['torch']['median_s'] * 1e3:9.1f} {result['ratio']:6.2f} "
            line += f"{ours['images_per_s']:10.1f} "
            if have_torch:
                line += f"{result['torch']['images_per_s']:11.1f} "
            line += f"{mib(ours):>10s} "
            if have_torch:
                line += f"{mib(result['torch']):>10s} {result['max_abs_diff']:9.1e}"
            print(line, flush=True)
            rows.append({**{k: v for k, v in case.items() if k != "weights"}, **result})
    for row in rows:
        if "state_max_abs_diff" in row:
            print(f"{row['model']} training, batch {row['batch']}: the state_dicts after one step "
                  f"differ by at most {row['state_max_abs_diff']:.1e} (relative to each "
                  f"tensor's largest value: {row['state_max_rel_diff']:.1e})")
    summary: dict = {}
    if have_torch and rows:
        summary = throughput_summary(rows)
        print(f"our throughput / PyTorch's over all {len(rows)} cases: geometric mean "
              f"{summary['geomean']:.2f}, minimum {summary['min']:.2f} ({summary['min_case']}) "
              f"(1 = parity, < 1: we are slower)")
        speed = [row for row in rows if row.get("speed")]
        if speed:
            summary["speed"] = throughput_summary(speed)
            print(f"issue 13's speed set ({len(speed)} of its 6 cases): geometric mean "
                  f"{summary['speed']['geomean']:.2f} (target >= 1.0), minimum "
                  f"{summary['speed']['min']:.2f} ({summary['speed']['min_case']}; target "
                  f">= 0.7)")
    if args.json:
        from tinygradcnn.atomic import write_json

        write_json(args.json, {"quick": args.quick, "rounds": args.rounds, "suite": args.suite,
                               "geomean_throughput_ratio": summary.get("geomean"),
                               "throughput_ratios": summary, "cases": rows}, indent=1)


def throughput_summary(rows: list[dict]) -> dict:
    """Geometric mean and minimum of our throughput over PyTorch's (1 / the time ratio)."""
    ratios = {f"{row['model']} {'train' if row['train'] else 'eval'} batch {row['batch']}":
              1 / row["ratio"] for row in rows}
    worst = min(ratios, key=ratios.get)
    return {"geomean": math.exp(np.mean(np.log(list(ratios.values())))),
            "min": ratios[worst], "min_case": worst, "ratios": ratios}


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.worker:
        worker(arguments.worker, json.loads(arguments.case))
    else:
        main(arguments)
