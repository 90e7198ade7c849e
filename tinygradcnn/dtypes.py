"""PyTorch's other names for the dtypes: ``tg.float`` is float32, ``tg.long`` int64, ...

A module of their own because the names are Python builtins: here, and only here, ``float``
and ``int`` mean dtypes. float16 is left out: the kernels compute in float32/float64.
"""

from .tensor import bool_, float32, float64, int32, int64

float = float32  # noqa: A001 - PyTorch's names
double = float64
long = int64
int = int32  # noqa: A001
bool = bool_  # noqa: A001
