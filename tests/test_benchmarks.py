"""The benchmark scripts' arguments, case lists and counting: they run and count right.
Speed is never asserted here (issue 13): the machine's numbers are only checked to be
positive and finite."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
from numba import njit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))

import bench_cpu  # noqa: E402
import bench_first_run  # noqa: E402
import bench_zoo  # noqa: E402
import machine  # noqa: E402


def test_bench_cpu_quick_shrinks_rounds_and_processes():
    args = bench_cpu.parse_args(["--quick", "--json", "out.json"])
    assert (args.rounds, args.lenet_rounds, args.processes, args.json) == (2, 5, 1, "out.json")
    full = bench_cpu.parse_args(["--rounds", "9"])
    assert (full.rounds, full.lenet_rounds, full.processes) == (9, 200, 2)


def test_bench_cpu_counts_conv_flops_and_bytes_as_its_docstring_says():
    params = dict((name, p) for name, _, p in bench_cpu.CASES)
    resnet = params[bench_cpu.RESNET_CONV]
    assert bench_cpu.conv_flops(resnet, quick=False) == 2 * 32 * 64 * 32 * 32 * 64 * 3 * 3
    depthwise = params[bench_cpu.DEPTHWISE_CONV]
    assert bench_cpu.conv_flops(depthwise, quick=False) == 2 * 32 * 64 * 32 * 32 * 1 * 3 * 3
    activations = 32 * 64 * 32 * 32
    assert bench_cpu.conv_bytes(depthwise, quick=False) == 4 * (2 * activations + 64 * 9 + 64)
    assert bench_cpu.conv_flops(resnet, quick=True) == 2 * 2 * 64 * 32 * 32 * 64 * 3 * 3


@pytest.mark.parametrize("x_shape, w_shape, padding, expected", [
    ((64, 1, 28, 28), (6, 1, 5, 5), 2, (64, 6, 28, 28)),
    ((64, 6, 14, 14), (16, 6, 5, 5), 0, (64, 16, 10, 10)),
])
def test_bench_cpu_conv_output_shapes(x_shape, w_shape, padding, expected):
    assert bench_cpu.conv_out_shape(x_shape, w_shape, padding) == expected


def test_bench_zoo_speed_suite_is_exactly_issue_13s_targets():
    found = bench_zoo.cases(bench_zoo.parse_args(["--suite", "speed"]))
    assert [(c["model"], c["train"], c["batch"], c["size"]) for c in found] == [
        ("resnet18", True, 16, 64), ("mobilenet_v2", True, 16, 64),
        ("efficientnet_b0", True, 8, 64), ("convnext_tiny", True, 8, 64),
        ("resnet50", False, 4, 224), ("vgg11", False, 2, 224)]
    assert all(c["speed"] and c["classes"] == 1000 for c in found)


def test_bench_zoo_suites_and_model_filter():
    everything = bench_zoo.cases(bench_zoo.parse_args([]))
    zoo = bench_zoo.cases(bench_zoo.parse_args(["--suite", "zoo"]))
    assert len(everything) == len(zoo) + 6 and not any(c.get("speed") for c in zoo)
    quick = bench_zoo.cases(bench_zoo.parse_args(["--suite", "speed", "--quick",
                                                  "--models", "vgg11", "resnet18"]))
    assert [(c["model"], c["batch"], c["size"], c["rounds"]) for c in quick] == [
        ("resnet18", 2, 32, 2), ("vgg11", 2, 64, 2)]


def test_bench_zoo_throughput_summary_is_of_inverse_time_ratios():
    rows = [dict(model="a", train=True, batch=1, ratio=0.5),  # we take half the time: 2x
            dict(model="b", train=False, batch=2, ratio=2.0)]
    summary = bench_zoo.throughput_summary(rows)
    assert summary["geomean"] == pytest.approx(1.0)
    assert (summary["min"], summary["min_case"]) == (0.5, "b eval batch 2")


def test_bench_first_run_records_nested_compiles_apart():
    @njit
    def inner(x):
        return x + 1

    @njit
    def outer(x):
        return inner(x) * 2

    with bench_first_run.recording_compiles() as compiles:
        outer(1)
    names = [c["function"].rsplit(".", 1)[-1] for c in compiles]
    assert names == ["inner", "outer"]  # the callee's event ends first, inside the caller's
    inner_record, outer_record = compiles
    assert outer_record["incl_s"] >= inner_record["incl_s"] > 0
    assert outer_record["self_s"] == pytest.approx(outer_record["incl_s"]
                                                   - inner_record["incl_s"])
    functions = bench_first_run.by_function(compiles + compiles)
    assert {f["specialisations"] for f in functions} == {2}
    assert bench_first_run.parse_args(["--args", "--epochs 1"]).args == "--epochs 1"


def test_machine_peak_loop_is_packed_fmas_and_figures_are_positive():
    counts = machine.fma_instructions()
    assert counts["ymm"] + counts["zmm"] >= machine.VECTORS and counts["scalar"] == 0
    gflops = machine.fma_peak_gflops(1, seconds=0.002, repeats=1)
    gbs = machine.memory_bandwidth_gbs(1, mib=3, repeats=1)
    assert all(math.isfinite(v) and v > 0 for v in (gflops, gbs))
    with pytest.raises(ValueError, match="threads"):
        machine.fma_peak_gflops(10_000)
    assert np.isfinite(machine.cpu_info()["cores"])


def test_machine_describes_the_512_bit_peak_when_there_is_one():
    spec = {"model": "cpu", "llvm_cpu": "icelake-server", "simd": ["avx2", "avx512f"],
            "cores": 2, "quick": False, "threads_all": 2, "triad_mib": 256,
            "triad_gbs_1": 10.0, "triad_gbs_all": 20.0,
            "fma_gflops_1": 100.0, "fma_gflops_all": 200.0,
            "fma_instructions": {"xmm": 0, "ymm": 24, "zmm": 0, "scalar": 0}}
    assert "512-bit" not in machine.describe(spec)
    spec.update(fma_gflops_1_512=150.0, fma_gflops_all_512=300.0,
                fma_instructions_512={"xmm": 0, "ymm": 0, "zmm": 12, "scalar": 0})
    text = machine.describe(spec)
    assert "512-bit" in text and "300.0 on 2 (zmm 12 FMAs" in text and "ymm 24" in text
