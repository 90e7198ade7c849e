"""How a CUDA kernel is launched: grid and block sizes computed from the data size, and the
small helpers every kernel family shares (flat views, padded shape tuples, strided offsets).

Every elementwise-style kernel is a *grid-stride loop*: thread ``t`` of a grid of ``T``
threads handles flat indices ``t, t + T, t + 2T, ...``. Neighbouring threads touch
neighbouring elements (coalesced loads and stores), and the grid size is a launch choice
rather than a function of the data size, so one kernel serves 10 elements and 10 million. On
a GPU the grid covers the data (capped at a few waves of blocks). Under numba's CUDA simulator
every thread is a Python thread, so the same kernels are launched on a small grid (and
block-shaped kernels on small tiles) to keep the test suite fast; the code path is the same,
only the sizes differ. The mirror of ``kernels/cpu/launch.py``, which picks between a serial
and a parallel build; ``device_function`` here builds the plain scalar functions of
``kernels/scalar.py`` and ``kernels/shared.py`` as device functions, as that file builds them
for Numba on the CPU.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import time

import numpy as np
from numba import config, cuda

from ..broadcast import MAX_DIMS
from ..scalar_build import compile_scalar_functions

SIMULATOR = bool(config.ENABLE_CUDASIM)  # type: ignore[attr-defined]

# threads per block of the 1-D kernels; a multiple of the 32-thread warp on a GPU
THREADS = 4 if SIMULATOR else 256
# blocks of a grid-stride launch: enough to fill an H100's 132 SMs several times over
MAX_BLOCKS = 1 if SIMULATOR else 132 * 16
# tiled kernels (matmul, convolution): TILE x TILE threads a block, each computing a
# WORK x WORK patch of outputs, so a block covers a (TILE * WORK)^2 output tile
TILE = 2 if SIMULATOR else 16
WORK = 2 if SIMULATOR else 4
# threads of the block-per-row reductions (norms, losses); a power of two for the tree
REDUCE_THREADS = 4 if SIMULATOR else 256


def blocks_for(n: int, threads: int = THREADS) -> int:
    """Blocks of ``threads`` for a grid-stride loop over ``n`` items (at least 1)."""
    return max(1, min(MAX_BLOCKS, math.ceil(n / threads)))


def grid_1d(n: int) -> tuple[int, int]:
    """``(blocks, threads)`` for a grid-stride loop over ``n`` items."""
    threads = min(THREADS, max(1 if SIMULATOR else 32, _next_pow2(n)))
    return blocks_for(n, threads), threads


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def flat(array):
    """The 1-D view of a contiguous device array (0-d arrays become one element)."""
    return array.reshape(array.size)


def pad_dims(values, fill: int) -> tuple[int, ...]:
    """``values`` left-padded with ``fill`` to ``MAX_DIMS`` entries (kernel tuple arguments)."""
    values = tuple(int(v) for v in values)
    if len(values) > MAX_DIMS:
        raise ValueError(f"cuda kernels support at most {MAX_DIMS} dimensions, got {len(values)}")
    return (fill,) * (MAX_DIMS - len(values)) + values


def size_of(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


@cuda.jit(device=True, inline=True, cache=True)
def strided_offset(index, shape, strides):
    """Offset of flat C-order ``index`` over ``shape`` (MAX_DIMS entries) under ``strides``."""
    offset = 0
    rest = index
    for axis in range(MAX_DIMS - 1, -1, -1):
        size = shape[axis]
        offset += (rest % size) * strides[axis]
        rest //= size
    return offset


# inlined into the calling kernel by NVVM; the simulator's ``cuda.jit`` has no such option
_DEVICE_FUNCTION_OPTIONS: dict = {} if SIMULATOR else {"forceinline": True}


@functools.cache
def _compiled_scalar_functions() -> dict:
    """Every function of ``kernels/scalar.py`` and ``kernels/shared.py`` as a CUDA device
    function, keyed by the plain function (built on first use, compiled with the first kernel
    that calls it). The mirror of the CPU helper in ``kernels/cpu/launch.py``."""
    return compile_scalar_functions(_compile)


def _compile(copy):
    if SIMULATOR:
        copy = _silent_like_a_gpu(copy)
    return cuda.jit(device=True, **_DEVICE_FUNCTION_OPTIONS)(copy)


def _silent_like_a_gpu(function):
    """``function`` run with NumPy's arithmetic warnings off. On a GPU uint64 arithmetic
    wraps silently (the random hash relies on it) and ``x / 0`` is inf without a word; the
    simulator runs the same code on NumPy scalars, which warn on every wrap and division."""

    @functools.wraps(function)
    def quiet(*args):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return function(*args)

    return quiet


def device_function(function):
    """The CUDA device-function build of a plain scalar function from ``kernels/scalar.py``
    or ``kernels/shared.py``, for kernels to call."""
    return _compiled_scalar_functions()[function]


# ---------------------------------------------------------------------------------------------
# numba's CUDA simulator, made to behave like a GPU where the kernels rely on it


def _patch_simulator() -> None:
    from numba.core import types
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray
    from numba.cuda.simulator.kernel import BlockThread
    from numba.cuda.simulator.kernelapi import FakeCUDAShared
    from numba.np import numpy_support

    # On a GPU a device array's host-side ``.shape`` is a plain tuple (``shape[-1]`` works,
    # and the op layer relies on it); the simulator returns a tuple that refuses negative
    # indices, mimicking the *in-kernel* shape. Give its host-side arrays the GPU behaviour.
    FakeCUDAArray.shape = property(lambda self: self._ary.shape)  # type: ignore[method-assign, assignment]

    # The simulator runs a block's threads as Python threads, and each of them calls
    # ``cuda.shared.array``; the first call made at a source line allocates the block's array
    # and later calls look it up. numba does the look-up and the allocation without a lock, so
    # a thread switch between them gives two threads two different "shared" arrays: each reads
    # the other's slots as uninitialised memory (huge or NaN values, seen as rare wrong conv,
    # matmul and layer-norm results). Allocate under a lock. The caller's line comes from its
    # frame, not from ``traceback.extract_stack`` (same key, without reading source files).
    simulated_array = FakeCUDAShared.array
    lock = threading.Lock()

    def shared_array(self, shape, dtype, alignment=None):
        if alignment is not None or shape == 0:  # numba's errors / dynamic shared memory
            return simulated_array(self, shape, dtype, alignment)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        with lock:
            array = self._allocations.get(key)
            if array is None:
                array = self._allocations[key] = np.empty(shape, dtype)
        return array

    FakeCUDAShared.array = shared_array  # type: ignore[method-assign]

    # The simulator's block manager busy-polls its threads (``is_alive``, ``syncthreads``
    # flags) while holding the GIL, so a thread released from ``syncthreads`` waits for the
    # interpreter's switch interval (5 ms) before it runs: a conv launch spent most of its
    # time idle. Yielding the GIL on each poll lets released threads run at once.
    thread_is_alive = BlockThread.is_alive

    def is_alive(self):
        time.sleep(0)
        return thread_is_alive(self)

    BlockThread.is_alive = is_alive  # type: ignore[method-assign]


if SIMULATOR:
    _patch_simulator()
