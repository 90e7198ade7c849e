"""Argument checks shared by every op and layer: one place, one exception type per mistake.

The policy follows PyTorch, with one simplification:

- ``TypeError``: the wrong *kind* of value: not a Tensor, the wrong dtype (an int64 tensor
  where float32/float64 is needed, a float64 weight for a float32 input), a float or a bool
  where an int is needed. ``kernel_size=2.5`` is refused, never truncated to 2; NumPy
  integers count as ints.
- ``IndexError``: a dimension index out of range, everywhere (``sum``, ``softmax``, ``cat``,
  ``flatten``, ...): ``sum: dim 3 out of range for a tensor with 2 dimensions (expected
  -2..1)``.
- ``ValueError``: the right kind of value but a wrong one: a shape that does not fit, a size
  below its minimum, a tuple of the wrong length, an unknown mode string. PyTorch raises
  ``RuntimeError`` for many shape mismatches; here they are all ``ValueError``, so one
  ``except ValueError`` catches every ill-fitting argument.

Every message starts with the op (or layer) name, names the argument and shows the
offending value, shape or dtype: ``conv2d: input has 3 channels, weight expects 1
(groups=1)``. The helpers return the checked value in canonical form (a non-negative dim, a
tuple of Python ints), so a caller validates and normalises in one line.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Iterable

import numpy as np

from ..kernels.broadcast import broadcast_shapes
from ..tensor import Tensor


def _kind(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def is_int(value) -> bool:
    """True for Python and NumPy integers (and integer 0-d tensors); False for bools."""
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        operator.index(value)
    except (TypeError, ValueError):
        return False
    return True


def as_int(op: str, name: str, value, minimum: int | None = None) -> int:
    """``value`` as a Python int (>= ``minimum`` if given); floats and bools are refused."""
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {_kind(value)}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return value


def int_tuple(op: str, name: str, value, n: int, minimum: int | None = None) -> tuple[int, ...]:
    """An int (repeated ``n`` times) or a sequence of ``n`` ints, as a tuple of Python ints.

    ``int_tuple("conv2d", "stride", 2, 2, minimum=1) == (2, 2)``; ``(2, 1.5)`` is a
    TypeError, ``(1, 2, 3)`` a ValueError (wrong length), ``0`` a ValueError (below 1).
    """
    what = {1: "an int", 2: "an int or a pair of ints"}.get(n, f"an int or a tuple of {n} ints")
    if is_int(value):
        values = (value,) * n
    elif isinstance(value, (tuple, list)):
        values = tuple(value)
        if not all(is_int(v) for v in values):
            raise TypeError(f"{op}: {name} must be {what}, got {value!r}")
        if len(values) != n:
            raise ValueError(f"{op}: {name} must be {what}, got {len(values)} values {value!r}")
    else:
        raise TypeError(f"{op}: {name} must be {what}, got {_kind(value)}")
    values = tuple(operator.index(v) for v in values)
    if minimum is not None and min(values) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return values


def int_sequence(op: str, name: str, values: Iterable) -> tuple[int, ...]:
    """A sequence of ints of any length (a shape, a permutation, pad widths)."""
    values = tuple(values)
    bad = [v for v in values if not is_int(v)]
    if bad:
        raise TypeError(f"{op}: {name} must be ints, got {bad[0]!r} in {values!r}")
    return tuple(operator.index(v) for v in values)


def real(op: str, name: str, value, low: float | None = None, high: float | None = None) -> float:
    """A real number (int or float, not bool) as a float, optionally within ``[low, high]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{op}: {name} must be a number, got {_kind(value)}")
    value = float(value)
    if (low is not None and not value >= low) or (high is not None and not value <= high):
        bounds = f"in [{low}, {high}]" if low is not None and high is not None else \
            f">= {low}" if low is not None else f"<= {high}"
        raise ValueError(f"{op}: {name} must be {bounds}, got {value}")
    return value


def one_of(op: str, name: str, value, choices: tuple[str, ...], others: str = "") -> None:
    """``value`` is one of the strings ``choices`` (reduction, padding, approximate, ...);
    ``others`` names what else the caller accepts: ``padding must be 'same', 'valid' or ints``."""
    if not isinstance(value, str) or value not in choices:
        options = [repr(c) for c in choices] + ([others] if others else [])
        listed = options[0] if len(options) == 1 else \
            ", ".join(options[:-1]) + " or " + options[-1]
        raise ValueError(f"{op}: {name} must be {listed}, got {value!r}")


