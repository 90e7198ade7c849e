"""Reverse-mode automatic differentiation: ``Function``, ``backward``, ``no_grad``.

Every differentiable op is a ``Function`` with a ``forward`` that computes the output from
raw arrays and a ``backward`` that turns the output's gradient into the inputs' gradients.
``Function.apply`` records which function made a tensor and from which inputs; ``backward``
walks that record from the loss back to the leaves, in reverse topological order.

Two guarantees against silently wrong gradients:

- **Version counters.** Every storage counts its in-place writes (``Tensor._version``).
  When the graph is recorded, the ``Context`` notes the version of each input whose array
  ``forward`` saved, and of the output; ``backward`` raises a ``RuntimeError`` if any of
  them changed since (an in-place op overwrote what the gradient needs, or changed a tensor
  the graph goes through without recording it).
- **Gradient ownership.** The array stored in a leaf's ``.grad`` belongs to that leaf alone:
  an array a backward hands to two inputs (``Add`` gives ``grad`` to both) or that another
  tensor may hold is copied before it becomes a ``.grad``; a fresh one is taken as is.

This module imports nothing from ``tensor.py``: it makes output tensors through an input's
``_make``, so the package's one import cycle stays ``tensor.py`` <-> ``ops/``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from .graph_node import Node

if TYPE_CHECKING:
    from .tensor import Tensor

_state = threading.local()

# The ONNX exporter's recorder (``tinygradcnn.onnx.trace``) while it traces a forward pass,
# else None: ``Function.apply`` and the tensor reads below cost one check when it is off.
_tracer: Any = None


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return getattr(_state, "grad_enabled", True)


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    previous = is_grad_enabled()
    _state.grad_enabled = enabled
    try:
        yield
    finally:
        _state.grad_enabled = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager (and decorator) in which ops record no graph: for evaluation."""
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager that turns graph recording back on inside ``no_grad()``."""
    return _grad_mode(True)


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Turn graph recording on or off: as a call (``set_grad_enabled(False)`` stays in force)
    or as a context manager (``with set_grad_enabled(is_train):``, restored on exit)."""

    def __init__(self, mode: bool) -> None:
        self.previous = is_grad_enabled()
        _state.grad_enabled = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        _state.grad_enabled = self.previous


def inference_mode(mode: Any = True) -> Any:
    """``no_grad()`` for inference: a context manager (``with inference_mode():``) and a
    decorator, with or without the call (``@inference_mode()``, ``@inference_mode``);
    ``inference_mode(False)`` records the graph again, as in PyTorch. Here it is exactly
    ``no_grad`` (PyTorch also drops the version counters of tensors made inside; ours cost
    nothing until a tensor is written in place)."""
    if callable(mode):
        return _grad_mode(False)(mode)
    return _grad_mode(not mode)


class Context:
    """What a ``forward`` leaves for its ``backward``: saved arrays and any attributes."""

    # set by Function.apply when it records the graph: the output's version, and
    # (input index, version) for each input whose array forward saved
    output_version = 0
    versions: Sequence[tuple[int, int]] = ()

    def __init__(self, function: type[Function], kernels: ModuleType, parents: tuple,
                 needs_input_grad: tuple[bool, ...]):
        self.function = function
        self.kernels = kernels
        self.parents = parents
        self.needs_input_grad = needs_input_grad
        self.saved_arrays: tuple = ()

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep ``arrays`` (raw arrays or None) for the backward pass."""
        self.saved_arrays = arrays

    # set by `release`: what the backward needed is gone
    released = False

    def release(self) -> None:
        """Drop what the backward needed (saved arrays, the inputs, any attribute), as a
        backward without ``retain_graph`` does. The context stays the output's ``grad_fn``,
        marked released, so that a second backward through it raises, as PyTorch's does,
        instead of treating the output as a leaf and passing no gradient on."""
        function, kernels, op = self.function, self.kernels, self.__dict__.get("op")
        self.__dict__.clear()
        self.function, self.kernels, self.released = function, kernels, True
        if op is not None:
            self.op = op  # for the error's name of it
        self.parents, self.saved_arrays, self.needs_input_grad = (), (), ()


class Function:
    """A differentiable op: subclasses define static ``forward`` and ``backward``.

    ``forward(ctx, *arrays, **params) -> array`` and
    ``backward(ctx, grad) -> array | None | tuple`` (one gradient per positional input).
    A Function whose output is a view of its first input's storage (``Reshape``) sets
    ``output_is_view = True``, so the two tensors share one version counter.
    """

    output_is_view: bool = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **params: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("Function.forward is abstract: subclasses define it")

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError("Function.backward is abstract: subclasses define it")

    @classmethod
    def apply(cls, *inputs: Tensor | None, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record the graph edge if needed."""
        first = None
        for tensor in inputs:
            if tensor is None:
                continue
            if first is None:
                first = tensor
            elif tensor.device != first.device:
                devices = [str(t.device) for t in inputs if t is not None]
                raise ValueError(
                    f"{cls.__name__.lower()}: all inputs must be on one device, got {devices}"
                )
        if first is None:
            raise ValueError(f"{cls.__name__.lower()}: needs at least one tensor input")
        needs = tuple(t is not None and t.requires_grad for t in inputs)
        record = any(needs) and is_grad_enabled()
        # the graph keeps leaves, and of the other inputs only what the backward needs
        parents = tuple([t if t is None or t._ctx is None else t._graph_node()
                         for t in inputs]) if record else ()
        ctx = Context(cls, first.kernels, parents, needs)
        arrays = [None if t is None else t.data for t in inputs]
        out_array = cls.forward(ctx, *arrays, **params)
        version = None
        if cls.output_is_view:
            version = first._shared_version()
        else:  # a forward that hands back an input's own array
            for tensor, array in zip(inputs, arrays, strict=True):
                if array is out_array:
                    version = tensor._shared_version()  # type: ignore[union-attr]
        out = first._make(out_array, record, version)
        if record:
            out._ctx = ctx
            if version is not None:
                ctx.output_version = version.value
            if ctx.saved_arrays:
                _record_versions(ctx, arrays, out_array)
        if _tracer is not None:
            _tracer.record(cls, inputs, params, out)
        return out


