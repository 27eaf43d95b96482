"""Checking every model source before any work starts.

A compare run can take minutes per model, so a typo in the last folder must be found
before the first model is measured (``--out`` is checked by `toolkit.outpaths`).
"""

from __future__ import annotations

from pathlib import Path

from .. import registry
from ..api import read_manifest
from ..errors import ModelDirError, PluginError
from ..generator import MANIFEST


def check_source(source: str) -> None:
    """Raise `ModelDirError` naming ``source`` unless it looks loadable (a manifest, a recognised folder,
    or ``PLUGIN:SOURCE`` of an installed plugin)."""
    path = Path(source).expanduser()
    if path.is_dir() and (path / MANIFEST).exists():
        manifest = read_manifest(path)
        plugin = manifest["plugin"]
        try:
            registry.get(plugin, manifest.get("distribution"))  # as `toolkit.load` picks it
        except PluginError as exc:
            raise ModelDirError(f"{path} needs plugin {plugin!r}: {exc}") from None
        return
    if path.is_dir():
        if any(_recognizes(name, path) for name in registry.plugins()):
            return
        raise ModelDirError(f"{path} is not a textgen model directory (no {MANIFEST}) "
                            "and no installed plugin recognises it")
    prefix, colon, _ = str(source).partition(":")
    if not (colon and prefix in registry.plugins()):
        raise ModelDirError(f"no model directory {str(source)!r}; pass a directory written by `textgen train`, "
                            "or PLUGIN:SOURCE for a pretrained source")


def _recognizes(plugin: str, path: Path) -> bool:
    try:
        return registry.get(plugin).recognizes(path)
    except PluginError:
        return False
