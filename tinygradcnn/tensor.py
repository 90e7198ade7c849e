"""The ``Tensor``: an array on a device, whether it needs a gradient, and how it was made.

The storage is one C-contiguous array: a NumPy array on ``"cpu"``, a numba device array on
``"cuda"``. The device is read off the storage, so replacing ``tensor.data`` moves it.

Every storage has a version counter (``_Version``) that each in-place method bumps; tensors
that share a storage (``detach()``, a reshape, a ``Parameter`` made from a tensor) share the
counter, and ``backward`` compares it with what ``Function.apply`` noted (``autograd.py``).

The package's one import cycle is here: the methods declared on ``Tensor`` (``x.sum()``,
``x + y``, ``x.reshape(...)``) delegate to the ops in ``ops/``, and the ops build Tensors.
So the op modules are imported at the end of this file, once ``Tensor`` exists, and each
op module imports ``Tensor`` from here at its top.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from . import autograd
from .backend import device as _Device
from .backend import kernels_for, normalize_device
from .dtypes import _host_array, _to_dtype
from .dtypes import bool_ as bool_
from .dtypes import float32 as float32
from .dtypes import float64 as float64
from .dtypes import int32 as int32
from .dtypes import int64 as int64
from .dtypes import uint8 as uint8
from .graph_node import Node
from .hooks import RemovableHandle
from .tensor_inplace import InPlaceMethods
from .tensor_layout import LayoutMethods
from .tensor_math import MathMethods

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

# what ``Tensor.device`` returns: one object per device, not a new one per call
_CPU, _CUDA = _Device("cpu"), _Device("cuda")

# what the arithmetic methods take besides a Tensor (int and bool pass as float)
Operand: TypeAlias = "Tensor | float | np.ndarray"


class _Version:
    """How many times a storage was written in place; shared by the tensors viewing it.

    A tensor makes its counter only when it is first written in place or shares its storage
    (``None`` until then reads as version 0), so an op's output costs nothing extra.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Tensor(MathMethods, LayoutMethods, InPlaceMethods):
    """An n-dimensional array with optional gradient tracking.

    ``Tensor(data, requires_grad=False, dtype=None, device="cpu")`` copies ``data`` (a list,
    a number, a NumPy array, another Tensor, or a GPU array exposing
    ``__cuda_array_interface__``) to ``device`` (``None``: the default, ``"cpu"``).

    The op methods (``x + y``, ``x.sum()``, ``x.reshape(...)``) are declared in the mixins
    ``tensor_math.MathMethods`` and ``tensor_layout.LayoutMethods``; this class holds the
    storage, the device, the gradient, the graph edge and the in-place writes.
    """

    __array_priority__ = 1000  # so ``ndarray * Tensor`` calls Tensor.__rmul__
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 device: str | None = "cpu"):
        device = normalize_device("cpu" if device is None else device, "tensor")
        if isinstance(data, Tensor):
            data = data.numpy()
        if hasattr(data, "__cuda_array_interface__") and not isinstance(data, np.ndarray):
            array = kernels_for("cuda").from_cuda_array(data)
            if dtype is not None:
                array = kernels_for("cuda").astype(array, _to_dtype(dtype))
            if device == "cpu":
                array = kernels_for("cuda").to_numpy(array)
        else:
            host = _host_array(data, dtype)
            if device == "cpu" and isinstance(data, np.ndarray) and np.may_share_memory(
                host, data
            ):
                host = host.copy()  # a new tensor owns its storage (tg.from_numpy shares)
            array = kernels_for(device).from_numpy(host)
        self._init(array, requires_grad)

    def _init(self, array: Any, requires_grad: bool, version: _Version | None = None) -> None:
        self.data = array
        self.grad: Tensor | None = None
        self._ctx: autograd.Context | None = None
        self._retains_grad = False
        self._version_counter = version
        self.requires_grad = requires_grad
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"tensor: only floating-point tensors can require grad, got {self.data.dtype}"
            )

    @staticmethod
    def _make(array: Any, requires_grad: bool = False, version: _Version | None = None) -> Tensor:
        """Wrap a device array without copying (the ops' output path); ``version`` is the
        counter of the storage ``array`` views, if it is not a new one."""
        tensor = Tensor.__new__(Tensor)
        tensor._init(array, requires_grad, version)
        return tensor

    # -- what it is --------------------------------------------------------------------
    @property
    def device(self) -> _Device:
        """Where the storage is: ``tg.device("cpu")`` or ``tg.device("cuda")`` (equal to the
        strings "cpu" and "cuda")."""
        return _CPU if isinstance(self.data, np.ndarray) else _CUDA

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
    def grad_fn(self) -> type[autograd.Function] | None:
        """The Function class that made this tensor (None for leaves)."""
        return None if self._ctx is None else self._ctx.function

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (PyTorch's ``_version``)."""
        counter = self._version_counter
        return 0 if counter is None else counter.value

    def _shared_version(self) -> _Version:
        """This storage's counter, made now if needed, for a tensor that will share it."""
        if self._version_counter is None:
            self._version_counter = _Version()
        return self._version_counter

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """All dims reversed: (A, B, C) -> (C, B, A)."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def kernels(self) -> ModuleType:
        """The kernel namespace of this tensor's device."""
        return kernels_for(self.device)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or its size along ``dim`` (negative counts from the end)."""
        if dim is None:
            return self.shape
        return self.shape[_checks.dim("size", dim, self.ndim, scalar_ok=False)]

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
        autograd.note_read(self, "numpy()")
        return self.kernels.to_numpy(self.data)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item: tensor has {self.numel()} elements, expected 1")
        autograd.note_read(self, "item()")
        return self.kernels.to_numpy(self.data).reshape(()).item()

    def tolist(self) -> Any:
        autograd.note_read(self, "tolist()")
        return self.kernels.to_numpy(self.data).tolist()

    def detach(self) -> Tensor:
        """The same storage (and version counter), cut from the graph."""
        return Tensor._make(self.data, False, self._shared_version())

    def to(self, target: Any = None, dtype: Any = None) -> Tensor:
        """A copy on another device and/or with another dtype: ``to("cuda")``, ``to(float64)``;
        ``self`` if nothing changes (``target=None`` keeps the device, as in PyTorch)."""
        result = self
        if isinstance(target, str):
            result = _shape.to_device(result, normalize_device(target, "Tensor.to"))
        elif target is not None:
            dtype = target
        if dtype is not None and np.dtype(dtype) != result.dtype:
            result = _shape.cast(result, _to_dtype(dtype))
        return result

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    # -- gradients ---------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``gradient``: d(loss)/d(self), a Tensor or array of this shape (omit it for a
        one-element tensor).
        """
        if gradient is None:
            grad = None
        elif isinstance(gradient, Tensor):
            if gradient.device != self.device:
                raise ValueError(f"backward: gradient is on {str(gradient.device)!r}, the tensor "
                                 f"on {str(self.device)!r}")
            grad = gradient.data
        else:
            grad = self.kernels.from_numpy(np.asarray(gradient, dtype=self.dtype))
        autograd.backward(self, grad, retain_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True
        self._hold_in_graph()

    def _graph_node(self) -> Tensor | Node:
        """This tensor as the autograd record holds it: itself for a leaf, else its `Node`
        (one per tensor, made on first use; a tensor's producer never changes)."""
        ctx = self._ctx
        if ctx is None:
            return self
        node = self.__dict__.get("_node")
        if node is None:
            node = self.__dict__["_node"] = Node(self, ctx)
        return node

    def _hold_in_graph(self) -> None:
        """Let the graph keep this tensor alive: it has hooks or a gradient to receive."""
        node = self._graph_node()
        if isinstance(node, Node):
            node.held = self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient in every backward; a returned
        Tensor of the same shape replaces it (in ``.grad`` and upstream). A leaf's hook gets
        the gradient summed over all its uses. ``handle.remove()`` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        hooks = self.__dict__.setdefault("_backward_hooks", {})
        self._hold_in_graph()
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating-point tensors, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def _accumulate_grad(self, grad: Any) -> None:
        """Add ``grad`` into ``.grad``; the engine hands over an array this tensor may own."""
        if self.grad is None:
            self.grad = Tensor._make(grad)
        else:
            self.grad.data = self.kernels.binary("add", self.grad.data, grad)

    def contiguous(self) -> Tensor:
        """``self``: storage is always C-contiguous."""
        return self

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
        autograd.note_read(self, "bool() (an `if` or `while` on a tensor)")
        return bool(self.item())

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           device: str | None = "cpu") -> Tensor:
    """A new tensor holding a copy of ``data``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is a Tensor (a Parameter is one)."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """How many elements ``input`` has: the product of its shape."""
    return input.numel()


# The other half of the import cycle (see the module docstring): these modules import Tensor
# from this file, so they load only now that it is defined; the mixins reach them as
# attributes of the ``ops`` package.
from .ops import _checks  # noqa: E402
from .ops import activation as _activation  # noqa: E402, F401
from .ops import matmul as _matmul  # noqa: E402, F401
from .ops import rearrange as _rearrange  # noqa: E402, F401
from .ops import reduce as _reduce  # noqa: E402, F401
from .ops import scan as _scan  # noqa: E402, F401
from .ops import shape as _shape  # noqa: E402
from .ops import sort as _sort  # noqa: E402, F401
