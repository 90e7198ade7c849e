"""Containers: `Sequential` (a chain of layers), `ModuleList` and `ModuleDict` (registered
collections of modules), `ParameterList` and `ParameterDict` (of parameters).

A plain Python list or dict of layers hides them from `parameters()` and `state_dict()`;
these register each entry under its index or key, so the names read `blocks.0.weight` and
`heads.cls.weight` as in PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..tensor import Tensor
from .module import Module
from .parameter import Parameter


class Sequential(Module):
    """Run modules one after the other: `Sequential(Conv2d(1, 6, 5), ReLU(), MaxPool2d(2))`
    maps (N, 1, 28, 28) -> (N, 6, 12, 12): the input shape of the first module -> the output
    shape of the last.

    Also `Sequential(OrderedDict(conv=..., relu=...))` to name the steps. Children are named
    "0", "1", ... otherwise; `seq[i]` and `seq[a:b]` index them.
    """

    def __init__(self, *modules: Module | OrderedDict) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)  # type: ignore[arg-type]

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            names = list(self._modules)[index]
            return Sequential(OrderedDict((name, self._modules[name]) for name in names))
        return modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add `module` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append every module of `modules`."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Put `module` before position `index`; the steps are renumbered "0", "1", ..."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        _renumber(self, modules)
        return self

    def pop(self, index: int = -1) -> Module:
        """Remove the step at `index` (renumbering the rest) and return it."""
        module = self[index]
        del self[index]
        return module

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(_name_at(self, index), module)

    def __delitem__(self, index: int | slice) -> None:
        _delete(self, index)


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(_name_at(self, index), module)

    def __delitem__(self, index: int | slice) -> None:
        _delete(self, index)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def pop(self, index: int = -1) -> Module:
        """Remove the module at `index` (renumbering the rest) and return it."""
        module = self[index]
        del self[index]
        return module

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put `module` before position `index`; the entries are renumbered."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        _renumber(self, modules)

    def forward(self, *args, **kwargs):
        raise TypeError("ModuleList cannot be called: it has no forward(); iterate over it "
                        "(for layer in layers: x = layer(x)) or use Sequential")


def _name_at(container: Module, index: int) -> str:
    names = list(container._modules)
    if not isinstance(index, int) or not -len(names) <= index < len(names):
        raise IndexError(f"{type(container).__name__}: index {index!r} is out of range for "
                         f"{len(names)} modules")
    return names[index]


def _renumber(container: Module, modules: list) -> None:
    # PyTorch renumbers after an insertion or a deletion, so the names stay "0", "1", ...
    container._modules.clear()
    for position, module in enumerate(modules):
        container.add_module(str(position), module)


def _delete(container: Module, index: int | slice) -> None:
    modules = list(container._modules.values())
    if isinstance(index, slice):
        del modules[index]
    else:
        del modules[list(container._modules).index(_name_at(container, index))]
    _renumber(container, modules)


def _pairs(caller: str, values: Any) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of a mapping or of an iterable of pairs, in their order."""
    if isinstance(values, (Mapping, ModuleDict, ParameterDict)):
        return list(values.items())
    pairs = []
    for index, pair in enumerate(values):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{caller}: element #{index} of the iterable should be a "
                            f"(key, value) pair, got {type(pair).__name__}")
        pairs.append((pair[0], pair[1]))
    return pairs


