"""Hypothesis strategies shared by the tests: small shapes, broadcastable pairs, safe values."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

small_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)


def arrays(shape, low: float = -2.0, high: float = 2.0, away_from: float | None = None):
    """float64 arrays of ``shape`` with values in [low, high], optionally kept 0.1 away
    from ``away_from`` (a kink such as 0 for relu/abs)."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if away_from is not None:
        elements = elements.filter(lambda v: abs(v - away_from) > 0.1)
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def broadcastable_pair(draw, low: float = -2.0, high: float = 2.0, away_from=None):
    """Two arrays whose shapes broadcast together, such as (3, 1, 4) and (2, 1)."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
    a = draw(arrays(shapes.input_shapes[0], low, high, away_from))
    b = draw(arrays(shapes.input_shapes[1], low, high, away_from))
    return a, b


# ---------------------------------------------------------------------------------------------
# Sliding windows at the edges: the cases where an index computed from the window's geometry
# is most likely to fall outside the array (run under NUMBA_BOUNDSCHECK=1 in CI).
# ---------------------------------------------------------------------------------------------

batch_sizes = st.sampled_from([0, 1, 1, 2])  # N = 0: PyTorch accepts an empty batch


@st.composite
def pool_axis(draw, dilation: bool = True, max_size: int = 7):
    """One axis of a 2-d pool PyTorch accepts: (size, kernel, stride, padding, dilation).

    Reaches size-1 axes, strides larger than the kernel, and ``padding <= kernel // 2`` (the
    most PyTorch allows); a third of the draws put the whole window in the padding (kernel 2,
    padding 1, dilation size + 1: the taps at -1 and size step over the input), which is the
    only way a pooling window holds no input element and, for kernels above 1, the only way
    dilation exceeds the input (checked by enumeration up to size 8, kernel 6).
    """
    if dilation and draw(st.integers(0, 2)) == 0:
        size = draw(st.integers(1, max_size))
        return size, 2, draw(st.integers(1, 4)), 1, size + 1
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, kernel + 2))
    pad = draw(st.integers(0, kernel // 2))
    dil = draw(st.integers(1, 3)) if dilation else 1
    # smallest size whose padded length holds the dilated window
    smallest = max(1, dil * (kernel - 1) + 1 - 2 * pad)
    size = draw(st.integers(smallest, max(smallest, max_size)))
    return size, kernel, stride, pad, dil


@st.composite
def pool_cases(draw, dilation: bool = True, max_size: int = 7, channels: int = 2):
    """An input shape (N, C, H, W) and 2-d pool parameters (kernel_size, stride, padding,
    ceil_mode and, with ``dilation``, dilation) that PyTorch accepts, edges included: N = 0,
    size-1 axes, windows wholly in the padding, ceil mode, strides beyond the kernel."""
    rows = draw(pool_axis(dilation, max_size))
    cols = draw(pool_axis(dilation, max_size))
    shape = (draw(batch_sizes), channels, rows[0], cols[0])
    params = dict(kernel_size=(rows[1], cols[1]), stride=(rows[2], cols[2]),
                  padding=(rows[3], cols[3]), ceil_mode=draw(st.booleans()))
    if dilation:
        params["dilation"] = (rows[4], cols[4])
    return shape, params


@st.composite
def conv2d_cases(draw, max_size: int = 5):
    """Shapes of a conv2d PyTorch accepts, input (N, C, H, W), weight (O, C / groups, KH, KW),
    and its parameters, edges included: N = 0, size-1 axes, dilation larger than the input
    (so whole windows lie in the zero padding), strides larger than the kernel."""
    groups = draw(st.sampled_from([1, 1, 2]))
    in_per_group, out_per_group = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    shape, kernel, stride, padding, dilation = [], [], [], [], []
    for _axis in range(2):
        k, d = draw(st.integers(1, 3)), draw(st.integers(1, 4))
        p, s = draw(st.integers(0, 3)), draw(st.integers(1, k + 2))
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        shape.append(draw(st.integers(smallest, max(smallest, max_size))))
        kernel.append(k), stride.append(s), padding.append(p), dilation.append(d)
    x_shape = (draw(batch_sizes), in_per_group * groups, *shape)
    w_shape = (out_per_group * groups, in_per_group, *kernel)
    params = dict(stride=tuple(stride), padding=tuple(padding), dilation=tuple(dilation),
                  groups=groups)
    return x_shape, w_shape, params