def tensor_arg(op: str, name: str, value) -> Tensor:
    """``value`` itself if it is a Tensor; else a TypeError naming op and argument."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    return value


def float_tensor(op: str, name: str, value) -> Tensor:
    """``value`` itself if it is a float32/float64 Tensor; else a TypeError naming op and arg."""
    tensor_arg(op, name, value)
    if value.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be float32 or float64, got {value.dtype}")
    return value


def same_dtype(op: str, name: str, value: Tensor, input: Tensor) -> None:
    """``value`` (weight, bias, ...) has the dtype of ``input``: ``conv2d: input is float32 but
    weight is float64``."""
    if value.dtype != input.dtype:
        raise TypeError(f"{op}: input is {input.dtype} but {name} is {value.dtype}")


def ndim_in(op: str, name: str, value: Tensor, ndims: tuple[int, ...], layouts: str) -> None:
    """``value.ndim`` is one of ``ndims``; ``layouts`` spells them out for the message
    (``"(N, C, H, W) or (C, H, W)"``)."""
    if value.ndim not in ndims:
        raise ValueError(f"{op}: {name} must be {layouts}, got shape {value.shape}")


def shape_is(op: str, name: str, value: Tensor, expected: tuple[int, ...], why: str = "") -> None:
    """``value.shape == expected``: ``conv2d: bias has shape (3,), expected (2,)``."""
    if value.shape != tuple(expected):
        raise ValueError(f"{op}: {name} has shape {value.shape}, expected {tuple(expected)}"
                         + (f" {why}" if why else ""))


def channels_match(op: str, channels: int, weight_channels: int, groups: int) -> None:
    """The input's channels equal the weight's in_channels/groups times groups."""
    if channels != weight_channels * groups:
        raise ValueError(f"{op}: input has {channels} channels, weight expects "
                         f"{weight_channels * groups} (groups={groups})")


def dim(op: str, value, ndim: int, name: str = "dim", scalar_ok: bool = True) -> int:
    """One dimension index in ``[0, ndim)``; negative values count from the end.

    As in PyTorch, a 0-d tensor accepts ``dim`` 0 and -1 (``scalar_ok``); shape ops that
    need a real axis pass ``scalar_ok=False``, and ``unsqueeze`` passes ``ndim + 1``.
    """
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {_kind(value)}")
    value = operator.index(value)
    rank = max(ndim, 1) if scalar_ok else ndim
    if not -rank <= value < rank:
        expected = f"-{rank}..{rank - 1}" if rank else "none: the tensor has no dimensions"
        raise IndexError(f"{op}: {name} {value} out of range for a tensor with {ndim} "
                         f"dimensions (expected {expected})")
    return value % rank


def dims(op: str, value, ndim: int) -> tuple[int, ...]:
    """``dim`` for reductions: None (all), an int or a tuple of ints, as sorted axes.

    A repeated dimension is a ValueError; on a 0-d tensor, dim 0 or -1 reduces nothing.
    """
    if value is None:
        return tuple(range(ndim))
    values = (value,) if is_int(value) else value
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{op}: dim must be None, an int or a tuple of ints, got {_kind(value)}")
    axes = [dim(op, d, ndim) for d in values]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {tuple(values)} repeats a dimension")
    return tuple(sorted(a for a in axes if a < ndim))


def broadcast_shape(op: str, a: Tensor, b: Tensor, names=("input", "target")) -> tuple[int, ...]:
    """The broadcast shape of two tensors; a ValueError naming both shapes if there is none."""
    shape = broadcast_shapes(a.shape, b.shape)
    if shape is None:
        raise ValueError(f"{op}: {names[0]} {a.shape} and {names[1]} {b.shape} do not "
                         f"broadcast")
    return shape


def warn_if_broadcast(op: str, input: Tensor, target: Tensor, stacklevel: int = 3) -> None:
    """PyTorch's warning for an elementwise loss whose target shape differs from the input's
    (``(N, 1)`` against ``(N,)`` broadcasts to ``(N, N)`` and silently averages the wrong
    pairs); the result is still the broadcast one, as in PyTorch. ``stacklevel`` counts from
    this function, so the default points at the caller of the op that calls it."""
    if target.shape != input.shape:
        warnings.warn(
            f"{op}: Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            f"broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=stacklevel,
        )
