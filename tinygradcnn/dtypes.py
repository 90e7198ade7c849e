"""The dtypes: which ones a tensor may have, how data gets PyTorch's default dtype, and
PyTorch's other names for them (``tg.float`` is float32, ``tg.long`` int64, ...).

dtypes are NumPy's. float16 is left out: the kernels compute in float32/float64. The
aliases come last because they are Python builtins' names (``float``, ``int``, ``bool``):
from there on, in this module, they mean dtypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

float32, float64, int64, int32, bool_ = np.float32, np.float64, np.int64, np.int32, np.bool_
uint8 = np.uint8
_DTYPES = {np.dtype(t) for t in (float32, float64, int64, int32, bool_, uint8)}


def _to_dtype(dtype: Any) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"tensor: unknown dtype {dtype!r}") from error
    if dtype not in _DTYPES:
        raise TypeError(f"tensor: dtype {dtype} is not supported; use float32, float64 or int64")
    return dtype


def _host_array(data: Any, dtype: Any) -> np.ndarray:
    """NumPy array for list/scalar/array ``data``, with PyTorch's default dtypes."""
    if isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if dtype is None and array.dtype.kind == "f":
            array = array.astype(float32)
    if dtype is None:
        if array.dtype.kind == "f" and array.dtype.itemsize < 4:
            dtype = float32
        elif array.dtype.kind in "iu" and array.dtype != np.uint8:
            dtype = int64
        elif array.dtype.kind not in "fiub":
            raise TypeError(f"tensor: cannot make a tensor from data of dtype {array.dtype}")
    if dtype is not None:
        array = array.astype(_to_dtype(dtype), copy=False)
    return np.asarray(array, order="C")


float = float32  # noqa: A001 - PyTorch's names
double = float64
long = int64
int = int32  # noqa: A001
bool = bool_  # noqa: A001