def note_read(tensor: Tensor, what: str) -> None:
    """Tell the ONNX tracer, when one runs, that Python reads ``tensor``'s values (``what``:
    ``"item()"``...): a traced forward that branches on them would export one branch only."""
    if _tracer is not None:
        _tracer.read(tensor, what)


def _record_versions(ctx: Context, arrays: list, out_array: Any) -> None:
    """Note the version of each input whose array (or a view of it, such as a reshape)
    ``forward`` saved, for ``backward`` to find again."""
    versions = []
    views = []
    for saved in ctx.saved_arrays:
        if saved is None or saved is out_array:
            continue
        for index, array in enumerate(arrays):
            if saved is array:
                versions.append((index, ctx.parents[index]._version))
                break
        else:  # an array of forward's own, or a view of an input
            views.append(saved)
    if views:
        storage = ctx.kernels.storage
        viewed = {id(storage(saved)) for saved in views}
        for index, array in enumerate(arrays):
            if array is not None and id(storage(array)) in viewed:
                versions.append((index, ctx.parents[index]._version))
    ctx.versions = versions


def _check_versions(ctx: Context, tensor: Tensor) -> None:
    """Raise if ``tensor`` (made by ``ctx``) or an input whose array ``ctx`` saved was
    written in place since ``Function.apply`` noted its version."""
    if tensor._version != ctx.output_version:
        _version_error(ctx, -1, tensor, ctx.output_version)
    for index, version in ctx.versions:
        if ctx.parents[index]._version != version:
            _version_error(ctx, index, ctx.parents[index], version)


def _second_backward(ctx: Context, what: str) -> NoReturn:
    op = getattr(ctx, "op", None)
    name = ctx.function.__name__ + (f" ({op})" if isinstance(op, str) else "")
    raise RuntimeError(
        f"backward: trying to backward through the graph a second time: {what} was made by "
        f"{name}, whose saved values an earlier backward freed; pass retain_graph=True to "
        f"the first backward to run it twice")


def _version_error(ctx: Context, index: int, made: Tensor, version: int) -> NoReturn:
    """The error for ``made`` (input ``index`` of ``ctx``, or its output for -1)."""
    name = ctx.function.__name__
    what = f"the output of {name}" if index < 0 else f"input {index} of {name}"
    origin = "a leaf" if made.grad_fn is None else f"made by {made.grad_fn.__name__}"
    raise RuntimeError(
        f"{name.lower()}: one of the variables needed for gradient computation has been "
        f"modified by an inplace operation: {what} (a {made.dtype} tensor of shape "
        f"{made.shape}, {origin}) is at version {made._version}; expected version "
        f"{version} instead. In-place ops are not recorded in the graph: use the "
        f"out-of-place op (y = y * 2, not y.mul_(2)) on a tensor the graph still needs"
    )


def sum_to_shape(kernels: ModuleType, grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back to ``shape``: (2, 3, 4) -> (3, 1) sums axes 0 and 2."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1
    )
    return kernels.reduce("sum", grad, axes, keepdim=True).reshape(shape)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors with a recorded function, each after every tensor it was computed from."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack = [(root, False)]
    while stack:
        tensor, children_done = stack.pop()
        if children_done:
            order.append(tensor)
            continue
        if id(tensor) in visited or tensor._ctx is None:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        for parent in tensor._ctx.parents:
            if parent is not None and parent._ctx is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _accumulate(kernels: ModuleType, current: Any, grad: Any) -> Any:
    return grad if current is None else kernels.binary("add", current, grad)


