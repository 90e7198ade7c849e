"""Containers: `Sequential` (chain of layers) and `ModuleList` (a registered list)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

from .module import Module


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
        self.add_module(str(len(self)), module)
        return self


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
        name = list(self._modules)[index]
        self.add_module(name, module)

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
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for position, item in enumerate(modules):
            self.add_module(str(position), item)

    def forward(self, *args, **kwargs):
        raise TypeError("ModuleList cannot be called: it has no forward(); iterate over it "
                        "(for layer in layers: x = layer(x)) or use Sequential")
