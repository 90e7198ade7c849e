"""How the plain functions of ``kernels/scalar.py`` and ``kernels/shared.py`` become one
backend's compiled functions: the single mechanism behind each backend's
``launch.device_function`` (Numba functions on the CPU, CUDA device functions on the GPU)."""

from __future__ import annotations

import math
import types
from collections.abc import Callable

from . import scalar, shared

_MODULES = (scalar, shared)


def compile_scalar_functions(compile_one: Callable[[types.FunctionType], object],
                             math_module: types.ModuleType = math) -> dict:
    """``{plain function: compile_one(copy)}`` for every function of scalar.py and shared.py.

    Each copy has the function's code, name and module, but resolves the names it calls
    (``sigmoid`` inside ``silu``) in a namespace of its own in which they are compiled too:
    compiled code cannot call a plain Python function. In that namespace ``math`` is
    ``math_module``: a backend may supply faster elementary functions under math's names
    (the CPU's vectorising ``exp``). Nothing compiles here; the backends compile lazily, when
    the first kernel that calls a function compiles.
    """
    # Without ``__file__``: Numba keys the on-disk cache of a kernel that closes over one of
    # these by their pickle, and the pickle memoises the ``__file__`` string when it is the
    # very object of the code's ``co_filename``, which holds when the module was compiled
    # from source but not when it came from a .pyc. With it, a user's second run (the first
    # with bytecode) missed the cache of every elementwise loop (1 s of compiling again).
    namespaces = {module.__name__: {key: value for key, value in
                                    dict(vars(module), math=math_module).items()
                                    if key != "__file__"} for module in _MODULES}
    compiled = {}
    for module in _MODULES:
        for function in vars(module).values():
            if not (isinstance(function, types.FunctionType)
                    and function.__module__ == module.__name__):
                continue
            copy = types.FunctionType(function.__code__, namespaces[module.__name__],
                                      function.__name__, function.__defaults__)
            copy.__qualname__, copy.__module__ = function.__qualname__, function.__module__
            compiled[function] = compile_one(copy)
    for namespace in namespaces.values():
        for name, value in namespace.items():
            if isinstance(value, types.FunctionType) and value in compiled:
                namespace[name] = compiled[value]
    return compiled
