"""Matrix products on the GPU: a tiled, register-blocked shared-memory kernel.

``out = op(a) @ op(b)`` is cut into square output tiles of ``BLOCK = TILE * WORK`` rows and
columns, one per block of ``TILE x TILE`` threads; each thread accumulates a ``WORK x WORK``
patch of its tile in registers. The block walks the shared dimension ``k`` in steps of
``TILE``: its threads copy a ``BLOCK x TILE`` slab of ``a`` and a ``TILE x BLOCK`` slab of
``b`` into shared memory, synchronise, and every thread then does ``WORK * WORK`` multiply-adds
per ``2 * WORK`` shared-memory reads. A global element is read ``n / BLOCK`` times instead of
``n`` times, and each shared value feeds ``WORK`` products.

The transpose flags change which thread loads which element so that neighbouring threads
(consecutive ``threadIdx.x``) still read neighbouring addresses (coalesced) whether an operand
is stored ``(n, k)`` or ``(k, n)``. A thread's outputs are strided by ``TILE`` (rows
``ty + r * TILE``, columns ``tx + c * TILE``), so the final stores are coalesced too. The
shared slabs have one padding column, so column-wise writes do not collide in one bank.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32, float64

from ..broadcast import broadcast_shapes, layout
from .launch import TILE, WORK, strided_offset

BLOCK = TILE * WORK
_MAX_GRID_Z = 65535


@cuda.jit(device=True, inline=True, cache=True)
def _matmul_tiles(a, b, out, a_strides, b_strides, batch_shape, k, transpose_a, transpose_b,
                  slab_a, slab_b, acc, zero):
    """Thread (tx, ty) of block (bx, by, bz) computes ``out[batch, by*BLOCK + ty + r*TILE,
    bx*BLOCK + tx + c*TILE]`` for r, c < WORK, for batch bz, bz + gridDim.z, ..."""
    batches, n, m = out.shape
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    row0, col0 = cuda.blockIdx.y * BLOCK, cuda.blockIdx.x * BLOCK
    for batch in range(cuda.blockIdx.z, batches, cuda.gridDim.z):
        a_base = strided_offset(batch, batch_shape, a_strides) * n * k
        b_base = strided_offset(batch, batch_shape, b_strides) * k * m
        for r in range(WORK):
            for c in range(WORK):
                acc[r, c] = zero
        for k0 in range(0, k, TILE):
            # slab_a[i, j] = A[row0 + i, k0 + j];  slab_b[j, i] = B[k0 + j, col0 + i]
            for w in range(WORK):
                if transpose_a:  # stored (k, n): tx walks n, the contiguous axis
                    i, j = tx + w * TILE, ty
                    row, kk = row0 + i, k0 + j
                    slab_a[i, j] = a[a_base + kk * n + row] if row < n and kk < k else zero
                else:  # stored (n, k): tx walks k
                    i, j = ty + w * TILE, tx
                    row, kk = row0 + i, k0 + j
                    slab_a[i, j] = a[a_base + row * k + kk] if row < n and kk < k else zero
                if transpose_b:  # stored (m, k): tx walks k
                    i, j = ty + w * TILE, tx
                    col, kk = col0 + i, k0 + j
                    slab_b[j, i] = b[b_base + col * k + kk] if col < m and kk < k else zero
                else:  # stored (k, m): tx walks m
                    i, j = tx + w * TILE, ty
                    col, kk = col0 + i, k0 + j
                    slab_b[j, i] = b[b_base + kk * m + col] if col < m and kk < k else zero
            cuda.syncthreads()
            for j in range(TILE):
                for r in range(WORK):
                    a_value = slab_a[ty + r * TILE, j]
                    for c in range(WORK):
                        acc[r, c] += a_value * slab_b[j, tx + c * TILE]
            cuda.syncthreads()
        for r in range(WORK):
            row = row0 + ty + r * TILE
            for c in range(WORK):
                col = col0 + tx + c * TILE
                if row < n and col < m:
                    out[batch, row, col] = acc[r, c]


@cuda.jit(cache=True)
def _matmul_kernel_f32(a, b, out, a_strides, b_strides, batch_shape, k, transpose_a, transpose_b):
    """float32 slabs and accumulators; see ``_matmul_tiles`` for what a thread and block do."""
    slab_a = cuda.shared.array((BLOCK, TILE + 1), float32)
    slab_b = cuda.shared.array((TILE, BLOCK + 1), float32)
    acc = cuda.local.array((WORK, WORK), float32)
    _matmul_tiles(a, b, out, a_strides, b_strides, batch_shape, k, transpose_a, transpose_b,
                  slab_a, slab_b, acc, float32(0.0))


@cuda.jit(cache=True)
def _matmul_kernel_f64(a, b, out, a_strides, b_strides, batch_shape, k, transpose_a, transpose_b):
    """float64 slabs and accumulators (gradient checks); otherwise as the float32 kernel."""
    slab_a = cuda.shared.array((BLOCK, TILE + 1), float64)
    slab_b = cuda.shared.array((TILE, BLOCK + 1), float64)
    acc = cuda.local.array((WORK, WORK), float64)
    _matmul_tiles(a, b, out, a_strides, b_strides, batch_shape, k, transpose_a, transpose_b,
                  slab_a, slab_b, acc, float64(0.0))


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False):
    """Batched ``op(a) @ op(b)`` with broadcast batch dimensions.

    (*B1, n, k) @ (*B2, k, m) -> (*broadcast(B1, B2), n, m); ``op`` swaps the last two axes
    when its flag is set. Both operands have at least 2 dimensions.
    """
    a_shape, b_shape = tuple(a.shape), tuple(b.shape)
    n, k = (a_shape[-1], a_shape[-2]) if transpose_a else (a_shape[-2], a_shape[-1])
    m = b_shape[-2] if transpose_b else b_shape[-1]
    batch = broadcast_shapes(a_shape[:-2], b_shape[:-2])
    if batch is None:
        raise ValueError(f"matmul: batch dims {a_shape[:-2]} and {b_shape[:-2]} do not broadcast")
    dtype = np.result_type(a.dtype, b.dtype)
    batches = int(np.prod(batch, dtype=np.int64))
    out = cuda.device_array((batches, n, m), dtype=dtype)
    if out.size:
        merged, (a_strides, b_strides) = layout(batch, a_shape[:-2], b_shape[:-2])
        kernel = _matmul_kernel_f32 if dtype == np.float32 else _matmul_kernel_f64
        grid = (math.ceil(m / BLOCK), math.ceil(n / BLOCK), min(batches, _MAX_GRID_Z))
        kernel[grid, (TILE, TILE)](
            a.reshape(a.size), b.reshape(b.size), out, a_strides, b_strides, merged, k,
            bool(transpose_a), bool(transpose_b),
        )  # fmt: skip
    return out.reshape(tuple(batch) + (n, m))
