"""The machine's float32 FMA peak and memory bandwidth, measured: the yardsticks of bench_cpu.

    python benchmarks/machine.py            # CPU, peak GFLOP/s and GB/s on 1 and all threads
    python benchmarks/machine.py --quick    # a second or two: checks it works

FMA peak (`fma_peak_gflops`): each thread runs `_fma_chains`, ``VECTORS`` independent
accumulator registers updated with ``a = a * b + c`` a few million times. The inner loop has
a constant trip count over ``VECTORS * width`` floats, so LLVM vectorises it, unrolls it and
keeps the accumulators in registers: its body is ``VECTORS`` ``vfmadd...ps`` on ymm (AVX2)
or zmm (AVX-512) registers and no load or store (`fma_instructions` checks the assembly).
On AVX-512 CPUs that LLVM tunes for 256-bit vectors (Ice Lake and later Intel server
cores: ``prefer-256-bit``) the loop, like every Numba kernel of this project, gets ymm
FMAs; `measure` then also times it in a child process whose Numba targets the same CPU
without that preference (``NUMBA_CPU_FEATURES`` ending in ``-prefer-256-bit``): zmm FMAs,
the 512-bit peak that PyTorch's oneDNN kernels draw on. The yardstick is the higher one.
``VECTORS = 12`` independent chains cover the FMA latency (4-5 cycles) times the FMA units
(2 on current x86 cores) with two registers to spare for ``b`` and ``c``; 16 or more
would spill on AVX2's 16 ymm registers. An FMA counts as 2 FLOPs. This is what a perfect
GEMM micro-kernel reaches, not a datasheet figure: turbo clocks, the hypervisor and other
processes are in it.

Memory bandwidth (`memory_bandwidth_gbs`): STREAM's triad ``a[i] = b[i] + s * c[i]`` over
three 85 MiB float32 arrays (256 MiB in all, far beyond any cache), the threads each taking
a contiguous share. Bytes counted as STREAM does: 12 per element (two reads, one write);
the write-allocate read of ``a`` that plain stores also cause is not counted, so the DRAM
traffic is about 4/3 of that.

Each figure is the median of a few repeats, each timed after a warm-up; nothing is cached
between runs except Numba's compiled code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from functools import partial

import numba
import numpy as np
from numba import njit, prange


def cpu_info() -> dict:
    """The CPU's model name, LLVM's name for it, its SIMD flags and the core count."""
    import llvmlite.binding as llvm

    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:  # not Linux: LLVM's view of the host only
        features = llvm.get_host_cpu_features()
        flags = {name for name, enabled in features.items() if enabled}
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16") if f in flags]
    return {"model": model, "llvm_cpu": llvm.get_host_cpu_name(), "simd": simd,
            "cores": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS}


def _vector_width() -> int:
    """float32 lanes of the widest vector register Numba targets here: 16 (AVX-512) or 8."""
    import llvmlite.binding as llvm

    return 16 if llvm.get_host_cpu_features().get("avx512f") else 8


VECTORS = 12
LANES = VECTORS * _vector_width()  # the accumulators: one register's worth per chain


@njit(fastmath=True, cache=True)
def _fma_chains(acc, b, c, reps):
    """``reps`` times ``acc = acc * b + c`` over ``LANES`` floats: VECTORS FMAs per pass."""
    for _ in range(reps):
        for j in range(LANES):
            acc[j] = acc[j] * b + c


@njit(parallel=True, cache=True)
def _fma_all_threads(acc, b, c, reps):
    """One row of ``acc`` (rows, LANES) per thread, each `_fma_chains`."""
    for row in prange(acc.shape[0]):
        _fma_chains(acc[row], b, c, reps)


@njit(fastmath=True, cache=True)
def _triad_share(a, b, c, scalar):
    """a = b + scalar * c over one thread's share."""
    for i in range(a.size):
        a[i] = b[i] + scalar * c[i]


