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
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..backend import normalize_device
from ..hooks import RemovableHandle as RemovableHandle
from ..tensor import Tensor
from .parameter import Parameter
from .state_dict import IncompatibleKeys as IncompatibleKeys
from .state_dict import StateDictMethods


class Module(StateDictMethods):
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
        object.__setattr__(self, "_forward_hooks_with_kwargs", {})
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", {})

    # -- calling ----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation of the layer; every subclass that is called defines it."""
        raise TypeError(f"{type(self).__name__} cannot be called: it defines no forward(); "
                        f"give {type(self).__name__} a forward(self, ...) method")

    def __call__(self, *args, **kwargs):
        for key, pre_hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                result = pre_hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result!r}")
                    args, kwargs = result
            else:
                result = pre_hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            if key in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call `hook(module, args)` before every forward; a non-None return value replaces
        the positional arguments (a single value is wrapped in a tuple). With
        `with_kwargs=True` it is `hook(module, args, kwargs)` and returns `(args, kwargs)`
        or None. `prepend=True` runs it before the hooks registered so far."""
        return _register(hook, self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs,
                         prepend, with_kwargs)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call `hook(module, args, output)` after every forward; a non-None return value
        replaces the output. With `with_kwargs=True` it is `hook(module, args, kwargs,
        output)`. `prepend=True` runs it before the hooks registered so far."""
        return _register(hook, self._forward_hooks, self._forward_hooks_with_kwargs,
                         prepend, with_kwargs)

    # -- attribute registration -------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name, params)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, modules)
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

    def _forget(self, name: str, keep: dict | None = None) -> None:
        # `keep` is the registry about to receive `name`: replacing an entry there keeps its
        # place, so state dict keys stay in PyTorch's order
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
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
        _check_name("register_parameter", name)
        self._forget(name, self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a non-learned tensor (saved in `state_dict` unless `persistent=False`)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, "
                            f"got {type(tensor).__name__}")
        _check_name("register_buffer", name)
        self._forget(name, self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a child called `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        _check_name("add_module", name)
        self._forget(name, self._modules)
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias of `add_module`."""
        self.add_module(name, module)

    # -- walking the tree -------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module (named `prefix`) and every descendant,
        depth first; a module reached twice is listed once unless `remove_duplicate=False`."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct children, each once."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        """The direct children, each once."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str = "", recurse: bool = True,
                       remove_duplicate: bool = True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_name, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, each shared parameter once (unless
        `remove_duplicate=False`); `recurse=False` keeps to this module's own."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter of the tree, each once: what an optimizer is given."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, persistent or not, each shared buffer once."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer of the tree (running statistics, ...), each once."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        """The descendant at the dotted path `target` (`"layer1.0.conv1"`); `""` is self.

        An AttributeError names the first part of the path that is missing or not a
        Module."""
        module = self
        if target == "":
            return module
        walked: list[str] = []
        for part in target.split("."):
            where = f" {'.'.join(walked)!r}" if walked else ""
            if part not in module._modules or module._modules[part] is None:
                raise AttributeError(f"get_submodule: {type(module).__name__}{where} has no "
                                     f"submodule {part!r} (looking up {target!r})")
            module = module._modules[part]
            walked.append(part)
        return module

    def _get_member(self, caller: str, registry: str, what: str, target: str):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        members = getattr(module, registry)
        if name not in members or members[name] is None:
            where = f" {module_path!r}" if module_path else ""
            raise AttributeError(f"{caller}: {type(module).__name__}{where} has no {what} "
                                 f"{name!r} (looking up {target!r})")
        return members[name]

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at the dotted path `target` (`"layer1.0.conv1.weight"`)."""
        return self._get_member("get_parameter", "_parameters", "parameter", target)

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path `target` (`"bn1.running_mean"`)."""
        return self._get_member("get_buffer", "_buffers", "buffer", target)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn(module)` on every child (recursively, children first) and then on this
        module; returns self, as `model.apply(init_weights)` is written."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics) for this module
        and, through their own `train`, its children; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be boolean, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters: to None, or with `set_to_none=False` to
        zeros in place (a parameter without a gradient keeps None, as in PyTorch)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.requires_grad_(False)
                param.grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter, e.g. for fine-tuning."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def to(self, device: Any = None, dtype: Any = None) -> Module:
        """Move every parameter, gradient and buffer to `device` and/or cast the floating-point
        ones to `dtype`, in place: `model.to("cuda")`, `model.to(tg.float64)`. The Parameter
        objects stay the same, so an optimizer built before the move keeps working; integer
        buffers (`num_batches_tracked`) keep their dtype, as in PyTorch."""
        caller = f"{type(self).__name__}.to"
        if device is not None and not isinstance(device, str) and dtype is None:
            try:  # model.to(dtype), as in PyTorch
                dtype, device = np.dtype(device), None
            except TypeError:
                pass
        if device is not None:
            device = normalize_device(device, caller)
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"{caller}: only floating-point dtypes are supported, got "
                                f"{dtype}")
        with no_grad():
            for tensor in [*self.parameters(), *self.buffers()]:
                if device is not None and tensor.device != device:
                    tensor.data = tensor.to(device).data
                    if tensor.grad is not None:
                        tensor.grad = tensor.grad.to(device)
                if dtype is not None and tensor.dtype.kind == "f" and tensor.dtype != dtype:
                    tensor.data = tensor.kernels.astype(tensor.data, dtype)
                    if tensor.grad is not None:
                        tensor.grad = tensor.grad.to(dtype)
        return self

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32, in place."""
        return self.to(dtype=np.float32)

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64 (for gradient checks)."""
        return self.to(dtype=np.float64)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

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
        extra_lines = extra.split("\n") if extra else []
        if not lines and len(extra_lines) <= 1:
            return f"{type(self).__name__}({extra})"
        body = "".join(f"\n  {line}" for line in extra_lines + lines)
        return f"{type(self).__name__}({body}\n)"


def _check_name(caller: str, name: str) -> None:
    # a dot would make the dotted names of state_dict ambiguous
    if not isinstance(name, str):
        raise TypeError(f"{caller}: name must be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f"{caller}: name can't be empty or contain \".\", got: {name!r}")


def _register(hook: Callable, hooks: OrderedDict, with_kwargs_ids: dict, prepend: bool,
              with_kwargs: bool) -> RemovableHandle:
    handle = RemovableHandle(hooks, with_kwargs_ids)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    if with_kwargs:
        with_kwargs_ids[handle.id] = True
    return handle


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
