"""The ``Tensor``: an array on a device, whether it needs a gradient, and how it was made.

The storage is one C-contiguous array: a NumPy array on ``"cpu"``, a numba device array on
``"cuda"``. The device is read off the storage, so replacing ``tensor.data`` moves it.
"""

from __future__ import annotations

import numpy as np

from . import autograd
from .backend import kernels_for, normalize_device

float32, float64, int64, int32, bool_ = np.float32, np.float64, np.int64, np.int32, np.bool_
_DTYPES = {np.dtype(t) for t in (float32, float64, int64, int32, bool_, np.uint8)}


def _to_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"tensor: unknown dtype {dtype!r}") from error
    if dtype not in _DTYPES:
        raise TypeError(f"tensor: dtype {dtype} is not supported; use float32, float64 or int64")
    return dtype


def _host_array(data, dtype) -> np.ndarray:
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


class Tensor:
    """An n-dimensional array with optional gradient tracking.

    ``Tensor(data, requires_grad=False, dtype=None, device="cpu")`` copies ``data`` (a list,
    a number, a NumPy array, another Tensor, or a GPU array exposing
    ``__cuda_array_interface__``) to ``device``.
    """

    __array_priority__ = 1000  # so ``ndarray * Tensor`` calls Tensor.__rmul__
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad: bool = False, dtype=None, device="cpu"):
        device = normalize_device(device)
        if isinstance(data, Tensor):
            data = data.numpy()
        if hasattr(data, "__cuda_array_interface__") and not isinstance(data, np.ndarray):
            array = kernels_for("cuda").from_cuda_array(data)
            if dtype is not None:
                array = kernels_for("cuda").astype(array, _to_dtype(dtype))
            if device == "cpu":
                array = kernels_for("cuda").to_numpy(array)
        else:
            array = kernels_for(device).from_numpy(_host_array(data, dtype))
        self._init(array, requires_grad)

    def _init(self, array, requires_grad: bool) -> None:
        self.data = array
        self.grad: Tensor | None = None
        self._ctx = None
        self._retains_grad = False
        self.requires_grad = requires_grad
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"tensor: only floating-point tensors can require grad, got {self.data.dtype}"
            )

    @classmethod
    def _make(cls, array, requires_grad: bool = False) -> Tensor:
        """Wrap a device array without copying (the ops' output path)."""
        tensor = cls.__new__(cls)
        Tensor._init(tensor, array, requires_grad)
        return tensor

    # -- what it is --------------------------------------------------------------------
    @property
    def device(self) -> str:
        return "cpu" if isinstance(self.data, np.ndarray) else "cuda"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return len(self.data.shape)

    @property
    def __cuda_array_interface__(self) -> dict:
        """The GPU memory of a ``"cuda"`` tensor, for zero-copy exchange with CuPy, PyTorch..."""
        if self.device != "cuda":
            raise AttributeError("__cuda_array_interface__: only tensors on 'cuda' have one")
        return self.kernels.cuda_array_interface(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function class that made this tensor (None for leaves)."""
        return None if self._ctx is None else self._ctx.function

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        return self.permute(*reversed(range(self.ndim)))

    @property
    def kernels(self):
        """The kernel namespace of this tensor's device."""
        return kernels_for(self.device)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # -- leaving the graph and the device ----------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory on the CPU; copies from the GPU)."""
        return self.kernels.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item: tensor has {self.numel()} elements, expected 1")
        return self.kernels.to_numpy(self.data).reshape(()).item()

    def tolist(self):
        return self.kernels.to_numpy(self.data).tolist()

    def detach(self) -> Tensor:
        """The same storage, cut from the graph."""
        return Tensor._make(self.data)

    def to(self, target, dtype=None) -> Tensor:
        """A copy on another device and/or with another dtype: ``to("cuda")``, ``to(float64)``."""
        from .ops.shape import cast, to_device

        result = self
        if isinstance(target, str):
            result = to_device(result, normalize_device(target))
        elif target is not None:
            dtype = target
        if dtype is not None and np.dtype(dtype) != result.dtype:
            result = cast(result, _to_dtype(dtype))
        return result

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return self.to(int64)

    # -- gradients ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad."""
        autograd.backward(self, gradient, retain_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating-point tensors, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def _accumulate_grad(self, grad) -> None:
        if self.grad is None:
            self.grad = Tensor._make(grad if grad is not self.data else self.kernels.copy(grad))
        else:
            self.grad.data = self.kernels.binary("add", self.grad.data, grad)

    # -- in place (no graph: for optimizers, initialisation and buffers) ---------------
    def _check_inplace(self, name: str) -> None:
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad is used in an in-place operation; "
                f"wrap it in tg.no_grad()"
            )

    def zero_(self) -> Tensor:
        return self.fill_(0.0)

    def fill_(self, value) -> Tensor:
        self._check_inplace("fill_")
        self.kernels.copy_into(self.data, self.kernels.full(self.shape, value, self.dtype))
        return self

    def copy_(self, source) -> Tensor:
        """In place: take ``source``'s values (broadcast to this shape, cast to this dtype)."""
        self._check_inplace("copy_")
        source = source if isinstance(source, Tensor) else Tensor(source, device=self.device)
        array = self.kernels.astype(source.data, self.dtype)
        if tuple(array.shape) != self.shape:
            array = self.kernels.expand(array, self.shape)
        self.kernels.copy_into(self.data, array)
        return self

    def _inplace_binary(self, op: str, other, name: str) -> Tensor:
        self._check_inplace(name)
        other = (other.data if isinstance(other, Tensor)
                 else self.kernels.full((), other, self.dtype))
        self.kernels.binary(op, self.data, other, out=self.data)
        return self

    def add_(self, other) -> Tensor:
        return self._inplace_binary("add", other, "add_")

    def sub_(self, other) -> Tensor:
        return self._inplace_binary("sub", other, "sub_")

    def mul_(self, other) -> Tensor:
        return self._inplace_binary("mul", other, "mul_")

    def div_(self, other) -> Tensor:
        return self._inplace_binary("div", other, "div_")

    def __setitem__(self, key, value) -> None:
        from .ops.shape import normalize_index

        self._check_inplace("__setitem__")
        value = (value.data if isinstance(value, Tensor)
                 else self.kernels.full((), value, self.dtype))
        self.kernels.setitem(self.data, normalize_index(key, self.shape, self.device), value)

    # -- printing ----------------------------------------------------------------------
    def __repr__(self) -> str:
        values = np.array2string(
            self.kernels.to_numpy(self.data), separator=", ", prefix="tensor(", precision=4
        )
        extras = []
        if self.dtype not in (np.dtype(float32), np.dtype(int64), np.dtype(bool_)):
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.function.__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([values, *extras]) + ")"

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())


