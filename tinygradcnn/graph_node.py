"""How the autograd record holds a tensor that an op made: by what the backward needs of it,
not by its values.

A ``Context`` lists its inputs as graph edges. A leaf (a parameter, an input batch) is the
tensor itself. A tensor that an op made is a ``Node``: the ``Context`` that made it, its
shape, dtype and device, and its storage's version counter, with the tensor itself held
weakly. So an activation nobody else keeps is freed as soon as the forward is done with it,
as in PyTorch, unless a backward saved its array: ``x -> bn -> relu`` keeps the batch
norm's input and the ReLU's output, not the batch norm's output as well (with the unary ops
saving only what their derivative reads, a ResNet-20 training step at batch 128 went from
394 to 222 MiB).

    Tensor (values) --_node--> Node --_ctx--> Context --parents--> Node | leaf Tensor ...
           ^---------weakly------'

A tensor that keeps its gradient (``retain_grad``) or has backward hooks is held by its node
for as long as the graph lives, so that the backward can reach it. Each tensor has one node
(``Tensor._graph_node``), so a tensor used twice is one vertex of the graph.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .autograd import Context
    from .tensor import Tensor


class Node:
    """A recorded tensor as its consumers' ``Context`` holds it (see the module docstring)."""

    __slots__ = ("_ctx", "shape", "dtype", "device", "_version_counter", "_tensor", "held",
                 "__weakref__")

    requires_grad = True  # only tensors that require grad are recorded

    def __init__(self, tensor: Tensor, ctx: Context) -> None:
        data = tensor.data
        self._ctx = ctx  # the tensor's producer (a backward releases it, never removes it)
        self.shape = tuple(data.shape)
        self.dtype = data.dtype
        self.device = tensor.device
        self._version_counter = tensor._shared_version()
        self._tensor = weakref.ref(tensor)
        self.held: Tensor | None = None  # the tensor itself, while it has hooks or .grad to get

    @property
    def grad_fn(self) -> Any:
        return self._ctx.function

    @property
    def _version(self) -> int:
        return self._version_counter.value

    def _graph_node(self) -> Node:
        return self

    def tensor(self) -> Tensor | Node:
        """The tensor if the node holds it (it has hooks or keeps its gradient), else the
        node itself: what the backward runs hooks on and hands ``.grad`` to."""
        return self if self.held is None else self.held

    # what the backward asks of a tensor whose hooks and .grad nobody can see any more
    _retains_grad = False
    _backward_hooks = None