def _run_hooks(tensor: Tensor, grad: Any, owners: _Owners) -> Any:
    """``grad`` after the hooks of ``tensor.register_hook``, in the order they were registered:
    each gets the gradient as a Tensor and may return one of the same shape to replace it."""
    hooks = getattr(tensor, "_backward_hooks", None)
    if not hooks:
        return grad
    for hook in list(hooks.values()):
        with no_grad():
            result = hook(tensor._make(grad))
        if result is None:
            continue
        name = getattr(hook, "__name__", repr(hook))
        if not hasattr(result, "data") or not hasattr(result, "shape"):
            raise TypeError(f"backward: hook {name!r} returned {type(result).__name__}; "
                            "a tensor hook returns a Tensor or None")
        if result.shape != tensor.shape or result.device != tensor.device:
            raise RuntimeError(f"backward: hook {name!r} has changed the size or device of "
                               f"value: got {result.shape} on {result.device!r}, expected "
                               f"{tensor.shape} on {tensor.device!r}")
        if result.dtype != tensor.dtype:
            raise RuntimeError(f"backward: hook {name!r} has changed the type of value: got "
                               f"{result.dtype}, expected {tensor.dtype}")
        grad = result.data
        owners.note(grad)  # the hook's caller may keep the tensor it returned
    return grad


class _Owners:
    """The storages of the gradient arrays given out so far in one backward pass.

    A gradient becomes a tensor's ``.grad`` as it is only if no other tensor can hold its
    storage; otherwise it is copied first. Only ids are kept: a storage freed during the pass
    can at worst cause one needless copy if its id is reused.
    """

    def __init__(self, kernels: ModuleType):
        self.kernels = kernels
        self.given: set[int] = set()

    def note(self, array: Any) -> None:
        self.given.add(id(self.kernels.storage(array)))

    def own(self, array: Any) -> Any:
        """``array``, or a copy of it if its storage was given out before in this pass."""
        key = id(self.kernels.storage(array))
        if key in self.given:
            return self.kernels.copy(array)
        self.given.add(key)
        return array


def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``gradient`` (a raw array of ``root``'s shape, or None) is d(loss)/d(root); it may be
    omitted only for a one-element ``root``. The graph is freed afterwards unless
    ``retain_graph`` is set.
    """
    if not root.requires_grad:
        raise RuntimeError("backward: tensor does not require grad and has no grad_fn")
    kernels = root.kernels
    owners = _Owners(kernels)
    if gradient is None:
        if root.numel() != 1:
            raise ValueError(
                f"backward: gradient can be omitted only for a one-element tensor, "
                f"got shape {root.shape}; pass gradient= of that shape"
            )
        grad = kernels.full(root.shape, 1.0, root.dtype)
    else:
        grad = gradient
        if tuple(grad.shape) != root.shape:
            raise ValueError(
                f"backward: gradient has shape {tuple(grad.shape)}, tensor has shape {root.shape}"
            )
        owners.note(grad)  # the caller keeps it
    if root._ctx is not None and root._ctx.released:
        _second_backward(root._ctx, "the tensor")
    if root._ctx is None:  # a leaf: its gradient is the one given
        root._accumulate_grad(owners.own(_run_hooks(root, grad, owners)))
        return
    grads = {id(root): grad}
    # a leaf with hooks gets its gradient once, summed over all its uses, as in PyTorch
    hooked_leaves: dict[int, tuple[Tensor, Any]] = {}
    for tensor in reversed(_topological_order(root)):
        grad = grads.pop(id(tensor), None)
        ctx = tensor._ctx
        if grad is None or ctx is None:
            continue
        _check_versions(ctx, tensor)
        shown = tensor.tensor() if isinstance(tensor, Node) else tensor
        grad = _run_hooks(shown, grad, owners)
        if shown._retains_grad:  # after the hooks, so .grad is what flows on
            shown._accumulate_grad(owners.own(grad) if shown.grad is None else grad)
        input_grads = ctx.function.backward(ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, parent_grad in zip(ctx.parents, input_grads, strict=True):
            if parent is None or parent_grad is None or not parent.requires_grad:
                continue
            if parent._ctx is not None and parent._ctx.released:
                _second_backward(parent._ctx, f"input {ctx.parents.index(parent)} of "
                                              f"{ctx.function.__name__}")
            parent_grad = sum_to_shape(ctx.kernels, parent_grad, parent.shape)
            if parent_grad.dtype != parent.dtype:
                parent_grad = ctx.kernels.astype(parent_grad, parent.dtype)
            if parent._ctx is None and getattr(parent, "_backward_hooks", None):
                previous = hooked_leaves.get(id(parent), (parent, None))[1]
                hooked_leaves[id(parent)] = (parent, _accumulate(ctx.kernels, previous,
                                                                 parent_grad))
            elif parent._ctx is None:
                parent._accumulate_grad(
                    owners.own(parent_grad) if parent.grad is None else parent_grad
                )
            else:
                owners.note(parent_grad)
                grads[id(parent)] = _accumulate(ctx.kernels, grads.get(id(parent)), parent_grad)
        if not retain_graph:  # frees saved arrays and the edges to the inputs
            ctx.release()
            if isinstance(tensor, Node):
                tensor.held = None
    for leaf, grad in hooked_leaves.values():
        grad = _run_hooks(leaf, grad, owners)
        leaf._accumulate_grad(owners.own(grad) if leaf.grad is None else grad)
