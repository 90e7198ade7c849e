"""Test configuration: the devices to run on and the hypothesis profiles.

With no GPU present, numba's CUDA simulator stands in for one (``NUMBA_ENABLE_CUDASIM=1``),
so every CUDA kernel is still exercised; the variable must be set before numba.cuda loads.
"""

import glob
import os
import sys

if "NUMBA_ENABLE_CUDASIM" not in os.environ and not glob.glob("/dev/nvidia[0-9]*"):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

from hypothesis import HealthCheck, settings  # noqa: E402

import tinygradcnn as tg  # noqa: E402

settings.register_profile(
    "ci", max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _available_devices() -> list[str]:
    devices = ["cpu"]
    if os.environ.get("TINYGRADCNN_TEST_CUDA", "1") != "0" and tg.cuda.is_available():
        try:
            import tinygradcnn.kernels.cuda  # noqa: F401
        except ImportError:
            return devices
        devices.append("cuda")
    return devices


DEVICES = _available_devices()

if "cuda" in DEVICES and tg.cuda.is_simulator():
    # The simulator runs each CUDA thread as a Python thread and its scheduler polls them;
    # a shorter GIL switch interval keeps syncthreads-heavy kernels from idling 5 ms a step.
    sys.setswitchinterval(1e-4)


def pytest_report_header(config):
    mode = "simulator" if "cuda" in DEVICES and tg.cuda.is_simulator() else "GPU"
    cuda = f"cuda ({mode})" if "cuda" in DEVICES else "cuda not available"
    return f"tinygradcnn devices: cpu, {cuda}"


def pytest_terminal_summary(terminalreporter):
    """State in the CI log how many CUDA tests ran, and on what (simulator or GPU)."""
    if "cuda" not in DEVICES:
        terminalreporter.write_line("tinygradcnn: 0 CUDA tests ran (cuda not available)")
        return
    passed = [r for r in terminalreporter.stats.get("passed", []) if "cuda" in r.nodeid]
    mode = "numba CUDA simulator" if tg.cuda.is_simulator() else "GPU"
    terminalreporter.write_line(f"tinygradcnn: {len(passed)} CUDA tests passed ({mode})")
