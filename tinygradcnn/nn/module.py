"""`Module`: the base class of every layer and model.

A Module registers what is assigned to its attributes:

- a `Parameter`  -> a learnable weight (`parameters()`, `state_dict()`),
- a `Module`     -> a child (`children()`, `modules()`, and recursively its parameters),
- a buffer made with `register_buffer` -> saved state that is not learned (BatchNorm's
  running statistics).

Names are dotted paths, as in PyTorch: `features.0.weight`. Asking for an attribute that does
not exist raises AttributeError; it never quietly returns None.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from ..autograd import no_grad
from ..backend import normalize_device
from ..tensor import Tensor
from .parameter import Parameter

# buffers an older state dict may lack without being incomplete: PyTorch's BatchNorm fills
# a missing num_batches_tracked with the module's own value, even under strict=True
_OPTIONAL_BUFFERS = ("num_batches_tracked",)


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by `register_forward_hook`; `handle.remove()` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


class Module:
    """Base class for layers and models: subclasses set attributes in `__init__` (after
    calling `super().__init__()`) and define `forward`."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # -- calling ----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation of the layer; every subclass that is called defines it."""
        raise TypeError(f"{type(self).__name__} cannot be called: it defines no forward(); "
                        f"give {type(self).__name__} a forward(self, ...) method")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every forward; a non-None return value
        replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -- attribute registration -------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: look in the registries, else fail loudly
        registries = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in registries and name in registries[registry]:
                return registries[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or a None placeholder, for `bias=False`) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a non-learned tensor (saved in `state_dict` unless `persistent=False`)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, "
                            f"got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a child called `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    # -- walking the tree -------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set | None = None
                      ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, recurse: bool, persistent_only: bool = False):
        seen = set()
        modules = self.named_modules() if recurse else [("", self)]
        for module_name, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                if persistent_only and name in module._non_persistent_buffers:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, each shared parameter once."""
        yield from self._named_members("_parameters", recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse):
            yield param

    def named_buffers(self, recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call `fn(module)` on every descendant and then on this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics) for the tree.

        Each child's own `train` is called, as in PyTorch, so a module that overrides it
        (a fine-tuned model keeping its frozen backbone's batch norm in eval) has its way."""
        object.__setattr__(self, "training", bool(mode))
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad.data = param.kernels.zeros(param.shape, param.dtype)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter, e.g. for fine-tuning."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def to(self, device: str) -> Module:
        """Move every parameter, gradient and buffer to `device`, in place: the Parameter
        objects stay the same, so an optimizer built before the move keeps working."""
        device = normalize_device(device, f"{type(self).__name__}.to")
        with no_grad():
            for tensor in [*self.parameters(), *self.buffers()]:
                if tensor.device != device:
                    tensor.data = tensor.to(device).data
                    if tensor.grad is not None:
                        tensor.grad = tensor.grad.to(device)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    # -- state ------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """{dotted name: NumPy copy} of every parameter and persistent buffer.

        The values are copies, so a snapshot (for early stopping, a checkpoint) does not
        change as training goes on. The order is PyTorch's: module by module, each one's
        parameters and then its buffers (`bn1.weight, bn1.bias, bn1.running_mean, ...`)."""
        state = OrderedDict()
        seen = set()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, value in [*module._parameters.items(), *module._buffers.items()]:
                if value is None or id(value) in seen or name in module._non_persistent_buffers:
                    continue
                seen.add(id(value))
                state[prefix + name] = np.array(value.numpy(), copy=True)
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values (NumPy arrays or Tensors) into the parameters and buffers, in place.

        With `strict=True`, a key the model lacks or a model entry the dict lacks is an
        error; a shape mismatch is always an error. One RuntimeError lists every problem.
        As in PyTorch, a batch norm's `num_batches_tracked` may be missing (files from
        PyTorch before 0.4.1): the buffer then keeps its value. Returns (missing_keys,
        unexpected_keys).
        """
        targets = OrderedDict(self.named_parameters())
        targets.update(self._named_members("_buffers", True, persistent_only=True))
        missing = [name for name in targets if name not in state_dict
                   and name.rpartition(".")[2] not in _OPTIONAL_BUFFERS]
        unexpected = [name for name in state_dict if name not in targets]
        errors = []
        for name, target in targets.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
            if tuple(value.shape) != target.shape:
                errors.append(f"size mismatch for {name}: copying a value of shape "
                              f"{tuple(value.shape)} from the state dict, the shape in the "
                              f"current model is {target.shape}")
        if strict:
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{key}"' for key in missing))
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{key}"' for key in unexpected))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for name, target in targets.items():
                if name in state_dict:
                    value = state_dict[name]
                    value = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
                    # asarray keeps a 0-d buffer (num_batches_tracked) 0-d
                    target.copy_(np.asarray(value, dtype=target.dtype, order="C"))
        return IncompatibleKeys(missing, unexpected)

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of scalar weights (only those with requires_grad when asked)."""
        return sum(p.numel() for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    # -- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of this module's line in repr."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + _indent(repr(child)) for name, child in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "".join(f"\n  {line}" for line in ([extra] if extra else []) + lines)
        return f"{type(self).__name__}({body}\n)"


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
