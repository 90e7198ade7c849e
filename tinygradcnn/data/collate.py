"""Collation: a list of samples -> one batch, as PyTorch's `default_collate`.

    default_collate([(image (1, 28, 28), 3), (image, 7)]) -> (Tensor (2, 1, 28, 28), Tensor [3, 7])

Tensors and arrays are stacked along a new first axis, Python floats become a float64 tensor,
ints an int64 one, bools a bool one; strings are kept as they come (a tuple of them for a
field of a sample, as in PyTorch); dicts, tuples, named tuples and lists are collated field
by field (a tuple stays a tuple, where PyTorch returns a list).
The stacking is done on NumPy arrays (`collate_arrays`), which is also what a worker process
sends back; `to_tensors` then wraps them, in the loader's process, on the loader's device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def collate_arrays(batch: Sequence[Any]) -> Any:
    """`default_collate` with NumPy arrays where it would make Tensors."""
    from ..tensor import Tensor

    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return np.stack([sample.numpy() for sample in batch])
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUS":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, "
                            f"numbers, dicts or lists; found an array of dtype {elem.dtype}")
        return np.stack(batch)
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return np.array(batch)
    if isinstance(elem, bool):
        return np.array(batch, dtype=np.bool_)
    if isinstance(elem, int):
        return np.array(batch, dtype=np.int64)
    if isinstance(elem, float):
        return np.array(batch, dtype=np.float64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        collated = {key: collate_arrays([sample[key] for sample in batch]) for key in elem}
        try:
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(elem, Sequence):
        sizes = {len(sample) for sample in batch}
        if len(sizes) != 1:
            raise ValueError(f"default_collate: each element in list of batch should be of "
                             f"equal size, got sizes {sorted(sizes)}")
        fields = [collate_arrays(column) for column in zip(*batch, strict=True)]
        if _is_namedtuple(elem):
            return type(elem)(*fields)
        if isinstance(elem, tuple):
            return tuple(fields)
        return fields
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(elem).__name__}")


def to_tensors(obj: Any, device: str = "cpu") -> Any:
    """Every NumPy array (and Tensor) inside `obj` as a Tensor on `device`; other values and
    the containers' structure unchanged."""
    from ..tensor import Tensor

    if isinstance(obj, np.ndarray) and obj.dtype.kind not in "OUS":
        array = np.ascontiguousarray(obj)
        return Tensor._make(array) if device == "cpu" else Tensor(array, device=device)
    if isinstance(obj, Tensor):
        return obj if obj.device == device else obj.to(device)
    if isinstance(obj, Mapping):
        converted = {key: to_tensors(value, device) for key, value in obj.items()}
        try:
            return type(obj)(converted)  # type: ignore[call-arg]
        except TypeError:
            return converted
    if _is_namedtuple(obj):
        return type(obj)(*(to_tensors(value, device) for value in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_tensors(value, device) for value in obj)
    return obj


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch of Tensors (see the module docstring)."""
    return to_tensors(collate_arrays(batch))


def default_convert(data: Any) -> Any:
    """What a loader with `batch_size=None` yields: arrays inside `data` become Tensors,
    everything else (numbers included) is left as it is."""
    return to_tensors(data)
