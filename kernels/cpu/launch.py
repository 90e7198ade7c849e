"""How a CPU kernel is launched: on one thread or on Numba's thread pool, chosen per call.

Waking Numba's worker threads costs microseconds on a quiet machine and milliseconds when
another process holds a core (measured here on 2 cores: a ReLU over 300k floats took 35 us
on one thread and 0.1-2 ms through ``prange`` under load). Most of a small CNN's kernels
finish in tens of microseconds, so a kernel is compiled twice, serial and parallel, and
each call picks by the size of its largest array. ``prange`` is ``range`` in the serial
build, so the kernel's source is written once.

``device_function`` gives kernels the Numba build of the plain scalar functions of
``kernels/scalar.py`` and ``kernels/shared.py`` (the mirror of ``kernels/cuda/launch.py``).
"""

from __future__ import annotations

import functools
import types

import numpy as np
from numba import get_num_threads, njit

from .. import shared
from ..scalar_build import compile_scalar_functions
from . import vector_math

# Below this many elements in its largest array a kernel runs on the calling thread.
PARALLEL_MIN_SIZE = 1 << 18


def use_threads(size: int) -> bool:
    """Whether work on ``size`` elements is worth waking the thread pool for."""
    return size >= PARALLEL_MIN_SIZE and get_num_threads() > 1


class ThreadedKernel:
    """A Numba kernel compiled on first use in a serial and a parallel build (both cached
    on disk); calling it runs the build that suits the size of its array arguments."""

    def __init__(self, function, **options) -> None:
        # IEEE arithmetic as in NumPy and PyTorch (x / 0 is inf, 0 / 0 is nan), not Python's
        # ZeroDivisionError; it also spares every division a zero test that blocks vectorising
        options.setdefault("error_model", "numpy")
        self.serial = njit(cache=True, **options)(function)
        # Numba names its cache files after the function's qualified name and keys them by
        # bytecode, so the parallel build needs a name of its own not to load the serial one.
        twin = types.FunctionType(function.__code__, function.__globals__, function.__name__,
                                  function.__defaults__, function.__closure__)
        twin.__qualname__ = function.__qualname__ + "__parallel"
        twin.__module__ = function.__module__
        self.parallel = njit(cache=True, parallel=True, **options)(twin)
        self.__doc__ = function.__doc__

    def __call__(self, *args):
        # a plain loop: ``max`` over a generator took 2.5 us a call, this 1.3 (64k calls a run)
        size = 0
        for a in args:
            if isinstance(a, np.ndarray) and a.size > size:
                size = a.size
        return (self.parallel if use_threads(size) else self.serial)(*args)


def threaded(function=None, **options):
    """Decorator: ``@threaded`` or ``@threaded(fastmath=True)`` makes a `ThreadedKernel`."""
    if function is None:
        return lambda f: ThreadedKernel(f, **options)
    return ThreadedKernel(function, **options)


@functools.cache
def _compiled_scalar_functions() -> dict:
    """Every function of ``kernels/scalar.py`` and ``kernels/shared.py`` as a Numba function,
    keyed by the plain function (built on first use; nothing compiles until a kernel that
    calls one compiles). The op functions of scalar.py are not ``inline="always"``: Numba's IR
    inliner refuses the ``f(x, *params)`` calls of the elementwise loops, and LLVM inlines
    these small functions into the loops anyway (a ReLU or an add over 300k floats runs as
    fast as with the IR inlined)."""
    return compile_scalar_functions(_compile, vector_math.math_module())


def _compile(copy):
    # shared.py's functions are called with fixed arguments: inlined into the kernel's IR,
    # they need no build of their own (0.1-0.2 s of compile each, for SGD or Adam)
    if copy.__module__ == shared.__name__:
        dispatcher = njit(inline="always", error_model="numpy")(copy)
    else:
        dispatcher = njit(inline="never", error_model="numpy")(copy)
    # A kernel that closes over a compiled function (the elementwise loops) has it in its
    # cache key, and a Numba function pickles with a random per-process id, which would
    # make every process miss the on-disk cache. A fixed id keeps the key stable; the
    # rest of the key is the function's code and constants, so editing an op in
    # scalar.py recompiles its loops. Kernels that call these functions as module globals
    # (random, optim, augment, loss) follow Numba's rule for callees in other files: their
    # cache does not see an edit of shared.py (clear Numba's cache after one). The digest of
    # vector_math.py, whose exp the scalar functions inline, makes an edit there a new id.
    dispatcher._set_uuid(f"tinygradcnn.cpu.{copy.__module__}.{copy.__name__}."
                         f"{vector_math.SOURCE_DIGEST}")
    return dispatcher


def device_function(function):
    """The Numba build of a plain scalar function from ``kernels/scalar.py`` or
    ``kernels/shared.py``, for kernels to call (inlined into them)."""
    return _compiled_scalar_functions()[function]
