"""Checks on an output folder, made before any work is spent: never destroy what is not ours.

A writer (``textgen train --out``, ``compare --out``, `toolkit.train`, `Generator.save`)
replaces its folder as a whole, so what is already there must be ours to replace: an
empty folder, one of our own models or reports (with ``overwrite``), or the
``train-state`` of an interrupted run that training resumes. Our own temporary names
(`toolkit.atomic`), left by a writer that was killed, do not count. A regular file, a folder
of the user's own files, or the current directory is refused with the path named, and
an unwritable place is found at once rather than after the training budget is spent.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import atomic
from .errors import TextgenError
from .modeldir import MANIFEST, TRAIN_STATE, peek

REPORT_MARKER = "report.json"


class OutPathError(TextgenError, ValueError):
    """An output path that would destroy something, or cannot be written."""


@dataclass(frozen=True)
class _Kind:
    what: str  #: "model" or "report", for messages
    marker: str  #: the file that marks a folder as one of ours
    resumable: frozenset[str] = frozenset()  #: entries an unfinished run may leave without the marker
    guarded: bool = True  #: replacing one of ours needs ``overwrite`` (a model: hours of training)


MODEL = _Kind("model", MANIFEST, frozenset({TRAIN_STATE}))
REPORT = _Kind("report", REPORT_MARKER, guarded=False)  # a report is rebuilt, reusing what it can


def check_model_out(path: str | Path, *, overwrite: bool = False, flag: str = "--out") -> Path:
    """Refuse a ``path`` a model directory may not replace; see the module docstring."""
    return _check(path, MODEL, overwrite, flag)


def check_report_out(path: str | Path, *, flag: str = "--out") -> Path:
    """Refuse a ``path`` a compare report may not be written into; an earlier report is replaced."""
    return _check(path, REPORT, False, flag)


def _check(path: str | Path, kind: _Kind, overwrite: bool, flag: str) -> Path:
    text = str(path)
    if not text.strip():
        raise OutPathError(f"{flag} is empty; name a new folder, e.g. {flag} models/my-{kind.what}")
    path = Path(text).expanduser()
    resolved = path.resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise OutPathError(f"{flag} {text!r} is the current directory{'' if resolved == here else ' or holds it'}; "
                           f"textgen replaces its {flag} folder as a whole, so name a new folder inside it")
    if path.exists() and not path.is_dir():
        raise OutPathError(f"{flag} {text!r} is an existing file, not a textgen {kind.what} folder; "
                           "textgen will not replace it; name a new folder")
    if path.is_dir():
        _check_existing(path, text, kind, overwrite, flag)
    _check_writable(path, text, flag)
    return path


def _check_existing(path: Path, text: str, kind: _Kind, overwrite: bool, flag: str) -> None:
    names = sorted(entry.name for entry in path.iterdir() if not atomic.is_temporary(entry.name))
    if not names or set(names) <= kind.resumable:
        return
    owner = _owner(path, kind)
    if owner is None:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise OutPathError(f"{flag} {text!r} is a folder that is not a textgen {kind.what} folder (it holds {shown}); "
                           "textgen will not replace it; name a new or empty folder")
    if kind.guarded and not overwrite:
        raise OutPathError(f"{flag} {text!r} already holds {owner}; pass --overwrite to replace it, "
                           f"or name another folder")


def _owner(path: Path, kind: _Kind) -> str | None:
    """What of ours the folder holds ("a 'markov' model", "a compare report"), or None if not ours."""
    marker = path / kind.marker
    if not marker.is_file():
        return None
    if kind is REPORT:
        return "a compare report"
    manifest = peek(path)
    return None if manifest is None else f"a {manifest.get('plugin', '?')!r} model"


def _check_writable(path: Path, text: str, flag: str) -> None:
    """Create and remove a scratch folder where the writer will: inside ``path`` and beside it."""
    places = [path] if path.is_dir() else []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    places.append(parent)
    for place in places:
        try:
            os.rmdir(tempfile.mkdtemp(dir=place, prefix=".textgen-write-check."))
        except OSError as exc:
            raise OutPathError(f"cannot write {flag} {text!r}: {place} is not writable "
                               f"({exc.strerror or exc})") from None
