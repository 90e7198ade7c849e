"""First run: ``python -m tinygradcnn train`` with an empty Numba cache, then warm; what compiles.

    python benchmarks/bench_first_run.py                   # the defaults (digits, LeNet-5)
    python benchmarks/bench_first_run.py --top 25 --json first.json
    python benchmarks/bench_first_run.py --args "--epochs 1 --limit 512"

Runs the main command twice in processes of its own, as a new user would, with ``--quiet``
and ``--out`` in a temporary folder: first with a fresh, empty ``NUMBA_CACHE_DIR`` (cold:
every kernel compiles and is written to the cache), then again with that same cache (warm:
kernels load from it). Prints both wall times, measured from outside the process, so the
interpreter's start and every import are in them, then the Numba compilations of each run
and the functions that cost the most to compile.

Python's bytecode cache of this project is treated the same way: its ``.pyc`` files are
deleted before the cold run, which then compiles the 190-odd modules from source and writes
them, as a first run after an editable install does, and the warm run loads them, as every
later run does. A ``PYTHONDONTWRITEBYTECODE`` in the environment (some containers set it) is
dropped for the runs: with it, every run compiled them (0.2-0.3 s), and a warm run never saw
the cache key of a module loaded from bytecode (the elementwise loops once missed it there).

The child is a small wrapper (this file with ``--child``) that installs a
``numba.core.event`` listener on ``"numba:compile"`` and then runs ``tinygradcnn`` with
``runpy``, exactly as ``python -m`` does. The event fires once per compiled specialisation
(a cache load does not fire it), so a warm run's count is what the cache misses or cannot
hold. A function whose compilation compiles another (an ``@njit`` calling an ``@njit``)
holds the inner one's time inside its own event: ``incl. s`` includes nested compiles,
``self s`` excludes them, and the self times add up to the total compile time. The
listener's cost is a dictionary update per compile.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--args", default="", help="more `train` arguments, one string "
                        "(e.g. \"--epochs 1\"); --quiet and --out are always given")
    parser.add_argument("--top", type=int, default=15, help="functions listed (15)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    return parser.parse_args(argv)


@contextmanager
def recording_compiles():
    """Within the block, every Numba compilation appends one dict to the yielded list:
    ``function`` (module.qualname), ``args`` (the types), ``incl_s`` (its whole event,
    nested compiles included) and ``self_s`` (less the nested ones)."""
    from numba.core import event

    compiles: list[dict] = []
    stack: list[list[float]] = []  # per open event: [start, time in its nested compiles]

    class Recorder(event.Listener):
        def on_start(self, ev):
            stack.append([time.perf_counter(), 0.0])

        def on_end(self, ev):
            start, nested = stack.pop()
            total = time.perf_counter() - start
            if stack:
                stack[-1][1] += total
            func = ev.data["dispatcher"].py_func
            compiles.append({"function": f"{func.__module__}.{func.__qualname__}",
                             "args": str(ev.data["args"]), "incl_s": total,
                             "self_s": total - nested})

    with event.install_listener("numba:compile", Recorder()):
        yield compiles


def child(record: str, train_args: list[str]) -> None:
    """Run ``python -m tinygradcnn train ...`` in this process, recording every compile."""
    import runpy

    sys.argv = ["tinygradcnn", "train", *train_args]
    sys.path.insert(0, ROOT)
    with recording_compiles() as compiles:
        try:
            runpy.run_module("tinygradcnn", run_name="__main__", alter_sys=True)
        finally:
            with open(record, "w") as f:
                json.dump(compiles, f)


def run_once(train_args: list[str], cache_dir: str, folder: str, label: str) -> dict:
    """Wall time and compile records of one run of the command in a process of its own."""
    record = os.path.join(folder, f"{label}-compiles.json")
    out = os.path.join(folder, f"{label}-out")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, os.path.abspath(__file__), "--child", record, "--quiet",
               "--out", out, *train_args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the {label} run failed (exit {done.returncode}):\n"
                         f"{done.stderr[-3000:]}")
    with open(record) as f:
        compiles = json.load(f)
    return {"wall_s": wall, "compiles": compiles,
            "compile_s": sum(c["self_s"] for c in compiles)}


def remove_bytecode() -> None:
    """Delete this project's compiled modules (``__pycache__/*.pyc`` of the package), so
    that the cold run compiles them from source as a first run does."""
    for folder in ("tinygradcnn", "kernels"):
        for path, _, files in os.walk(os.path.join(ROOT, folder)):
            if os.path.basename(path) == "__pycache__":
                for name in files:
                    if name.endswith(".pyc"):
                        os.remove(os.path.join(path, name))


def by_function(compiles: list[dict]) -> list[dict]:
    """Compile records summed per function, the costliest (self time) first."""
    functions: dict[str, dict] = {}
    for c in compiles:
        entry = functions.setdefault(c["function"], {"function": c["function"],
                                                     "specialisations": 0, "self_s": 0.0,
                                                     "incl_s": 0.0})
        entry["specialisations"] += 1
        entry["self_s"] += c["self_s"]
        entry["incl_s"] += c["incl_s"]
    return sorted(functions.values(), key=lambda e: e["self_s"], reverse=True)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # the wrapper: --child RECORD, then train's arguments
        child(sys.argv[2], sys.argv[3:])
        return
    args = parse_args()
    train_args = shlex.split(args.args)
    results = {"command": ["python", "-m", "tinygradcnn", "train", "--quiet", "--out", "TMP",
                           *train_args]}
    with tempfile.TemporaryDirectory(prefix="bench-first-run-") as folder:
        cache = os.path.join(folder, "numba-cache")
        os.mkdir(cache)
        remove_bytecode()
        for label in ("cold", "warm"):
            results[label] = run_once(train_args, cache, folder, label)
    print(f"{shlex.join(results['command'])}  (python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores)")
    for label, what in (("cold", "an empty Numba cache"), ("warm", "the cache it filled")):
        run = results[label]
        print(f"  {label}: {run['wall_s']:6.2f} s wall with {what}; {len(run['compiles'])} "
              f"specialisations compiled in {run['compile_s']:.2f} s")
    for label in ("cold", "warm"):
        functions = by_function(results[label]["compiles"])
        results[label]["functions"] = functions
        if not functions:
            continue
        print(f"\n{label}: the {min(args.top, len(functions))} costliest of "
              f"{len(functions)} functions compiled (incl. s includes nested compiles)")
        print(f"  {'specs':>5s} {'self s':>7s} {'incl. s':>7s}  function")
        for entry in functions[:args.top]:
            print(f"  {entry['specialisations']:5d} {entry['self_s']:7.2f} "
                  f"{entry['incl_s']:7.2f}  {entry['function']}")
    if args.json:
        from tinygradcnn.atomic import write_json

        write_json(args.json, results, indent=1)


if __name__ == "__main__":
    main()