@njit(parallel=True, cache=True)
def _triad(a, b, c, scalar, parts):
    """`_triad_share` on ``parts`` contiguous shares, one per thread. A serial kernel per
    share, as for the FMAs: the loop inlined into the parallel region vectorised worse
    (5 GB/s against 8.5 on one thread here)."""
    n = a.size
    for part in prange(parts):
        start, stop = part * n // parts, (part + 1) * n // parts
        _triad_share(a[start:stop], b[start:stop], c[start:stop], scalar)


def _median_seconds(run, repeats: int) -> float:
    run()  # warm-up: compiled or loaded, pages touched, threads started
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _with_threads(threads: int | None):
    threads = threads or numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be in 1..{numba.config.NUMBA_NUM_THREADS}, got {threads}")
    return threads


def fma_peak_gflops(threads: int | None = None, seconds: float = 0.1, repeats: int = 5) -> float:
    """The float32 FMA peak on ``threads`` threads (default: all of Numba's), in GFLOP/s
    (one FMA = 2 FLOPs); each repeat runs about ``seconds``."""
    threads = _with_threads(threads)
    acc = np.full((threads, LANES), 1.0, np.float32)
    b, c = np.float32(0.999999), np.float32(1e-7)  # keeps the accumulators finite, near 1
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        # calibrate on one thread, as timeit's autorange does (double the passes until a
        # run fills a quarter of ``seconds``): every thread does the same work, and a
        # parallel region's start-up on a loaded machine would mislead a short probe
        reps, row = 10_000, acc[0].copy()
        while (one := _median_seconds(partial(_fma_chains, row, b, c, reps), 1)) < seconds / 4:
            reps *= 2
        reps = max(reps, int(reps * seconds / one))
        elapsed = _median_seconds(partial(_fma_all_threads, acc, b, c, reps), repeats)
    finally:
        numba.set_num_threads(previous)
    return 2 * threads * LANES * reps / elapsed / 1e9


def memory_bandwidth_gbs(threads: int | None = None, mib: int = 256, repeats: int = 5) -> float:
    """STREAM triad bandwidth on ``threads`` threads over three arrays of ``mib`` MiB in all,
    in GB/s (1e9 bytes; 12 bytes per element, write-allocate not counted)."""
    threads = _with_threads(threads)
    n = (mib << 20) // 12
    a, b, c = np.zeros(n, np.float32), np.ones(n, np.float32), np.full(n, 2.0, np.float32)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        elapsed = _median_seconds(partial(_triad, a, b, c, np.float32(3.0), threads), repeats)
    finally:
        numba.set_num_threads(previous)
    return 12 * n / elapsed / 1e9


def fma_instructions() -> dict[str, int]:
    """Counts of packed FMA instructions by register kind (xmm/ymm/zmm) and of scalar ones in
    the compiled `_fma_chains`: the evidence that the peak is a vector-FMA peak."""
    # an uncached twin: Numba cannot show the assembly of code loaded from its cache
    twin = njit(fastmath=True)(_fma_chains.py_func)
    twin(np.ones(LANES, np.float32), np.float32(1), np.float32(0), 1)
    asm = twin.inspect_asm(twin.signatures[0])
    counts = {reg: len(re.findall(rf"vfn?m(?:add|sub)\w*ps\s+[^\n]*%{reg}", asm))
              for reg in ("xmm", "ymm", "zmm")}
    counts["scalar"] = len(re.findall(r"vfn?m(?:add|sub)\w*ss\s", asm))
    return counts


def _wide_features(counts: dict[str, int]) -> str | None:
    """The NUMBA_CPU_FEATURES that lift LLVM's 256-bit preference on an AVX-512 host whose
    FMA loop (``counts``: `fma_instructions`) compiled to ymm registers; None where there is
    nothing to lift."""
    import llvmlite.binding as llvm

    if not llvm.get_host_cpu_features().get("avx512f") or numba.config.CPU_FEATURES:
        return None
    if counts["zmm"]:
        return None
    return llvm.get_host_cpu_features().flatten() + ",-prefer-256-bit"


