"""The autograd engine's own cost per op: ``Function.apply`` and ``backward`` with the kernels
taken out, for two checkouts side by side in one process.

    python benchmarks/bench_apply.py ../main .     # old checkout, new checkout

A ``Function`` whose forward saves its inputs (or an array of its own) and returns a
preallocated array leaves only the engine's Python work to time; ``w * b`` on 4x4 tensors
adds a real kernel. Both packages are imported under different names, and each case
alternates between them over many short rounds, so background load hits both alike; the
best round of each is printed.
"""

from __future__ import annotations

import sys
import timeit

import numpy as np


def load(path: str, alias: str):
    """Import the tinygradcnn found in ``path`` as ``alias`` (its modules renamed)."""
    sys.path.insert(0, path)
    import tinygradcnn  # noqa: F401

    sys.path.pop(0)
    for name in [n for n in sys.modules if n == "tinygradcnn" or n.startswith("tinygradcnn.")]:
        module = sys.modules.pop(name)
        module.__name__ = alias + name[len("tinygradcnn"):]
        if getattr(module, "__package__", None):  # relative imports resolve through it
            module.__package__ = alias + module.__package__[len("tinygradcnn"):]
        sys.modules[module.__name__] = module
    return sys.modules[alias]


def cases(tg) -> dict:
    out, own = np.ones((4, 4), np.float32), np.ones((4, 4), np.float32)

    class SavesInputs(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return out

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    class SavesItsOwn(SavesInputs):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(own)  # as dropout saves its mask
            return out

    a, b = tg.ones(4, 4), tg.ones(4, 4)
    w = tg.ones(4, 4, requires_grad=True)
    upstream = np.ones((4, 4), np.float32)

    def chain():
        y = SavesInputs.apply(w, b)
        for _ in range(4):
            y = SavesInputs.apply(y, b)
        y.backward(upstream)

    return {
        "apply, no graph": lambda: SavesInputs.apply(a, b),
        "apply, graph (saves its inputs)": lambda: SavesInputs.apply(w, b),
        "apply, graph (saves its own array)": lambda: SavesItsOwn.apply(w, b),
        "5 applies + backward": chain,
        "w * b (4x4, graph, real kernel)": lambda: w * b,
    }


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = cases(load(sys.argv[1], "tg_old")), cases(load(sys.argv[2], "tg_new"))
    best = {name: [float("inf"), float("inf")] for name in old}
    for _ in range(15):
        for name in old:
            for i, fn in enumerate((old[name], new[name])):
                fn()
                seconds = min(timeit.repeat(fn, number=1000, repeat=3)) / 1000
                best[name][i] = min(best[name][i], seconds)
    print(f"{'':36s} {sys.argv[1]:>12s} {sys.argv[2]:>12s}")
    for name, (before, after) in best.items():
        print(f"{name:36s} {before * 1e6:9.2f} us {after * 1e6:9.2f} us")


if __name__ == "__main__":
    main()
