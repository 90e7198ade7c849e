"""A module's saved state: `state_dict()` and `load_state_dict()`, with PyTorch's keys.

A state dict maps dotted names (`features.0.weight`) to NumPy arrays: every parameter and
persistent buffer, each module's own entries before its children's, as PyTorch orders them,
so a file written by either framework loads into the other's model.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .module import Module

# buffers an older state dict may lack without being incomplete: PyTorch's BatchNorm fills
# a missing num_batches_tracked with the module's own value, even under strict=True
_OPTIONAL_BUFFERS = ("num_batches_tracked",)


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class StateDictMethods:
    """The state-dict half of `Module` (a mixin: it reads the module's registries)."""

    _parameters: OrderedDict
    _buffers: OrderedDict
    _non_persistent_buffers: set

    if TYPE_CHECKING:
        def named_modules(self, memo: set | None = None, prefix: str = "",
                          remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]: ...

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """{dotted name: NumPy copy} of every parameter and persistent buffer, in PyTorch's
        order and with PyTorch's keys (a parameter shared by two modules appears under both).

        The values are copies, so a snapshot (for early stopping, a checkpoint) does not
        change as training goes on."""
        return OrderedDict((name, np.array(tensor.numpy(), copy=True))
                           for name, tensor in self._state_entries().items())

    def _state_entries(self) -> OrderedDict[str, Tensor]:
        """What a state dict holds, in PyTorch's order: each module's own parameters, then
        its persistent buffers, then its children's; a shared tensor under every name."""
        entries: OrderedDict[str, Tensor] = OrderedDict()
        for module_name, module in self.named_modules(remove_duplicate=False):
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    entries[prefix + name] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    entries[prefix + name] = buffer
        return entries

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values (NumPy arrays or Tensors) into the parameters and buffers, in place.

        With `strict=True`, a key the model lacks or a model entry the dict lacks is an
        error; a shape mismatch is always an error. One RuntimeError lists every problem.
        As in PyTorch, a batch norm's `num_batches_tracked` may be missing (files from
        PyTorch before 0.4.1): the buffer then keeps its value. Returns (missing_keys,
        unexpected_keys).
        """
        targets = self._state_entries()
        values = {name: _as_array(state_dict[name]) for name in targets if name in state_dict}
        missing = [name for name in targets if name not in values
                   and name.rpartition(".")[2] not in _OPTIONAL_BUFFERS]
        unexpected = [name for name in state_dict if name not in targets]
        errors = [f"size mismatch for {name}: copying a value of shape {tuple(value.shape)} "
                  f"from the state dict, the shape in the current model is "
                  f"{targets[name].shape}"
                  for name, value in values.items() if tuple(value.shape) != targets[name].shape]
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
            for name, value in values.items():
                target = targets[name]
                # asarray keeps a 0-d buffer (num_batches_tracked) 0-d
                target.copy_(np.asarray(value, dtype=target.dtype, order="C"))
        return IncompatibleKeys(missing, unexpected)


def _as_array(value) -> np.ndarray:
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)
