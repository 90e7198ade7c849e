"""Save and load state dicts and checkpoints: `.npz` always, `.safetensors` when installed.

    tg.save(model.state_dict(), "lenet5.npz")
    model.load_state_dict(tg.load("lenet5.npz"))

A flat {name: array} state dict is stored as is (`np.load("lenet5.npz")["features.0.weight"]`
works without tinygradcnn). Nested structures (a checkpoint holding the model, the optimizer,
the random state and the epoch) are flattened: arrays go in under "/"-joined paths and
everything else (numbers, strings, lists) goes into one JSON document stored beside them,
so nothing is ever pickled. What was saved comes back: arrays as arrays, Tensors as Tensors
(on their device, or where `map_location` says), tuples as tuples, int keys as ints, so a
PyTorch checkpoint dict (`{"epoch": 3, "model": sd, "optimizer": osd, "loss": 0.25}`)
round-trips through `tg.save`/`tg.load` as through `torch.save`/`torch.load`. Writes are
atomic: a temporary file in the same folder is written, flushed to disk and renamed over the
target, so a crash never leaves a torn file.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from .atomic import atomic_write_bytes
from .tensor import Tensor

_META_KEY = "__tinygradcnn__"


def _encode(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-able description of `obj`; its arrays are moved into `arrays` by path."""
    if isinstance(obj, Tensor):
        # a Tensor comes back a Tensor, on the device it was saved from (see map_location)
        arrays[path] = np.asarray(obj.numpy(), order="C")
        return {"__tensor__": path, "device": obj.device}
    if isinstance(obj, np.ndarray):
        arrays[path] = np.asarray(obj, order="C")  # not ascontiguousarray: 0-d stays 0-d
        return {"__array__": path}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(key, str) for key in obj):
            return {"__dict__": {key: _encode(value, f"{path}/{key}" if path else key, arrays)
                                 for key, value in obj.items()}}
        # int (an optimizer's parameter ids), float, bool, None or tuple keys
        return {"__items__": [[_encode(key, "", {}),
                               _encode(value, f"{path}/{key}" if path else str(key), arrays)]
                              for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(value, f"{path}/{index}", arrays) for index, value in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path!r} "
                    "(arrays, Tensors, numbers, strings, lists and dicts only)")


