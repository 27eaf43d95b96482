"""The model directory: what `Generator.save` writes, `toolkit.load` reads, and compare, the dashboard
and ``--out`` look at.

A model directory is a folder of the plugin's own files plus ``textgen.json``, the manifest
naming the plugin. The manifest is written last into the folder `Generator.save` fills (the
folder appears whole, see `toolkit.atomic`), and read before anything is loaded. Which plugin
loads a source (a model directory, a folder a plugin recognises, ``PLUGIN:SOURCE``) is
`toolkit.api.resolve`'s question, since it asks the registry; nothing here needs a plugin.

The plugin's distribution and version a manifest records come from the class itself: the
registry stamps them on each plugin class it loads (`stamp`), so saving needs no registry.
A class the registry never loaded (a subclass defined in a test or a script, a plugin class
imported directly and never looked up by name) records "unregistered"; `toolkit.load` then
takes the one installed plugin of its name.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from . import atomic
from .errors import ModelDirError

#: File that marks a directory as a textgen model and names its plugin.
MANIFEST = "textgen.json"
MANIFEST_FORMAT = "textgen-model"
MANIFEST_VERSION = 1
#: Where a neural plugin keeps its resumable checkpoint inside a model directory.
TRAIN_STATE = "train-state"
#: What a manifest records for a class the registry did not load (a subclass, a class defined in a test).
UNREGISTERED = ("unregistered", "unknown")

_STAMP = "_textgen_origin"


def stamp(cls: type, distribution: str, version: str) -> None:
    """Record on a plugin class the distribution that registers it, for the manifests it saves."""
    setattr(cls, _STAMP, (distribution, version))


def origin(cls: type) -> tuple[str, str]:
    """(distribution, version) stamped on ``cls`` itself; a subclass does not inherit its base's."""
    return vars(cls).get(_STAMP, UNREGISTERED)


def is_model_dir(path: Path) -> bool:
    """Whether ``path`` is a folder holding a manifest (readable or not: `read_manifest` says)."""
    return path.is_dir() and (path / MANIFEST).exists()


def write_manifest(folder: Path, plugin: str, cls: type, training: dict[str, Any], extra: dict[str, Any]) -> None:
    """Write the manifest of a ``plugin`` model of class ``cls`` into ``folder`` (``extra``: what `save_files` gave)."""
    from . import __version__

    distribution, version = origin(cls)
    atomic.write_json(folder / MANIFEST, {
        "format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
        "plugin": plugin, "distribution": distribution, "plugin_version": version,
        "toolkit_version": __version__, "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "training": training, **extra,
    })


def _json(path: Path) -> Any:
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def peek(path: Path) -> dict[str, Any] | None:
    """The manifest in ``path`` if it parses and says it is a textgen model's, else None; nothing more is checked.

    Enough to tell that a folder is ours (`toolkit.outpaths`), even one of a newer format.
    """
    try:
        manifest = _json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a model directory, or a clear error saying why it is not one."""
    try:
        manifest = _json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{path}: corrupt {MANIFEST} ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or "plugin" not in manifest:
        raise ModelDirError(f"{path}: {MANIFEST} is not a textgen model manifest")
    version = manifest.get("format_version", 1)  # the first manifests did not write it
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelDirError(f"{path}: corrupt {MANIFEST} (format_version {version!r} is not a whole number >= 1)")
    if version > MANIFEST_VERSION:
        raise ModelDirError(
            f"{path} uses model format version {version}, newer than this toolkit understands "
            f"(up to {MANIFEST_VERSION}); it was written by textgen-toolkit {manifest.get('toolkit_version', '?')}. "
            "Upgrade: pip install --upgrade textgen-toolkit (and the plugin)")
    return manifest


# -- model directories in a folder, checked without loading them ---------------------------------


def find(folder: Path) -> list[Path]:
    """Model directories at or under ``folder``, in name order, skipping hidden and half-written ones."""
    if not folder.is_dir():
        return []
    found = (manifest.parent for manifest in sorted(folder.rglob(MANIFEST)))
    return [path for path in found if not any(part.startswith(".") for part in path.relative_to(folder).parts)]


def without_manifest(folder: Path) -> list[str]:
    """Folders directly in ``folder`` with no model manifest at or under them (not models)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and next(p.rglob(MANIFEST), None) is None)


def inspect(path: Path, installed: Collection[str]) -> tuple[str | None, str | None]:
    """(plugin, why it cannot be loaded) for a model directory, as far as is possible without loading it.

    Checks a readable manifest, a plugin among the ``installed`` names, and whole safetensors
    files. The plugin is None when the manifest is unreadable.
    """
    try:
        plugin = read_manifest(path)["plugin"]
    except ModelDirError as exc:
        return None, str(exc)
    if plugin not in installed:
        return plugin, f"plugin {plugin!r} is not installed"
    return plugin, broken_tensors(path)


def broken_tensors(path: Path) -> str | None:
    """Why a safetensors file in ``path`` is unreadable (bad header, truncated), or None.

    Reads 8 bytes and the JSON header of each file: every built-in family stores its
    weights or chain this way, and a truncated or overwritten file is the common breakage.
    """
    for file in sorted(path.glob("*.safetensors")):
        size = file.stat().st_size
        needed = _tensor_bytes(file, size)
        if needed is None:
            return f"{file.name} is not a safetensors file (unreadable header)"
        if needed > size:
            return f"{file.name} is truncated ({size:,} bytes; its header describes {needed:,})"
    return None


def _tensor_bytes(file: Path, size: int) -> int | None:
    """The file length a safetensors header describes, or None if the header is unreadable."""
    try:
        with file.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length)) if length <= size else None
    except (OSError, struct.error, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    offsets = [v.get("data_offsets") for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    if not all(isinstance(o, list) and len(o) == 2 and isinstance(o[1], int) for o in offsets):
        return None
    return 8 + length + max((o[1] for o in offsets), default=0)


def fingerprint(source: str) -> str | None:
    """What changes when a model folder changes: its manifest's checksum (a new one on every save),
    or for a folder without one (a Hugging Face checkpoint) its files' names, sizes and times; else None."""
    path = Path(source)
    try:
        if (path / MANIFEST).is_file():
            return hashlib.sha256((path / MANIFEST).read_bytes()).hexdigest()
        if path.is_dir():
            files = sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                           for p in path.rglob("*") if p.is_file())
            return hashlib.sha256(json.dumps(files).encode()).hexdigest()
    except OSError:
        pass
    return None
