"""Which kernels run an op: the tensor's device decides, never a global switch."""

import functools
import os
from types import ModuleType

DEVICES = ("cpu", "cuda")


def normalize_device(device) -> str:
    """``"cpu"``, ``"cuda"`` or ``"cuda:0"`` (one GPU for now) -> ``"cpu"`` or ``"cuda"``."""
    name = str(device)
    base = name.split(":", 1)[0]
    if base not in DEVICES or (base == "cuda" and name not in ("cuda", "cuda:0")):
        raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")
    return base


def kernels_for(device: str) -> ModuleType:
    """The kernel namespace of ``device``: ``tinygradcnn.kernels.cpu`` or ``.cuda``."""
    if device == "cpu":
        return _cpu_kernels()
    from tinygradcnn import cuda

    cuda.require()
    from tinygradcnn.kernels import cuda as cuda_kernels

    return cuda_kernels


@functools.cache
def _cpu_kernels() -> ModuleType:
    from tinygradcnn.kernels import cpu

    _limit_blas_threads()
    return cpu


def _limit_blas_threads() -> None:
    """Run NumPy's BLAS on one thread: Numba's thread pool owns the cores.

    Both pools spin-wait for work after a call, so on a small machine each steals the
    other's cores: on 2 cores a LeNet-5 step took 64 ms with a 2-thread OpenBLAS and 9 ms
    with one. ``TINYGRADCNN_BLAS_THREADS`` overrides the number (0 leaves BLAS alone).
    """
    threads = int(os.environ.get("TINYGRADCNN_BLAS_THREADS", "1"))
    if threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads, user_api="blas")