def _decode(obj: Any, arrays: dict[str, np.ndarray], place: Callable[[np.ndarray, str], Any]
            ) -> Any:
    if isinstance(obj, list):
        return [_decode(value, arrays, place) for value in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__tensor__" in obj:
            return place(arrays[obj["__tensor__"]], obj["device"])
        if "__dict__" in obj:
            return {key: _decode(value, arrays, place) for key, value in obj["__dict__"].items()}
        if "__items__" in obj:
            return {_decode(key, arrays, place): _decode(value, arrays, place)
                    for key, value in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(_decode(value, arrays, place) for value in obj["__tuple__"])
    return obj


def _placer(map_location: Any) -> Callable[[np.ndarray, str], Any]:
    """place(array, saved_device) -> the Tensor `load` returns, following `map_location` as
    PyTorch reads it: None (the saved device), a device ("cpu", `tg.device("cpu")`), a dict
    {saved device: new device}, or a function (array, saved device) -> an array (kept on
    the CPU), a Tensor, or a device."""
    def on(device: Any, array: np.ndarray) -> Tensor:
        return Tensor(array, device=str(device))

    if map_location is None:
        return lambda array, saved: on(saved, array)
    if isinstance(map_location, dict):
        mapping = {str(k): str(v) for k, v in map_location.items()}
        return lambda array, saved: on(mapping.get(saved, saved), array)
    if callable(map_location) and not isinstance(map_location, str):
        def place(array: np.ndarray, saved: str) -> Any:
            placed = map_location(array, saved)
            if isinstance(placed, Tensor):
                return placed
            if isinstance(placed, np.ndarray):
                return on("cpu", placed)
            return on(placed, array)
        return place
    return lambda array, saved: on(map_location, array)


def _flatten(obj: Any) -> tuple[dict[str, np.ndarray], str | None]:
    """(arrays, json metadata or None when obj is a plain {name: array} dict)."""
    arrays: dict[str, np.ndarray] = {}
    if isinstance(obj, dict) and obj and all(
        isinstance(key, str) and isinstance(value, np.ndarray) for key, value in obj.items()
    ):
        for key, value in obj.items():
            arrays[key] = np.asarray(value, order="C")
        return arrays, None
    structure = _encode(obj, "", arrays)
    return arrays, json.dumps(structure)


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Write a state dict, or a checkpoint as PyTorch users write one
    (`{"epoch": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict()}`: any
    nest of dicts, lists and tuples of arrays, Tensors, numbers, strings, bools and None), to
    the path `f` atomically, or to a binary file object. The format follows the extension:
    `.safetensors`, else `.npz` (also for `.pt`/`.pth` names: never a pickle)."""
    path: str | IO[bytes] = f if not isinstance(f, (str, os.PathLike)) else os.fspath(f)
    arrays, meta = _flatten(obj)
    if isinstance(path, str) and path.endswith(".safetensors"):
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
        # numpy's stub lets the arrays' **kwargs collide with savez's bool allow_pickle
        np.savez(buffer, **entries)  # type: ignore[arg-type]
        payload = buffer.getvalue()
    atomic_write_bytes(path, payload)


def _read_safetensors(path: str) -> tuple[dict[str, np.ndarray], str | None]:
    try:
        from safetensors import safe_open
    except ImportError as err:
        raise ImportError("load: .safetensors needs the safetensors package: "
                          "pip install 'tinygradcnn[safetensors]'") from err
    with safe_open(path, framework="numpy") as f:
        arrays = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
        meta = (f.metadata() or {}).get(_META_KEY)
    return arrays, meta


def _read_npz(path: str) -> tuple[dict[str, np.ndarray], str | None]:
    if not zipfile.is_zipfile(path):
        raise ValueError("not a zip archive (every .npz file is one)")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = arrays.pop(_META_KEY, None)
    return arrays, (str(meta) if meta is not None else None)


def _read_errors() -> tuple[type[BaseException], ...]:
    """What the readers raise on a truncated or corrupt file (not on a missing one)."""
    errors: tuple[type[BaseException], ...] = (
        zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, TypeError, OSError)
    try:
        from safetensors import SafetensorError
    except ImportError:
        return errors
    return (*errors, SafetensorError)


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None,
         weights_only: bool | None = None) -> Any:
    """Read what `save` wrote: the saved structure, with NumPy arrays where arrays were
    saved (a `state_dict()` holds arrays) and Tensors where Tensors were.

    `map_location` places those Tensors, as in PyTorch: None (where they were saved from),
    a device, a {saved: new} dict, or a function (see `_placer`). `weights_only` is accepted
    for PyTorch's signature: the format holds only arrays, numbers, strings and containers,
    and is never unpickled, so loading is always as safe as PyTorch's weights_only=True.

    A file that cannot be read as what its extension says (truncated, corrupt, not written
    by `save`/`np.savez`/safetensors) raises a ValueError naming the file and the problem;
    a missing file raises FileNotFoundError."""
    place = _placer(map_location)
    if not isinstance(f, (str, os.PathLike)):  # a file object: read as .npz
        payload = f.read()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "buffer.npz")
            with open(path, "wb") as out:
                out.write(payload)
            return load(path, map_location, weights_only)
    path = os.fspath(f)
    kind = ".safetensors" if path.endswith(".safetensors") else ".npz"
    with open(path, "rb"):  # a missing or unreadable file keeps its own, clear, error
        pass
    try:
        arrays, meta = _read_safetensors(path) if kind == ".safetensors" else _read_npz(path)
        return arrays if meta is None else _decode(json.loads(meta), arrays, place)
    except ImportError:
        raise
    except _read_errors() as err:
        size = os.path.getsize(path)
        problem = str(err) if type(err) is ValueError else f"{type(err).__name__}: {err}"
        raise ValueError(f"load: {path} ({size:,} bytes) is not a readable {kind} file: "
                         f"{problem} (truncated by an interrupted copy or download, or not "
                         "written by tg.save?)") from err
