"""The fixture plugin distributions under tests/fixtures, on the path of this process or of a ``textgen`` run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolkit import registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TEXTGEN = Path(sys.executable).with_name("textgen")


def run_textgen(*args: str, folder: Path | None, **env: str) -> subprocess.CompletedProcess:
    """The installed ``textgen``, with the distributions in ``folder`` (None: none) on its path."""
    path = os.pathsep.join(p for p in [str(folder) if folder else "", os.environ.get("PYTHONPATH", "")] if p)
    return subprocess.run([str(TEXTGEN), *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": path, **env})


def on_path(monkeypatch: pytest.MonkeyPatch, folder: Path, package: str) -> Iterator[None]:
    """A fixture's body: ``folder`` on sys.path, the registry cache cleared around it, ``package`` forgotten after."""
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("TEXTGEN_PLUGINS", raising=False)
    registry._claims.cache_clear()
    yield
    registry._claims.cache_clear()
    for module in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[module]
