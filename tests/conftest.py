"""Test configuration: the devices to run on, the hypothesis profiles and the real data sets.

With no GPU present, numba's CUDA simulator stands in for one (``NUMBA_ENABLE_CUDASIM=1``),
so every CUDA kernel is still exercised; the variable must be set before numba.cuda loads.
"""

import glob
import os

if "NUMBA_ENABLE_CUDASIM" not in os.environ and not glob.glob("/dev/nvidia[0-9]*"):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import pytest  # noqa: E402
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

# the data sets beside the checkout (../shared/data), used when TINYGRADCNN_DATA is unset
SIBLING_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def _data_root(needed: str) -> str:
    """The data folder ($TINYGRADCNN_DATA, else ../shared/data) when it holds `needed`, a
    path inside it; the test asking for it skips otherwise."""
    root = os.environ.get("TINYGRADCNN_DATA") or SIBLING_DATA
    if not os.path.exists(os.path.join(root, needed)):
        pytest.skip(f"set TINYGRADCNN_DATA to the folder holding {needed} (e.g. ../shared/data)")
    return root


@pytest.fixture(scope="session")
def mnist_root() -> str:
    """The data folder holding mnist/ (the IDX files)."""
    return _data_root("mnist")


@pytest.fixture(scope="session")
def olivetti_root() -> str:
    """The data folder holding olivetti-faces/olivettifaces.mat."""
    from tinygradcnn.data.faces import FILENAME, FOLDER

    return _data_root(os.path.join(FOLDER, FILENAME))


def pytest_report_header(config):
    mode = "simulator" if "cuda" in DEVICES and tg.cuda.is_simulator() else "GPU"
    cuda = f"cuda ({mode})" if "cuda" in DEVICES else "cuda not available"
    return f"tinygradcnn devices: cpu, {cuda}"


def pytest_terminal_summary(terminalreporter):
    """State in the CI log how many CUDA tests ran, and on what (simulator or GPU)."""
    if "cuda" not in DEVICES:
        terminalreporter.write_line("tinygradcnn: 0 CUDA tests ran (cuda not available)")
        return
    counts = {outcome: sum("cuda" in report.nodeid for report in reports
                           if getattr(report, "when", "call") in ("call", "setup"))
              for outcome, reports in terminalreporter.stats.items()
              if outcome in ("passed", "failed", "skipped", "error")}
    ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0)
    mode = "numba CUDA simulator" if tg.cuda.is_simulator() else "GPU"
    detail = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
    terminalreporter.write_line(f"tinygradcnn: {ran} CUDA tests ran on the {mode} "
                                f"({detail or 'none collected'})")
