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
