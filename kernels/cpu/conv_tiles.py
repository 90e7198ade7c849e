"""The register-blocked inner loops of the direct convolution (``conv.py``): 8 accumulator
rows of a 256-pixel tile updated from 4 taps per pass (``accumulate_8``), or one row from 8
taps (``accumulate_1``). The forward kernel runs them with output channels as the rows and
taps as the taps; the adjoint input gradient with the roles swapped.

They are ``inline="always"``: each is called once per kernel, so inlining costs no extra
compile, and the slices they take stay visible to LLVM's vectoriser in the caller.
"""

from __future__ import annotations

from numba import njit

TILE = 256  # output pixels per accumulator tile: 8 channels x 256 x 4 bytes = 8 KiB of L1


@njit(inline="always", fastmath=True)
def accumulate_8(acc, xn, base, offsets, weights, o0, p0, tp):
    """acc[0:8, :tp] += weights[o0:o0+8, :] . taps, four taps per pass over the tile."""
    T = offsets.shape[0]
    T4 = T - T % 4
    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
    a4, a5, a6, a7 = acc[4], acc[5], acc[6], acc[7]
    for t in range(0, T4, 4):
        s0 = base + offsets[t] + p0
        s1 = base + offsets[t + 1] + p0
        s2 = base + offsets[t + 2] + p0
        s3 = base + offsets[t + 3] + p0
        x0, x1, x2, x3 = xn[s0:s0 + tp], xn[s1:s1 + tp], xn[s2:s2 + tp], xn[s3:s3 + tp]
        w = weights[o0:o0 + 8, t:t + 4]
        w00, w01, w02, w03 = w[0, 0], w[0, 1], w[0, 2], w[0, 3]
        w10, w11, w12, w13 = w[1, 0], w[1, 1], w[1, 2], w[1, 3]
        w20, w21, w22, w23 = w[2, 0], w[2, 1], w[2, 2], w[2, 3]
        w30, w31, w32, w33 = w[3, 0], w[3, 1], w[3, 2], w[3, 3]
        w40, w41, w42, w43 = w[4, 0], w[4, 1], w[4, 2], w[4, 3]
        w50, w51, w52, w53 = w[5, 0], w[5, 1], w[5, 2], w[5, 3]
        w60, w61, w62, w63 = w[6, 0], w[6, 1], w[6, 2], w[6, 3]
        w70, w71, w72, w73 = w[7, 0], w[7, 1], w[7, 2], w[7, 3]
        for i in range(tp):
            v0, v1, v2, v3 = x0[i], x1[i], x2[i], x3[i]
            a0[i] += w00 * v0 + w01 * v1 + w02 * v2 + w03 * v3
            a1[i] += w10 * v0 + w11 * v1 + w12 * v2 + w13 * v3
            a2[i] += w20 * v0 + w21 * v1 + w22 * v2 + w23 * v3
            a3[i] += w30 * v0 + w31 * v1 + w32 * v2 + w33 * v3
            a4[i] += w40 * v0 + w41 * v1 + w42 * v2 + w43 * v3
            a5[i] += w50 * v0 + w51 * v1 + w52 * v2 + w53 * v3
            a6[i] += w60 * v0 + w61 * v1 + w62 * v2 + w63 * v3
            a7[i] += w70 * v0 + w71 * v1 + w72 * v2 + w73 * v3
    for t in range(T4, T):
        s0 = base + offsets[t] + p0
        x0 = xn[s0:s0 + tp]
        w = weights[o0:o0 + 8, t]
        w0, w1, w2, w3, w4, w5, w6, w7 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
        for i in range(tp):
            v0 = x0[i]
            a0[i] += w0 * v0
            a1[i] += w1 * v0
            a2[i] += w2 * v0
            a3[i] += w3 * v0
            a4[i] += w4 * v0
            a5[i] += w5 * v0
            a6[i] += w6 * v0
            a7[i] += w7 * v0


@njit(inline="always", fastmath=True)
def accumulate_1(a0, xn, base, offsets, weights, o, p0, tp):
    """a0[:tp] += weights[o, :] . taps, eight taps per pass (depthwise and leftovers)."""
    T = offsets.shape[0]
    T8 = T - T % 8
    for t in range(0, T8, 8):
        s0 = base + offsets[t] + p0
        s1 = base + offsets[t + 1] + p0
        s2 = base + offsets[t + 2] + p0
        s3 = base + offsets[t + 3] + p0
        s4 = base + offsets[t + 4] + p0
        s5 = base + offsets[t + 5] + p0
        s6 = base + offsets[t + 6] + p0
        s7 = base + offsets[t + 7] + p0
        x0, x1, x2, x3 = xn[s0:s0 + tp], xn[s1:s1 + tp], xn[s2:s2 + tp], xn[s3:s3 + tp]
        x4, x5, x6, x7 = xn[s4:s4 + tp], xn[s5:s5 + tp], xn[s6:s6 + tp], xn[s7:s7 + tp]
        w0, w1, w2, w3 = weights[o, t], weights[o, t + 1], weights[o, t + 2], weights[o, t + 3]
        w4, w5, w6, w7 = weights[o, t + 4], weights[o, t + 5], weights[o, t + 6], weights[o, t + 7]
        for i in range(tp):
            a0[i] += (w0 * x0[i] + w1 * x1[i] + w2 * x2[i] + w3 * x3[i]
                      + w4 * x4[i] + w5 * x5[i] + w6 * x6[i] + w7 * x7[i])
    for t in range(T8, T):
        s0 = base + offsets[t] + p0
        x0 = xn[s0:s0 + tp]
        w0 = weights[o, t]
        for i in range(tp):
            a0[i] += w0 * x0[i]
