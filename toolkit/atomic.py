"""Atomic writes: a reader sees the old file or the new one, never half of either.

Work in progress lives beside its target as ``.NAME.PID.*.tmp``; a writer killed midway
(SIGKILL, power loss) leaves that behind, and the next write to ``NAME`` removes it once
process PID is gone, putting back a model that was moved aside but not yet replaced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _read_umask()


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_debris(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes files owner-only; give them the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


#: Our temporary names, ``.NAME.PID.XXXXXXXX.tmp`` (mkstemp's random part, or ``old``, has no dots).
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]+\.tmp")


def _writer(entry: str, name: str) -> int | None:
    """The PID in ``.NAME.PID.XXXXXXXX.tmp`` (our temporary names of ``name``), or None for any other name."""
    found = _TEMPORARY.fullmatch(entry)
    return int(found["pid"]) if found and found["name"] == name else None


def clean_debris(path: str | Path) -> None:
    """Remove what killed writers of ``path`` left beside it; restore a model moved aside."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    for entry in path.parent.iterdir():
        pid = _writer(entry.name, path.name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue  # not debris of ``path``, or still being written
        if entry.name.endswith(".old.tmp") and not path.exists():
            os.replace(entry, path)  # killed between moving the old model aside and renaming the new one in
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@contextmanager
def directory(path: str | Path) -> Iterator[Path]:
    """Build a directory under a temporary name; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_debris(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"))
    tmp.chmod(0o777 & ~_UMASK)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with _signals_held():
        _swap_in(tmp, path)


def _swap_in(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` over ``path``; if that fails midway, the old ``path`` is put back."""
    old = path.with_name(f".{path.name}.{os.getpid()}.old.tmp")
    shutil.rmtree(old, ignore_errors=True)
    try:
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        if old.exists() and not path.exists():  # asked of the disk: the rename may be done yet not returned
            os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the renames are done: a swap cut in half leaves debris.

    A signal that arrives meanwhile is raised again, to the handler that was there, when the
    block ends. Only the main thread may set handlers; elsewhere `_swap_in` undoes a cut swap.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.signal(number, lambda got, _frame: caught.append(got))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        for number in caught[:1]:
            signal.raise_signal(number)


def is_temporary(name: str) -> bool:
    """Whether ``name`` is one of our work-in-progress names (``.NAME.PID.XXXXXXXX.tmp``)."""
    return _TEMPORARY.fullmatch(name) is not None
