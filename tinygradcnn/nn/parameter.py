"""`Parameter`: a Tensor that a Module registers as learnable (requires_grad=True)."""

from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a learnable weight of a Module.

    Assigning a Parameter to a Module attribute registers it, so it appears in
    `module.parameters()` and `module.state_dict()`. `Parameter(tensor)` shares the tensor's
    storage (on the CPU) and keeps its device; arrays and lists are copied in as float32.
    """

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = Tensor([], dtype="float32")
        if isinstance(data, Tensor):
            Tensor._init(self, data.data, requires_grad, data._shared_version())
        else:
            super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
