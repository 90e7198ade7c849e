"""Save and load state dicts and checkpoints: `.npz` always, `.safetensors` when installed.

    tg.save(model.state_dict(), "lenet5.npz")
    model.load_state_dict(tg.load("lenet5.npz"))

A flat {name: array} state dict is stored as is (`np.load("lenet5.npz")["features.0.weight"]`
works without tinygradcnn). Nested structures (a checkpoint holding the model, the optimizer,
the random state and the epoch) are flattened: arrays go in under "/"-joined paths and
everything else (numbers, strings, lists) goes into one JSON document stored beside them,
so nothing is ever pickled. Writes are atomic: a temporary file in the same folder is
written, flushed to disk and renamed over the target, so a crash never leaves a torn file.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from typing import Any

import numpy as np

from .tensor import Tensor

_META_KEY = "__tinygradcnn__"


def _encode(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-able description of `obj`; its arrays are moved into `arrays` by path."""
    if isinstance(obj, Tensor):
        obj = obj.numpy()
    if isinstance(obj, np.ndarray):
        arrays[path] = np.asarray(obj, order="C")  # not ascontiguousarray: 0-d stays 0-d
        return {"__array__": path}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(key, str) for key in obj):
            return {"__dict__": {key: _encode(value, f"{path}/{key}" if path else key, arrays)
                                 for key, value in obj.items()}}
        return {"__items__": [[key, _encode(value, f"{path}/{key}" if path else str(key),
                                            arrays)] for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(value, f"{path}/{index}", arrays) for index, value in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path!r} "
                    "(arrays, Tensors, numbers, strings, lists and dicts only)")


def _decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, list):
        return [_decode(value, arrays) for value in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__dict__" in obj:
            return {key: _decode(value, arrays) for key, value in obj["__dict__"].items()}
        if "__items__" in obj:
            return {key: _decode(value, arrays) for key, value in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(_decode(value, arrays) for value in obj["__tuple__"])
    return obj


def _flatten(obj: Any) -> tuple[dict[str, np.ndarray], str | None]:
    """(arrays, json metadata or None when obj is a plain {name: array} dict)."""
    arrays: dict[str, np.ndarray] = {}
    if isinstance(obj, dict) and obj and all(
        isinstance(key, str) and isinstance(value, (np.ndarray, Tensor))
        for key, value in obj.items()
    ):
        for key, value in obj.items():
            arrays[key] = np.asarray(value.numpy() if isinstance(value, Tensor) else value,
                                     order="C")
        return arrays, None
    structure = _encode(obj, "", arrays)
    return arrays, json.dumps(structure)


def _atomic_write(path: str, payload: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp",
                                    dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a state dict (or any nest of dicts/lists of arrays, Tensors and numbers) to
    `path`, atomically; the format follows the extension: `.safetensors`, else `.npz`."""
    path = os.fspath(path)
    arrays, meta = _flatten(obj)
    if path.endswith(".safetensors"):
        # safetensors sorts its keys: keep the structure (and so the order) in the metadata
        meta = meta if meta is not None else json.dumps(_encode(obj, "", {}))
        try:
            from safetensors.numpy import save as save_safetensors
        except ImportError as err:
            raise ImportError("save: .safetensors needs the safetensors package: "
                              "pip install 'tinygradcnn[safetensors]'") from err
        metadata = {_META_KEY: meta} if meta is not None else None
        payload = save_safetensors(arrays, metadata=metadata)
    else:
        buffer = io.BytesIO()
        entries = dict(arrays)
        if meta is not None:
            entries[_META_KEY] = np.array(meta)
        np.savez(buffer, **entries)  # type: ignore[arg-type]
        payload = buffer.getvalue()
    _atomic_write(path, payload)


def load(path: str | os.PathLike) -> Any:
    """Read what `save` wrote: a {name: NumPy array} dict, or the saved nested structure."""
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        try:
            from safetensors import safe_open
        except ImportError as err:
            raise ImportError("load: .safetensors needs the safetensors package: "
                              "pip install 'tinygradcnn[safetensors]'") from err
        with safe_open(path, framework="numpy") as f:
            arrays = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
            meta = (f.metadata() or {}).get(_META_KEY)
    else:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = arrays.pop(_META_KEY, None)
        meta = str(meta) if meta is not None else None
    if meta is None:
        return arrays
    return _decode(json.loads(meta), arrays)
