"""Writing files so that a crash never leaves a torn one: write a temporary file in the same
folder, flush it to disk, then rename it over the target (`os.replace` is atomic on POSIX
and Windows). Every file the package writes goes through here: weights and checkpoints,
results and histories as JSON, figures, reports, ONNX graphs (not the explain command's
streamed train.log).

    atomic_write_bytes("model.npz", payload)
    write_json("runs/x/results.json", {"test_accuracy": 0.99})
    save_figure(figure, "runs/x/curves.png", dpi=120)
"""

from __future__ import annotations

import functools
import io
import json
import os
import tempfile
from typing import IO, Any


def atomic_write_bytes(path: str | os.PathLike | IO[bytes], payload: bytes) -> None:
    """Write ``payload`` to ``path`` all or nothing (its folder is made if missing). A file
    object (as ``torch.save`` takes one) is simply written to."""
    if not isinstance(path, (str, os.PathLike)):
        path.write(payload)
        return
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp",
                                    dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):  # mkstemp's file is private (0600); open() honours umask
                os.fchmod(f.fileno(), 0o666 & ~_umask())
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


@functools.cache
def _umask() -> int:
    # read once: os.umask can only be read by setting it, which is not thread-safe to repeat
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """``atomic_write_bytes`` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> None:
    """``obj`` as a JSON document at ``path``, written all or nothing."""
    atomic_write_text(path, json.dumps(obj, indent=indent))


def save_figure(figure: Any, path: str | os.PathLike, dpi: int) -> None:
    """A matplotlib Figure saved to ``path`` (format from the extension), all or nothing."""
    buffer = io.BytesIO()
    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    figure.savefig(buffer, format=suffix, dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
