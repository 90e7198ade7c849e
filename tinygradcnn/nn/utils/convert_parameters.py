"""All of a model's weights as one flat vector and back (`torch.nn.utils.convert_parameters`).

`parameters_to_vector(model.parameters())` is a differentiable concatenation (gradients flow
back to the parameters); `vector_to_parameters(vec, model.parameters())` writes a vector of
the same length back, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...autograd import no_grad
from ...ops.shape import cat
from ...tensor import Tensor


def _one_device(caller: str, parameters: list[Tensor]) -> None:
    for index, param in enumerate(parameters):
        if not isinstance(param, Tensor):
            raise TypeError(f"{caller}: expected Tensors, got {type(param).__name__} at "
                            f"position {index}")
        if param.device != parameters[0].device:
            raise ValueError(f"{caller}: found two parameters on different devices: "
                             f"{parameters[0].device!r} (position 0) and {param.device!r} "
                             f"(position {index})")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Flatten and concatenate: parameters of shapes (6, 1, 5, 5) and (6,) -> (156,)."""
    parameters = list(parameters)
    _one_device("parameters_to_vector", parameters)
    if not parameters:
        raise ValueError("parameters_to_vector: expected at least one parameter")
    return cat([param.reshape(-1) for param in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-d `vec` into `parameters`, in place and in order:
    (156,) -> parameters of shapes (6, 1, 5, 5) and (6,).

    The parameters keep their own storage (PyTorch makes them views of `vec`); the copy is
    not recorded in the graph. A `vec` whose length is not the parameters' total is an
    error (PyTorch ignores extra elements)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor for vec, got "
                        f"{type(vec).__name__}")
    parameters = list(parameters)
    _one_device("vector_to_parameters", parameters)
    total = sum(param.numel() for param in parameters)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec must be 1-d with {total} elements (the "
                         f"parameters' total), got shape {vec.shape}")
    if parameters and vec.device != parameters[0].device:
        raise ValueError(f"vector_to_parameters: vec is on {vec.device!r}, the parameters on "
                         f"{parameters[0].device!r}")
    start = 0
    with no_grad():
        for param in parameters:
            stop = start + param.numel()
            param.copy_(vec[start:stop].reshape(param.shape))
            start = stop
