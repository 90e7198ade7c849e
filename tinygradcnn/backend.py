"""Which kernels run an op: the tensor's device decides, never a global switch."""

from __future__ import annotations

import builtins
import functools
import os
from types import ModuleType

DEVICES = ("cpu", "cuda")


class device(str):  # noqa: N801 - PyTorch's name
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cuda")``,
    ``device("cuda:0")`` or ``device("cuda", 0)``; ``.type`` is "cpu" or "cuda", ``.index``
    None or the number given.

    It is a ``str`` (its name), so it goes wherever a device name goes and compares with one:
    ``device("cpu") == "cpu"``, ``x.to(device("cuda"))``. Making one checks only the spelling,
    as in PyTorch; using a device this build lacks (``"cuda:1"``) is the error.
    """

    type: str
    index: int | None  # type: ignore[assignment]  # PyTorch's attribute; hides str.index

    def __new__(cls, type: object, index: int | None = None) -> device:  # noqa: A002
        if isinstance(type, device) and index is None:
            return type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a device name such as 'cpu' or 'cuda', got "
                            f"{type!r} ({builtins.type(type).__name__})")
        base, colon, number = type.partition(":")
        if base not in DEVICES or (colon and not number.isdigit()):
            raise ValueError(f"device: unknown device {type!r}; expected 'cpu' or 'cuda'")
        if colon:
            if index is not None:
                raise ValueError(f"device: {type!r} already has an index; got index={index}")
            index = int(number)
        elif index is not None and (isinstance(index, bool) or not isinstance(index, int)
                                    or index < 0):
            raise ValueError(f"device: index must be a non-negative int, got {index!r}")
        made = super().__new__(cls, base if index is None else f"{base}:{index}")
        made.type, made.index = base, index
        return made

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __reduce__(self):  # pickles (and copies) as itself, not as a plain str
        return (device, (self.type, self.index))


def normalize_device(device: object, caller: str = "device") -> str:
    """``"cpu"``, ``"cuda"`` or ``"cuda:0"`` (one GPU for now), or a ``device`` of those,
    -> ``"cpu"`` or ``"cuda"``.

    Anything else, ``None`` included, is a ``ValueError`` naming ``caller`` and the value:
    a mistyped name must never fall through to a default device. Callers for which
    ``device=None`` means "the default" or "where it already is" (as in PyTorch) resolve
    ``None`` themselves before calling this.
    """
    if isinstance(device, str):
        base, _, index = device.partition(":")
        if base in DEVICES and index in ("", "0"):
            return "cuda" if base == "cuda" else "cpu"  # a plain str, also for a ``device``
    raise ValueError(f"{caller}: unknown device {device!r}; expected 'cpu' or 'cuda'")


def kernels_for(device: str) -> ModuleType:
    """The kernel namespace of ``device``: ``tinygradcnn.kernels.cpu`` or ``.cuda``.

    ``device`` is normalised first (``"cuda:0"`` is ``"cuda"``); an unknown name or ``None``
    is a ``ValueError``, never silently the GPU.
    """
    if device == "cpu":
        return _cpu_kernels()
    if normalize_device(device, "kernels_for") == "cpu":
        return _cpu_kernels()
    from tinygradcnn import cuda

    cuda.require()
    from tinygradcnn.kernels import cuda as cuda_kernels

    return cuda_kernels


@functools.cache
def _cpu_kernels() -> ModuleType:
    from tinygradcnn.kernels import cpu

    _limit_blas_threads()
    _keep_freed_memory()
    _short_spin_wait()
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


# GOMP_SPINCOUNT for Numba's OpenMP workers, unless the user chose one or a wait policy
SPIN_COUNT = 10000
spin_count_set = False  # whether this process set GOMP_SPINCOUNT (the benchmarks ask)


def _short_spin_wait() -> None:
    """Let Numba's OpenMP workers spin 10,000 rounds after a parallel kernel, not 300,000.

    A worker that finds no work spins before it sleeps, so that the next kernel starts at
    once. GNU OpenMP's default spin is milliseconds long, and a core that spins is a core
    the other threads of the process do not get: on 2 cores the large matrix products cut
    in two for Python threads (``kernels/cpu/matmul.py``) ran on one of them. Measured on
    2 cores, alternating: resnet18's training step (batch 16, 64x64) 168-203 -> 134-139
    ms; resnet50's inference (batch 4, 224x224) 350-400 -> 260-330; MobileNetV2's step and
    LeNet-5's unchanged (shorter spins, 1,000 and less, made both slower: their many small
    kernels paid for waking the workers). GNU OpenMP reads the variable when it loads, on
    Numba's first parallel kernel; once it is loaded, this changes nothing.
    """
    global spin_count_set
    if "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ:
        return
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    spin_count_set = True


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed activation-sized blocks instead of returning them.

    By default a block over 128 KiB gets fresh pages from the kernel (mmap) and goes back on
    free, and every first touch of a fresh page is a page fault that zero-fills it. A training
    step frees and re-allocates the same few megabytes of activations and gradients each
    time, so it paid those faults on every step: on 2 cores a LeNet-5 step took 8.7 ms
    instead of 4.4-5 ms. Blocks up to 256 MiB now come from the heap, which keeps up to
    1 GiB of freed memory for reuse (the process's peak stays the same).
    ``TINYGRADCNN_KEEP_MEMORY=0`` leaves malloc alone; other C libraries are left alone.
    """
    if os.environ.get("TINYGRADCNN_KEEP_MEMORY", "1") == "0":
        return
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.mallopt(_M_MMAP_THRESHOLD, 256 << 20)
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
