"""Reader for the IDX format of the original MNIST and Fashion-MNIST files.

An IDX file is a tiny header followed by one C-ordered array:

    bytes 0-1   zero
    byte  2     element type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64), all multi-byte values big-endian
    byte  3     number of dimensions d
    then        d big-endian uint32 sizes, then the data

`t10k-images-idx3-ubyte` is (10000, 28, 28) uint8; `t10k-labels-idx1-ubyte` is (10000,).
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of one (uncompressed) IDX file into an array of native byte order.

    Raises ValueError naming `name` when the header is malformed or the payload has the
    wrong length, so a truncated file is refused instead of silently reshaped.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{name}: not an IDX file (bad magic bytes {raw[:4]!r})")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX element type 0x{type_code:02X}")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{name}: IDX header truncated ({len(raw)} bytes, need {header_size})")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header_size
    if payload != expected:
        raise ValueError(
            f"{name}: IDX payload is {payload} bytes, header shape {shape} of {dtype.name} "
            f"needs {expected}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed (`.gz`) or plain, into a NumPy array."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    return parse_idx(raw, name=os.path.basename(path))