def _key(caller: str, key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{caller}: keys must be strings, got {type(key).__name__} {key!r}")
    if key == "" or "." in key:
        raise KeyError(f"{caller}: key {key!r} must be non-empty and contain no '.' (it "
                       "becomes part of the dotted names in state_dict)")
    return key


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered under their keys:
    `ModuleDict({"conv": Conv2d(1, 6, 5), "pool": MaxPool2d(2)})`; `heads["cls"]`,
    `keys()`, `items()`, `values()`, `update(...)`, `pop(key)` as on a dict."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None
                 = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(key)
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(_key("ModuleDict", key), module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        self._forget(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        for key in list(self._modules):
            self._forget(key)

    def pop(self, key: str) -> Module:
        """Remove the module under `key` and return it."""
        module = self[key]
        del self[key]
        return module

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or an iterable of (key, module) pairs."""
        for key, module in _pairs("ModuleDict.update", modules):
            self[key] = module

    def forward(self, *args, **kwargs):
        raise TypeError("ModuleDict cannot be called: it has no forward(); call its entries "
                        "(heads['cls'](x))")


def _as_parameter(value: Any) -> Any:
    # PyTorch's rule: a plain Tensor put in a parameter container becomes a Parameter
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _parameter_line(key: Any, value: Any) -> str:
    # PyTorch's layout: indented once more than a child module's line
    if isinstance(value, Tensor):
        size = "x".join(str(size) for size in value.shape)
        device = f" ({value.device})" if value.device != "cpu" else ""
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"  ({key}): {kind} containing: [{value.dtype} of size {size}{device}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of parameters registered under "0", "1", ...: `ParameterList([Parameter(
    tg.randn(3, 3)) for _ in range(4)])`. A plain Tensor appended becomes a Parameter."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _name(self, index: int) -> str:
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"ParameterList: indices must be integers or slices, got "
                            f"{type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"ParameterList: index {index} is out of range for a list of "
                             f"{len(self)}")
        return str(index % len(self))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ParameterList(list(self)[index])
        return getattr(self, self._name(index))

    def __setitem__(self, index: int, value: Any) -> None:
        self._set(self._name(index), value)

    def _set(self, name: str, value: Any) -> None:
        value = _as_parameter(value)
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        else:
            self._forget(name)
            setattr(self, name, value)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self[index] for index in range(len(self)))

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def __dir__(self):
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, value: Any) -> ParameterList:
        """Add `value` at the end (a Tensor becomes a Parameter)."""
        self._size += 1
        self._set(str(self._size - 1), value)
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append every element of `values`."""
        if isinstance(values, (str, Tensor)) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend should be called with an iterable, got "
                            f"{type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_parameter_line(index, value) for index, value in enumerate(self))

    def forward(self, *args, **kwargs):
        raise TypeError("ParameterList cannot be called: it has no forward(); index it")


class ParameterDict(Module):
    """An ordered dict of parameters registered under their keys: `ParameterDict({"scale":
    Parameter(tg.ones(3))})`; dict methods (`keys`, `items`, `values`, `update`, `pop`,
    `get`, `setdefault`, ...). A plain Tensor stored becomes a Parameter."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self._keys: dict[str, None] = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        key = _key("ParameterDict", key)
        self._keys[key] = None
        value = _as_parameter(value)
        if isinstance(value, Parameter):
            self.register_parameter(key, value)
        else:
            self._forget(key)
            setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self._keys:
            raise KeyError(key)
        del self._keys[key]
        self._forget(key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __or__(self, other: Any) -> ParameterDict:
        copy = self.copy()
        copy.update(other)
        return copy

    def __ior__(self, other: Any) -> ParameterDict:
        self.update(other)
        return self

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same Parameter objects."""
        return ParameterDict(list(self.items()))

    def keys(self) -> Iterable[str]:
        return self._keys.keys()

    def items(self) -> Iterable[tuple[str, Any]]:
        return [(key, self[key]) for key in self._keys]

    def values(self) -> Iterable[Any]:
        return [self[key] for key in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str) -> Any:
        """Remove the entry under `key` and return it."""
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last (key, value) pair."""
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> ParameterDict:
        """A new ParameterDict with every key holding `default`."""
        return ParameterDict((key, default) for key in keys)

    def update(self, parameters: Any) -> None:
        """Add or replace entries from a mapping or an iterable of (key, value) pairs. As
        in PyTorch, a plain dict's entries go in sorted by key (an OrderedDict, a
        ParameterDict or a list of pairs keeps its order)."""
        pairs = _pairs("ParameterDict.update", parameters)
        if isinstance(parameters, Mapping) and not isinstance(parameters, OrderedDict):
            pairs.sort(key=lambda pair: pair[0])
        for key, value in pairs:
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(_parameter_line(key, value) for key, value in self.items())

    def forward(self, *args, **kwargs):
        raise TypeError("ParameterDict cannot be called: it has no forward(); index it")
