"""Checking every model source and the report folder before any work starts.

A compare run can take minutes per model, so a typo in the last folder, or an ``--out``
that would land on the user's own files, must be found before the first model is measured.
"""

from __future__ import annotations

from pathlib import Path

from .. import registry
from ..api import read_manifest
from ..errors import ModelDirError, PluginError
from ..generator import MANIFEST

#: Files a compare report folder holds; a folder with anything else is not ours to write into.
REPORT_FILES = ("report.json", "report.md")


def check_source(source: str) -> None:
    """Raise `ModelDirError` naming ``source`` unless it looks loadable (a manifest, a recognised folder,
    or ``PLUGIN:SOURCE`` of an installed plugin)."""
    path = Path(source).expanduser()
    if path.is_dir() and (path / MANIFEST).exists():
        plugin = read_manifest(path)["plugin"]
        try:
            registry.get(plugin)
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


def check_out(out: Path) -> None:
    """Refuse an ``out`` that is a regular file, or a non-empty folder that is not a compare report."""
    if out.is_file() or (out.exists() and not out.is_dir()):
        raise ModelDirError(f"--out {out} is an existing file, not a report folder; nothing was written")
    if out.is_dir() and any(out.iterdir()) and not any((out / name).is_file() for name in REPORT_FILES):
        raise ModelDirError(f"--out {out} is a non-empty folder that holds no compare report "
                            f"({', '.join(REPORT_FILES)}); choose an empty or new folder")
