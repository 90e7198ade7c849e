"""Broadcasting layout shared by the CPU and GPU elementwise kernels (plain Python, no arrays).

NumPy broadcasting of any rank is reduced to a fixed rank of ``MAX_DIMS``: size-1 output
dimensions are dropped and neighbouring dimensions that every operand walks through
contiguously are merged. ``(64, 6, 28, 28) + (1, 6, 1, 1)`` becomes ``(64, 6, 784)`` with
strides ``(4704, 784, 1)`` and ``(0, 1, 0)``, then padded to ``MAX_DIMS`` with leading ones.
The kernels then need one loop nest instead of one per rank.
"""

MAX_DIMS = 6


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The NumPy broadcast of ``shapes``, or None if they do not broadcast."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(-ndim, 0):
        sizes = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def layout(out_shape: tuple[int, ...], *in_shapes: tuple[int, ...]):
    """Merged ``(shape, [strides per input])`` of length ``MAX_DIMS`` for a broadcast.

    Strides are in elements of each contiguous input; a broadcast dimension has stride 0.
    """
    ndim = len(out_shape)
    all_strides = []
    for in_shape in in_shapes:
        padded = (1,) * (ndim - len(in_shape)) + tuple(in_shape)
        in_strides, step = [0] * ndim, 1
        for axis in range(ndim - 1, -1, -1):
            in_strides[axis] = step if padded[axis] != 1 else 0
            step *= padded[axis]
        all_strides.append(in_strides)
    dims = [d for d in range(ndim) if out_shape[d] != 1]
    shape = [out_shape[d] for d in dims]
    strides = [[s[d] for d in dims] for s in all_strides]
    axis = len(shape) - 2
    while axis >= 0:
        if all(s[axis] == s[axis + 1] * shape[axis + 1] for s in strides):
            shape[axis] *= shape.pop(axis + 1)
            for s in strides:
                s.pop(axis)
        axis -= 1
    if len(shape) > MAX_DIMS:
        raise ValueError(
            f"broadcast: shapes {list(in_shapes)} need {len(shape)} dimensions after merging, "
            f"more than the {MAX_DIMS} the kernels support"
        )
    pad = MAX_DIMS - len(shape)
    return (1,) * pad + tuple(shape), [(0,) * pad + tuple(s) for s in strides]
