"""2-d convolution on the CPU: forward, and the gradients of input, weight and bias.

How the forward pass is organised (and why):

1. The input is copied once into *planes* (``conv_layout.py``): padded and split by the
   stride so that every (channel, kh, kw) tap of the kernel is a single offset, and the
   whole convolution is ``out[o, q] = sum_t w[o, t] * plane[offset[t] + q]`` over output
   pixels ``q = oh * Wq + ow``: a contiguous, vectorisable run with no index arithmetic or
   padding test in the inner loop.
2. Register blocking: one pass over ``q`` updates 8 output channels from 4 taps (32 FMAs per
   4 input loads and 8 accumulator loads/stores), on a 256-pixel tile whose accumulators
   stay in L1. A plain one-tap, one-channel loop is bound by the accumulator's load/store
   and runs 3-5x slower. Groups of 1 to 3 output channels (depthwise convs) run one channel
   and 8 taps per pass instead, in a kernel of their own, so that a network that never
   needs it never compiles it.
3. Where this layout wastes most of each vector, 1x1 convs and outputs of at most 64
   pixels, the three passes are one BLAS product each instead (``conv_gemm.py``).
4. The forward and weight-gradient kernels are a ``prange`` over jobs whose body is one
   call of a serial ``*_job`` function. Numba compiles a ``prange`` body a second time as a
   function of its own, so the forward's blocked loop inside it took 9-10 s to compile
   (LeNet-5, Zen 3); as a call it compiles once, 3-5 s, plus 2-3 s for the parallel shell,
   and runs as fast. The job index is cast to int64: the ``prange`` index is uint64, and a
   uint64 argument would compile the job function once more. The adjoint input gradient
   keeps its loop inline: split the same way it ran 12% slower (ResNet's 3x3 stride 2).

The input gradient is the forward's adjoint or a transposed convolution run by the forward
kernel (``conv2d_backward_input`` says which, and why); the weight gradient is 2 channels x
4 taps of dot products over the same planes. Every entry point names its shapes once, in a
``ConvGeometry`` (``kernels/shapes.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..shapes import ConvGeometry, Padding, Pair, conv2d_geometry
from . import conv_gemm
from .conv_layout import (
    VECTOR,
    Planes,
    copy_row,
    from_planes,
    input_plane_shape,
    input_planes,
    output_grad_planes,
    output_grad_rows,
)
from .conv_tiles import TILE, accumulate_1, accumulate_8
from .launch import threaded

# ---------------------------------------------------------------------------------------------
# Forward: out[o, q] = bias[o] + sum_t w[o, t] * plane[offset[t] + q]
# ---------------------------------------------------------------------------------------------


@njit(parallel=True, fastmath=True, cache=True)
def _conv_planes_kernel_8(planes, weights, offsets, bias, groups, group_stride, Wq, out):
    """out[n, o] = bias[o] + sum_t weights[o, t] * planes[n, g * group_stride + offsets[t] + q],
    output channels in blocks of 8 (a group's last block padded).

    One job = (sample, group, block of 8 output channels), over all tiles of output pixels
    in turn. ``weights`` has 7 spare zero rows so that the last block may run past the last
    channel; only the block's real channels are written.
    """
    blocks = -(-(out.shape[1] // groups) // 8)
    for job in prange(planes.shape[0] * groups * blocks):
        _conv_planes_job_8(planes, weights, offsets, bias, groups, group_stride, Wq, out,
                           np.int64(job))


@njit(parallel=True, fastmath=True, cache=True)
def _conv_planes_kernel_1(planes, weights, offsets, bias, groups, group_stride, Wq, out):
    """`_conv_planes_kernel_8` one output channel at a time: groups of 1 to 3 channels
    (depthwise convolutions), where a block of 8 would be mostly empty."""
    for job in prange(planes.shape[0] * out.shape[1]):
        _conv_planes_job_1(planes, weights, offsets, bias, groups, group_stride, Wq, out,
                           np.int64(job))


@njit(fastmath=True, cache=True)
def _conv_planes_job_8(planes, weights, offsets, bias, groups, group_stride, Wq, out, job):
    """Job ``job`` of `_conv_planes_kernel_8`: (sample, group, block of 8 output channels),
    over all tiles of output pixels in turn."""
    n, g, o0, real = _job_channels(out, groups, job, 8)
    acc = np.empty((8, TILE), planes.dtype)  # one per job: the tiles reuse it
    P = out.shape[2] * Wq
    for p0 in range(0, P, TILE):
        tp, tv = _tile_size(P, p0)
        for j in range(8):
            acc[j, :tv] = bias[min(o0 + j, out.shape[1] - 1)]
        accumulate_8(acc, planes[n], g * group_stride, offsets, weights, o0, p0, tv)
        _copy_tile_out(acc, out, n, o0, real, p0, tp, Wq)


@njit(fastmath=True, cache=True)
def _conv_planes_job_1(planes, weights, offsets, bias, groups, group_stride, Wq, out, job):
    """Job ``job`` of `_conv_planes_kernel_1`: (sample, output channel). A function of its
    own, not a branch of the 8-block job: LeNet-5 never runs it and compiles 1 s less."""
    n, g, o, _ = _job_channels(out, groups, job, 1)
    acc = np.empty((1, TILE), planes.dtype)
    P = out.shape[2] * Wq
    for p0 in range(0, P, TILE):
        tp, tv = _tile_size(P, p0)
        acc[0, :tv] = bias[o]
        accumulate_1(acc[0], planes[n], g * group_stride, offsets, weights, o, p0, tv)
        _copy_tile_out(acc, out, n, o, 1, p0, tp, Wq)


@njit(inline="always")
def _job_channels(out, groups, job, width):
    """(sample, group, first output channel, how many of its ``width`` are real) of a job."""
    per_group = out.shape[1] // groups
    blocks = -(-per_group // width)
    g = (job // blocks) % groups
    o0 = g * per_group + job % blocks * width
    return job // (blocks * groups), g, o0, min(width, (g + 1) * per_group - o0)


@njit(inline="always")
def _tile_size(P, p0):
    """(pixels, pixels rounded up to whole vectors) of the tile from ``p0``: the spare
    columns are garbage, never copied out, but a loop with no scalar remainder runs faster
    than one with a short tail."""
    tp = min(TILE, P - p0)
    return tp, min(TILE, -(-tp // VECTOR) * VECTOR)


@njit(inline="always")
def _copy_tile_out(acc, out, n, o0, real, p0, tp, Wq):
    """Copy a tile's valid columns (q = oh * Wq + ow with ow < OW) into ``out[n, o0:o0+real]``."""
    OH, OW = out.shape[2], out.shape[3]
    for oh in range(p0 // Wq, min(OH, (p0 + tp + Wq - 1) // Wq)):
        ow0 = max(0, p0 - oh * Wq)
        ow1 = min(OW, p0 + tp - oh * Wq)
        if ow1 <= ow0:
            # the tile starts in this row's spare columns (ow >= OW): nothing of the row
            # is in it, and q0 + ow1 < 0 would wrap round in the slice below
            continue
        q0 = oh * Wq - p0
        for j in range(real):
            copy_row(out[n, o0 + j, oh, ow0:ow1], acc[j, q0 + ow0:q0 + ow1])


# groups of at least this many output channels run in blocks of 8, the last one padded: the
# 8-block reuses each input load 8 times and is faster even half empty
BLOCK_MIN_CHANNELS = 4


def _conv_planes(planes: Planes, weights: np.ndarray, bias: np.ndarray | None, groups: int,
                 out_shape: tuple[int, int, int, int]) -> np.ndarray:
    """Run the forward kernel over ``planes`` into ``out_shape`` (N, O, rows, cols);
    ``weights`` (O, T) with T taps per group."""
    O = weights.shape[0]
    dtype = planes.data.dtype
    padded = np.zeros((O + 7, weights.shape[1]), dtype)
    padded[:O] = weights
    bias = np.zeros(O, dtype) if bias is None else bias
    out = np.empty(out_shape, dtype)
    kernel = (_conv_planes_kernel_8 if O // groups >= BLOCK_MIN_CHANNELS
              else _conv_planes_kernel_1)
    kernel(planes.data, padded, planes.offsets, bias, groups, planes.group_stride, planes.Wq,
           out)
    return out


def _as_run(geometry: ConvGeometry) -> ConvGeometry:
    """The geometry the kernels run: the planes split rows and columns by one stride, so
    unequal strides run at stride 1 (the result is subsampled)."""
    sh, sw = geometry.stride
    return geometry if sh == sw else geometry.at_unit_stride()


def _columns(layout: Planes | np.ndarray | None) -> np.ndarray | None:
    """The matrix-product operand among the layouts (None: the product builds its own)."""
    return layout if isinstance(layout, np.ndarray) else None


def conv2d_input_layout(x: np.ndarray, weight_shape, stride: Pair, padding: Padding,
                        dilation: Pair, groups: int) -> Planes | np.ndarray:
    """x (N, C, H, W) as ``conv2d_forward`` and ``conv2d_backward_weight`` read it, to build
    once and pass to both: its padded, phase-split planes (``conv_layout.py``), or for the
    convolutions computed as one matrix product, that product's operand (``conv_gemm.py``)."""
    geometry = conv2d_geometry(x.shape, weight_shape, stride, padding, dilation, groups)
    if conv_gemm.uses_gemm(geometry):
        return conv_gemm.columns(x, geometry)
    return input_planes(x, _as_run(geometry))


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair,
                   padding: Padding, dilation: Pair, groups: int,
                   layout: Planes | np.ndarray | None = None) -> np.ndarray:
    """Cross-correlation: (N, C, H, W) * (O, C // groups, KH, KW) -> (N, O, OH, OW).

    ``out[n, o, i, j] = bias[o] + sum_{c, kh, kw} w[o, c, kh, kw] *
    padded[n, g * C/groups + c, i * sh + kh * dh, j * sw + kw * dw]`` with ``g`` the group of
    ``o``. ``padding`` is (top, bottom, left, right). ``layout``: what
    ``conv2d_input_layout`` gave for these arguments (built here when None).
    """
    geometry = conv2d_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    if conv_gemm.uses_gemm(geometry):
        return conv_gemm.forward(x, weight, bias, geometry, _columns(layout))
    run = _as_run(geometry)
    planes = layout if isinstance(layout, Planes) else input_planes(x, run)
    out = _conv_planes(planes, weight.reshape(run.out_channels, -1), bias, groups,
                       run.output_shape)
    if run is geometry:
        return out
    return np.ascontiguousarray(out[:, :, ::stride[0], ::stride[1]])


# strided convs with this many output channels per group take the adjoint input gradient
ADJOINT_MIN_CHANNELS = 8


def conv2d_backward_input(grad_out: np.ndarray, weight: np.ndarray, input_shape,
                          stride: Pair, padding: Padding, dilation: Pair,
                          groups: int) -> np.ndarray:
    """dL/dx (N, C, H, W) from dL/dout (N, O, OH, OW).

    Two ways to the same sums. The *adjoint* of the forward kernel: the forward reads
    ``plane[offset[t] + q]`` for every tap t and output pixel q, so the gradient of the
    planes is ``grad_plane[offset[t] + q] += sum_o w[o, t] * dout[o, q]``: a product of the
    (taps x channels) weight and the output gradient, tile by tile, added at the taps'
    offsets, then the planes' input pixels gathered (padding dropped). It does the forward's
    work, whatever the stride or padding. The *transposed convolution*, ``conv(zero_insert(
    dout, stride), flip(weight)^T)`` over a canvas padded by ``dilation * (K - 1) - pad``,
    does stride^2 times that work on zeros, but reduces over all the taps of a tile before
    writing it out once. Measured on one thread, the adjoint is 2.4x faster for ResNet's 3x3
    stride-2 conv (16, 64, 32, 32) -> 128 channels, 35% slower for the stride-1 3x3 64 -> 64
    and no faster for LeNet's second conv: strided convolutions with 8 or more output
    channels per group take the adjoint, the rest the transposed convolution.
    """
    geometry = conv2d_geometry(input_shape, weight.shape, stride, padding, dilation, groups)
    if conv_gemm.uses_gemm(geometry):
        return conv_gemm.backward_input(grad_out, weight, geometry)
    O, Cg, KH, KW = weight.shape
    if geometry.stride == (1, 1) or O // groups < ADJOINT_MIN_CHANNELS:
        # w_t[g, c, o, kh, kw] = w[g, o, c, KH-1-kh, KW-1-kw]
        flipped = weight[:, :, ::-1, ::-1].reshape(groups, O // groups, Cg, KH, KW)
        transposed = np.ascontiguousarray(flipped.transpose(0, 2, 1, 3, 4)).reshape(
            geometry.in_channels, -1)
        return _conv_planes(output_grad_planes(grad_out, geometry), transposed, None, groups,
                            geometry.input_shape)
    run = _as_run(geometry)
    if run is not geometry:  # the stride-1 output gradient: zero between the strided pixels
        full = np.zeros(run.output_shape, grad_out.dtype)
        full[:, :, ::stride[0], ::stride[1]] = grad_out
        grad_out = full
    shape = input_plane_shape(run)
    P = run.out_height * shape.Wq
    length = -(-P // VECTOR) * VECTOR
    rows = output_grad_rows(grad_out, shape.Wq, length)
    per_group, T = O // groups, Cg * KH * KW
    # (groups * T, per_group): row g * T + t holds tap t's weights of group g's channels,
    # with 7 spare zero rows so that the last 8-block may run past the end
    weights_t = np.zeros((groups * T + 7, per_group), weight.dtype)
    weights_t[:groups * T] = weight.reshape(groups, per_group, T).transpose(0, 2, 1).reshape(
        groups * T, per_group)
    row_offsets = np.arange(per_group, dtype=np.int64) * length
    grad_planes = np.zeros((run.batch, shape.length), grad_out.dtype)
    _conv_adjoint_kernel(rows, weights_t, row_offsets, shape.offsets, groups,
                         shape.group_stride, P, grad_planes)
    grad_x = np.empty(geometry.input_shape, grad_out.dtype)
    top, _, left, _ = run.padding
    from_planes(grad_planes, grad_x, top, left, run.stride[0], shape.Hq, shape.Wq)
    return grad_x


@njit(parallel=True, fastmath=True, cache=True)
def _conv_adjoint_kernel(rows, weights_t, row_offsets, offsets, groups, group_stride, P,
                         grad_planes):
    """grad_planes[n, g * group_stride + offsets[t] + q] += sum_o weights_t[g * T + t, o]
    * rows[n, g * per_group + o, q], for the P pixels q of every tap t.

    The forward kernel's blocking with the roles swapped: 8 taps take the place of 8
    output channels, the group's output channels that of the taps (their rows,
    ``row_offsets`` apart, the "planes"). One job = one sample, so its planes have one
    writer; each 8 x 256 tile is added back at its taps' offsets.
    """
    N = rows.shape[0]
    T = offsets.shape[0]
    per_group = row_offsets.shape[0]
    row_length = rows.shape[2]
    tiles = (P + TILE - 1) // TILE
    for n in prange(N):
        gn = rows[n].reshape(-1)
        dst = grad_planes[n]
        acc = np.empty((8, TILE), rows.dtype)
        for g in range(groups):
            base = g * per_group * row_length
            for t0 in range(0, T, 8):
                width = min(8, T - t0)
                for tile in range(tiles):
                    p0 = tile * TILE
                    tp = min(TILE, P - p0)
                    tv = min(TILE, -(-tp // VECTOR) * VECTOR)
                    for j in range(8):
                        acc[j, :tv] = 0
                    accumulate_8(acc, gn, base, row_offsets, weights_t, g * T + t0, p0, tv)
                    for j in range(width):
                        d = g * group_stride + offsets[t0 + j] + p0
                        row = acc[j]
                        for i in range(tp):
                            dst[d + i] += row[i]


# ---------------------------------------------------------------------------------------------
# Weight and bias gradients
# ---------------------------------------------------------------------------------------------


@njit(parallel=True, fastmath=True, cache=True)
def _conv_weight_grad_kernel(grad_planes, planes, offsets, groups, group_stride, O, P):
    """grad_w[o, t] = sum_{n, q} grad_planes[n, o, q] * planes[n, base_g + offsets[t] + q].

    One job = 2 output channels x 4 taps of one group: 8 dot products over the whole batch,
    their 8 accumulators carried across the samples (6 loads per 8 FMAs per sample; 4 x 4
    blocks need 16 vector accumulators and spill, 1.5-3x slower). ``P`` is a multiple of the vector
    width, the gradient rows zero beyond their pixels, so the pixel loop has no remainder.
    """
    T = offsets.shape[0]
    out = np.empty((O, T), planes.dtype)
    for job in prange(groups * ((O // groups + 1) // 2) * ((T + 3) // 4)):
        _conv_weight_grad_job(grad_planes, planes, offsets, groups, group_stride, P, out,
                              np.int64(job))
    return out


@njit(fastmath=True, cache=True)
def _conv_weight_grad_job(grad_planes, planes, offsets, groups, group_stride, P, out, job):
    """Job ``job`` of `_conv_weight_grad_kernel`: its 8 sums, written into ``out`` (O, T).

    Two samples per pass over the pixels: LLVM reduces the vector partial sums of the
    eight accumulators to scalars after every pass, and on LeNet's short rows (144 pixels)
    that reduction cost as much as the products (its second conv: 300 -> 200 us)."""
    N = planes.shape[0]
    T = offsets.shape[0]
    per_group = out.shape[0] // groups
    zero = np.zeros(1, planes.dtype)[0]  # (x * 0 would be float64 and halve the speed)
    channel_blocks = (per_group + 1) // 2
    tap_blocks = (T + 3) // 4
    g = job // (channel_blocks * tap_blocks)
    o0 = g * per_group + (job // tap_blocks) % channel_blocks * 2
    t0 = job % tap_blocks * 4
    # clamp a short block onto the group's last channel / tap; its sums are dropped
    oa, ob = o0, min(o0 + 1, (g + 1) * per_group - 1)
    base = g * group_stride
    sa, sb = base + offsets[t0], base + offsets[min(t0 + 1, T - 1)]
    sc, sd = base + offsets[min(t0 + 2, T - 1)], base + offsets[min(t0 + 3, T - 1)]
    no_grad = np.zeros(P * (N % 2), planes.dtype)  # an odd batch's missing second sample
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
    for n in range(0, N, 2):
        m = min(n + 1, N - 1)
        xn, xm = planes[n], planes[m]
        xa, xb, xc, xd = xn[sa:sa + P], xn[sb:sb + P], xn[sc:sc + P], xn[sd:sd + P]
        ya, yb, yc, yd = xm[sa:sa + P], xm[sb:sb + P], xm[sc:sc + P], xm[sd:sd + P]
        ga, gb = grad_planes[n, oa], grad_planes[n, ob]
        ha = no_grad if m == n else grad_planes[m, oa]
        hb = no_grad if m == n else grad_planes[m, ob]
        for q in range(P):
            u, w = ga[q], ha[q]
            s00 += u * xa[q] + w * ya[q]
            s01 += u * xb[q] + w * yb[q]
            s02 += u * xc[q] + w * yc[q]
            s03 += u * xd[q] + w * yd[q]
            u, w = gb[q], hb[q]
            s10 += u * xa[q] + w * ya[q]
            s11 += u * xb[q] + w * yb[q]
            s12 += u * xc[q] + w * yc[q]
            s13 += u * xd[q] + w * yd[q]
    sums = ((s00, s01, s02, s03), (s10, s11, s12, s13))
    for j in range(min(2, (g + 1) * per_group - o0)):
        for k in range(min(4, T - t0)):
            out[o0 + j, t0 + k] = sums[j][k]


def conv2d_backward_weight(grad_out: np.ndarray, x: np.ndarray, weight_shape, stride: Pair,
                           padding: Padding, dilation: Pair, groups: int,
                           layout: Planes | np.ndarray | None = None) -> np.ndarray:
    """dL/dw (O, C // groups, KH, KW) from dL/dout (N, O, OH, OW) and the input x (N, C, H, W).

    ``layout``: what ``conv2d_input_layout`` gave for x (built here when None).
    """
    geometry = conv2d_geometry(x.shape, weight_shape, stride, padding, dilation, groups)
    if conv_gemm.uses_gemm(geometry):
        return conv_gemm.backward_weight(grad_out, x, geometry, _columns(layout))
    run = _as_run(geometry)
    if run is not geometry:  # the stride-1 output gradient: zero between the strided pixels
        full = np.zeros(run.output_shape, grad_out.dtype)
        full[:, :, ::stride[0], ::stride[1]] = grad_out
        grad_out = full
    planes = layout if isinstance(layout, Planes) else input_planes(x, run)
    # whole vectors: the planes' margin covers the overrun, the gradient rows are zero there
    length = -(-run.out_height * planes.Wq // VECTOR) * VECTOR
    grad_w = _conv_weight_grad_kernel(output_grad_rows(grad_out, planes.Wq, length),
                                      planes.data, planes.offsets, groups, planes.group_stride,
                                      run.out_channels, length)
    return grad_w.reshape(run.weight_shape)


@threaded(fastmath=True)
def _bias_grad_kernel(grad_planes):
    N, O = grad_planes.shape[0], grad_planes.shape[1]
    out = np.zeros(O, grad_planes.dtype)
    for o in prange(O):
        total = 0.0  # float64 across rows
        for n in range(N):
            # one contiguous row in the input's precision: fastmath lets LLVM split the sum
            # over vector lanes (a row is a few hundred values, not millions)
            row = grad_planes[n, o]
            partial = row[0] * 0
            for i in range(row.size):
                partial += row[i]
            total += partial
        out[o] = total
    return out


def conv2d_backward_bias(grad_out: np.ndarray) -> np.ndarray:
    """dL/dbias (O,) = dL/dout (N, O, OH, OW) summed over batch and pixels."""
    N, O, OH, OW = grad_out.shape
    return _bias_grad_kernel(grad_out.reshape(N, O, OH * OW))  # -1 is ambiguous when N == 0
