"""Reverse-mode automatic differentiation: ``Function``, ``backward``, ``no_grad``, ``gradcheck``.

Every differentiable op is a ``Function`` with a ``forward`` that computes the output from
raw arrays and a ``backward`` that turns the output's gradient into the inputs' gradients.
``Function.apply`` records which function made a tensor and from which inputs; ``backward``
walks that record from the loss back to the leaves, in reverse topological order.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .backend import kernels_for

if TYPE_CHECKING:
    from .tensor import Tensor

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return getattr(_state, "grad_enabled", True)


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    previous = is_grad_enabled()
    _state.grad_enabled = enabled
    try:
        yield
    finally:
        _state.grad_enabled = previous


def no_grad():
    """Context manager (and decorator) in which ops record no graph: for evaluation."""
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns graph recording back on inside ``no_grad()``."""
    return _grad_mode(True)


class Context:
    """What a ``forward`` leaves for its ``backward``: saved arrays and any attributes."""

    def __init__(self, function: type[Function], kernels, parents: tuple, needs_input_grad):
        self.function = function
        self.kernels = kernels
        self.parents = parents
        self.needs_input_grad = needs_input_grad
        self.saved_arrays: tuple = ()

    def save_for_backward(self, *arrays) -> None:
        """Keep ``arrays`` (raw arrays or None) for the backward pass."""
        self.saved_arrays = arrays


class Function:
    """A differentiable op: subclasses define static ``forward`` and ``backward``.

    ``forward(ctx, *arrays, **params) -> array`` and
    ``backward(ctx, grad) -> array | None | tuple`` (one gradient per positional input).
    """

    @staticmethod
    def forward(ctx: Context, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError("Function.forward is abstract: subclasses define it")

    @staticmethod
    def backward(ctx: Context, grad):  # pragma: no cover - abstract
        raise NotImplementedError("Function.backward is abstract: subclasses define it")

    @classmethod
    def apply(cls, *inputs: Tensor | None, **params) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record the graph edge if needed."""
        from .tensor import Tensor

        device = None
        for tensor in inputs:
            if tensor is None:
                continue
            if device is None:
                device = tensor.device
            elif tensor.device != device:
                devices = [t.device for t in inputs if t is not None]
                raise ValueError(
                    f"{cls.__name__.lower()}: all inputs must be on one device, got {devices}"
                )
        needs = tuple(t is not None and t.requires_grad for t in inputs)
        record = any(needs) and is_grad_enabled()
        ctx = Context(cls, kernels_for(device), inputs if record else (), needs)
        arrays = [None if t is None else t.data for t in inputs]
        out = Tensor._make(cls.forward(ctx, *arrays, **params), requires_grad=record)
        if record:
            out._ctx = ctx
        return out


def sum_to_shape(kernels, grad, shape: tuple[int, ...]):
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
    order, visited = [], set()
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


def _accumulate(kernels, current, grad):
    return grad if current is None else kernels.binary("add", current, grad)


def backward(root: Tensor, gradient=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``gradient`` is d(loss)/d(root); it may be omitted only for a one-element ``root``.
    The graph is freed afterwards unless ``retain_graph`` is set.
    """
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError("backward: tensor does not require grad and has no grad_fn")
    kernels = kernels_for(root.device)
    if gradient is None:
        if root.numel() != 1:
            raise ValueError(
                f"backward: gradient can be omitted only for a one-element tensor, "
                f"got shape {root.shape}; pass gradient= of that shape"
            )
        grad = kernels.full(root.shape, 1.0, root.dtype)
    else:
        grad = gradient.data if isinstance(gradient, Tensor) else kernels.from_numpy(
            np.asarray(gradient, dtype=root.dtype)
        )
        if tuple(grad.shape) != root.shape:
            raise ValueError(
                f"backward: gradient has shape {tuple(grad.shape)}, tensor has shape {root.shape}"
            )
    if root._ctx is None:  # a leaf: its gradient is the one given
        root._accumulate_grad(grad)
        return
    grads = {id(root): grad}
    for tensor in reversed(_topological_order(root)):
        grad = grads.pop(id(tensor), None)
        ctx = tensor._ctx
        if grad is None:
            continue
        if tensor._retains_grad:
            tensor._accumulate_grad(grad)
        input_grads = ctx.function.backward(ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, parent_grad in zip(ctx.parents, input_grads, strict=True):
            if parent is None or parent_grad is None or not parent.requires_grad:
                continue
            parent_grad = sum_to_shape(ctx.kernels, parent_grad, parent.shape)
            if parent_grad.dtype != parent.dtype:
                parent_grad = ctx.kernels.astype(parent_grad, parent.dtype)
            if parent._ctx is None:
                parent._accumulate_grad(parent_grad)
            else:
                grads[id(parent)] = _accumulate(ctx.kernels, grads.get(id(parent)), parent_grad)
        if not retain_graph:
            tensor._ctx = None  # frees saved arrays and the edges to the inputs


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradients against central differences, for every element of every
    input that requires grad (use float64 inputs).

    The output is projected on a fixed random tensor ``v``, so one backward pass gives
    d(sum(fn(x) * v))/dx, compared with ``(f(x + eps) - f(x - eps)) / (2 eps)`` element by
    element. Returns True, or raises ``GradcheckError`` naming the input, the worst element
    and both values.
    """
    from .tensor import Tensor

    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {x.dtype}; use float64")
    out = fn(*inputs)
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    for x in inputs:
        if isinstance(x, Tensor):
            x.grad = None
    (out * Tensor(projection, dtype=out.dtype, device=out.device)).sum().backward()

    def projected(args) -> float:
        with no_grad():
            return float(np.sum(fn(*args).numpy().astype(np.float64) * projection))

    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.numpy().astype(np.float64)
        values = x.numpy().astype(np.float64)
        numeric = np.zeros(x.shape)
        for index in np.ndindex(*x.shape):
            original = values[index]
            estimates = []
            for delta in (eps, -eps):
                values[index] = original + delta
                args = list(inputs)
                args[i] = Tensor(values, dtype=x.dtype, device=x.device)
                estimates.append(projected(args))
            values[index] = original
            numeric[index] = (estimates[0] - estimates[1]) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and (np.max(error) > 0 or not np.all(np.isfinite(analytic))):
            flat = np.nanargmax(np.where(np.isfinite(error), error, np.inf))
            worst = tuple(int(i) for i in np.unravel_index(flat, x.shape))
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) gradient mismatch at index {worst}: "
                f"analytic {float(analytic[worst])!r}, numeric {float(numeric[worst])!r} "
                f"(atol={atol}, rtol={rtol}; {int(np.sum(error > 0))} of {error.size} elements off)"
            )
    return True
