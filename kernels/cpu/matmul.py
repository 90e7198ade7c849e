"""Matrix products on the CPU.

Measured on a 2-core machine, NumPy's BLAS (OpenBLAS) beats a blocked Numba loop by 3-10x
at the sizes a CNN's fully connected layers use, so the product itself goes to BLAS. The
transpose flags let backward passes use ``A^T B`` without materialising the transpose.

BLAS runs on one thread (``tinygradcnn/backend.py``: its own pool spins against Numba's), so
a large product is cut into blocks that Python threads hand to BLAS at once, one per thread
of Numba's pool (``product``); NumPy releases the GIL inside. That pays only because Numba's
OpenMP workers now spin briefly after a kernel (``backend._short_spin_wait``): with GNU
OpenMP's default spin they held the second core, and the cut slowed resnet18's step
(175 -> 220 ms). With it, on 2 cores: resnet18's step 175 -> 130 ms (batch 16, 64x64; the
same for thresholds from 2^20 to 2^26 multiply-adds), resnet50's inference 380 -> 260-300 ms
(batch 4, 224x224), EfficientNet-B0's step unchanged.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import get_num_threads

# multiply-adds of a product worth cutting up
SPLIT_MIN_MACS = 1 << 24
_pool: ThreadPoolExecutor | None = None


def _helpers(count: int) -> ThreadPoolExecutor:
    """The threads that run all shares but the caller's (made on first use)."""
    global _pool
    if _pool is None or _pool._max_workers < count:
        _pool = ThreadPoolExecutor(count, thread_name_prefix="tinygradcnn-blas")
    return _pool


def _forget_helpers() -> None:
    global _pool
    _pool = None  # a forked child (a data-loader worker) has the pool but not its threads


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_forget_helpers)


def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a (n, k) @ b (k, m) -> (n, m)`` or ``a @ b (B, k, m) -> (B, n, m)``, cut into a
    share per thread of Numba's pool when the product is large: the B products, else the
    rows of ``a`` or the columns of ``b`` (VGG-11's first FC layer at batch 2, 411 MB of
    weights: 75 ms on one thread, 26 ms as two blocks of weight rows)."""
    n, m = a.shape[0], b.shape[-1]
    batch = b.shape[0] if b.ndim == 3 else 1
    pieces = get_num_threads() if n * a.shape[1] * m * batch >= SPLIT_MIN_MACS else 1
    rows, cols = n >= 8 * pieces, m >= 8 * pieces and b.ndim == 2
    if pieces < 2 or not (batch >= pieces or rows or cols):
        return np.matmul(a, b)
    # a thread that takes rows of a reads all of b; one that takes columns of b reads all of
    # a, and the result comes back transposed, copied once more: worth it for a weight far
    # larger than both (a fully connected layer, 64 x 25088 -> 4096: 119 -> 82 ms), not for
    # a conv's weight gradient (its transposed copy took longer than the product)
    transposed = batch < pieces and cols and (not rows or b.size > a.size + n * m)
    out = np.empty((m, n) if transposed else b.shape[:-2] + (n, m), np.result_type(a, b))
    if batch >= pieces:  # whole products: each BLAS call as large as it can be
        shares = [(a, b[lo:hi], out[lo:hi]) for lo, hi in _blocks(batch, pieces, 1)]
    elif not transposed:
        shares = [(a[lo:hi], b, out[..., lo:hi, :]) for lo, hi in _blocks(n, pieces, 8)]
    else:  # row blocks of b^T @ a^T (as column blocks, BLAS took 1.5x longer at batch 2)
        shares = [(b.T[lo:hi], a.T, out[lo:hi]) for lo, hi in _blocks(m, pieces, 8)]
    pending = [_helpers(pieces - 1).submit(_share, *share) for share in shares[1:]]
    _share(*shares[0])
    for job in pending:
        job.result()
    return np.ascontiguousarray(out.T) if transposed else out


def _blocks(size: int, pieces: int, multiple: int) -> list[tuple[int, int]]:
    """``pieces`` near-equal blocks [lo, hi) of ``range(size)``, inner bounds on a
    ``multiple``."""
    cuts = [size * i // pieces // multiple * multiple for i in range(pieces)] + [size]
    return [(cuts[i], cuts[i + 1]) for i in range(pieces)]


def _share(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """One thread's part of ``product``, as 2-d products that BLAS takes in place (NumPy's
    batched matmul into a view of ``out`` ran on one core, GIL held)."""
    if b.ndim == 2:
        np.matmul(a, b, out=out)
        return
    for i in range(b.shape[0]):
        np.matmul(a, b[i], out=out[i])


def matmul(a: np.ndarray, b: np.ndarray, transpose_a: bool = False, transpose_b: bool = False):
    """Batched ``op(a) @ op(b)`` with broadcast batch dimensions.

    (*B1, n, k) @ (*B2, k, m) -> (*broadcast(B1, B2), n, m); ``op`` swaps the last two axes
    when its flag is set. Both operands have at least 2 dimensions.
    """
    if transpose_a:
        a = a.swapaxes(-1, -2)
    if transpose_b:
        b = b.swapaxes(-1, -2)
    return np.matmul(a, b)