def _install_methods() -> None:
    """Attach the ops as Tensor methods and operators (they live in ``ops/``)."""
    from .ops import activation as act
    from .ops import elementwise as ew
    from .ops import matmul as mm
    from .ops import reduce as rd
    from .ops import shape as sh

    methods = {
        "__add__": ew.add, "__radd__": lambda a, b: ew.add(b, a),
        "__sub__": ew.sub, "__rsub__": lambda a, b: ew.sub(b, a),
        "__mul__": ew.mul, "__rmul__": lambda a, b: ew.mul(b, a),
        "__truediv__": ew.div, "__rtruediv__": lambda a, b: ew.div(b, a),
        "__pow__": ew.pow, "__rpow__": lambda a, b: ew.pow(b, a),
        "__matmul__": mm.matmul, "__rmatmul__": lambda a, b: mm.matmul(b, a),
        "__neg__": ew.neg, "__abs__": ew.abs,
        "__eq__": ew.eq, "__ne__": ew.ne, "__lt__": ew.lt, "__le__": ew.le,
        "__gt__": ew.gt, "__ge__": ew.ge,
        "__getitem__": sh.getitem,
        "add": ew.add, "sub": ew.sub, "mul": ew.mul, "div": ew.div, "pow": ew.pow,
        "neg": ew.neg, "exp": ew.exp, "log": ew.log, "sqrt": ew.sqrt, "abs": ew.abs,
        "sign": ew.sign, "maximum": ew.maximum, "minimum": ew.minimum, "clamp": ew.clamp,
        "relu": act.relu, "sigmoid": act.sigmoid, "tanh": act.tanh,
        "eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt, "ge": ew.ge,
        "matmul": mm.matmul,
        "sum": rd.sum, "mean": rd.mean, "max": rd.max, "min": rd.min, "amax": rd.amax,
        "amin": rd.amin, "var": rd.var, "std": rd.std, "argmax": rd.argmax, "argmin": rd.argmin,
        "reshape": sh.reshape, "view": sh.reshape, "flatten": sh.flatten,
        "transpose": sh.transpose, "permute": sh.permute, "squeeze": sh.squeeze,
        "unsqueeze": sh.unsqueeze, "expand": sh.expand, "contiguous": lambda t: t,
    }
    for name, function in methods.items():
        setattr(Tensor, name, function)


def tensor(data, requires_grad: bool = False, dtype=None, device="cpu") -> Tensor:
    """A new tensor holding a copy of ``data``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)