def _fma_peaks_512(seconds: float, repeats: int, counts: dict[str, int]) -> dict | None:
    """{"fma_gflops_1_512", "fma_gflops_all_512", "fma_instructions_512"} measured in a child
    process with 512-bit vectors preferred, or None (no AVX-512, or zmm already)."""
    features = _wide_features(counts)
    if features is None:
        return None
    env = dict(os.environ, NUMBA_CPU_FEATURES=features)
    child = subprocess.run([sys.executable, __file__, "--peaks-json", str(seconds),
                            str(repeats)], env=env, capture_output=True, text=True, check=True)
    peaks = json.loads(child.stdout.strip().splitlines()[-1])
    return {f"{key}_512": value for key, value in peaks.items()}


def _fma_peaks(seconds: float, repeats: int) -> dict:
    everyone = numba.config.NUMBA_NUM_THREADS
    return {"fma_gflops_1": fma_peak_gflops(1, seconds, repeats),
            "fma_gflops_all": fma_peak_gflops(everyone, seconds, repeats),
            "fma_instructions": fma_instructions()}


def measure(quick: bool = False) -> dict:
    """CPU info, FMA peak and triad bandwidth on one and all threads, as a dict. On AVX-512
    hosts where Numba's code uses 256-bit vectors, also the 512-bit peaks (keys ending
    ``_512``); ``peak_gflops_all`` is the higher of the two, the yardstick."""
    seconds, repeats, mib = (0.02, 3, 64) if quick else (0.1, 5, 256)
    everyone = numba.config.NUMBA_NUM_THREADS
    result = {**cpu_info(), "quick": quick, "threads_all": everyone}
    result.update(_fma_peaks(seconds, repeats))
    result.update(_fma_peaks_512(seconds, repeats, result["fma_instructions"]) or {})
    result["peak_gflops_all"] = max(result["fma_gflops_all"],
                                    result.get("fma_gflops_all_512", 0.0))
    result["triad_gbs_1"] = memory_bandwidth_gbs(1, mib, repeats)
    result["triad_gbs_all"] = memory_bandwidth_gbs(everyone, mib, repeats)
    result["triad_mib"] = mib
    return result


def describe(result: dict) -> str:
    """The measurements as printable lines."""
    def peak(suffix: str) -> str:
        fma = ", ".join(f"{k} {v}" for k, v in result["fma_instructions" + suffix].items() if v)
        return (f"{result['fma_gflops_1' + suffix]:.1f} GFLOP/s on 1 thread, "
                f"{result['fma_gflops_all' + suffix]:.1f} on {result['threads_all']} ({fma} "
                f"FMAs in the loop)")

    wide = ("" if "fma_gflops_all_512" not in result else
            f"\n          with 512-bit vectors preferred (not what Numba's code uses here): "
            f"{peak('_512')}")
    return (f"CPU: {result['model']} (LLVM {result['llvm_cpu']}; {' '.join(result['simd'])}; "
            f"{result['cores']} cores){' QUICK' if result['quick'] else ''}\n"
            f"measured: float32 FMA peak {peak('')};{wide}\n"
            f"          triad bandwidth over {result['triad_mib']} MiB "
            f"{result['triad_gbs_1']:.1f} GB/s on 1 thread, {result['triad_gbs_all']:.1f} on "
            f"{result['threads_all']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, small arrays")
    parser.add_argument("--peaks-json", nargs=2, metavar=("SECONDS", "REPEATS"),
                        help="only the FMA peaks, as one JSON line (the 512-bit child)")
    args = parser.parse_args()
    if args.peaks_json:
        print(json.dumps(_fma_peaks(float(args.peaks_json[0]), int(args.peaks_json[1]))))
    else:
        print(describe(measure(args.quick)))
