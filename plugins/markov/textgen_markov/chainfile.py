"""The chain's array file: safetensors, written and memory-mapped here with numpy alone.

safetensors is an 8-byte little-endian header length, a JSON header naming each
array's dtype, shape and byte range, then the raw bytes. Reading it through `mmap`
hands out arrays that view the file, so opening a model reads a few headers and the
pages the first lookups touch, not every state. The file stays readable by the
``safetensors`` package (``safetensors.numpy.load_file``) and anything built on it.
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

import numpy as np

_DTYPES = {"U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64, "I64": np.int64,
           "F64": np.float64}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def write(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write ``arrays`` (each 1-D, one of the dtypes above) as a safetensors file."""
    header: dict[str, object] = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, array in arrays.items():
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # keep the data 8-byte aligned, as safetensors does
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(encoded)) + encoded)
        for array in arrays.values():
            out.write(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays viewing the memory-mapped file (read-only), and its metadata; ValueError if malformed."""
    with path.open("rb") as file:
        size = path.stat().st_size
        if size < 8:
            raise ValueError(f"{path.name} is too short to be a safetensors file")
        view = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    (length,) = struct.unpack("<Q", view[:8])
    try:
        header = json.loads(view[8 : 8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} has no readable safetensors header ({exc})") from None
    metadata = header.pop("__metadata__", None) or {}
    start, arrays = 8 + length, {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        count = (end - begin) // dtype.itemsize
        if start + end > size or count != int(np.prod(entry["shape"])):
            raise ValueError(f"{path.name}: array {name!r} lies outside the file (damaged?)")
        arrays[name] = np.frombuffer(view, dtype=dtype, count=count, offset=start + begin).reshape(entry["shape"])
    return arrays, metadata
