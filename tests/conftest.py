"""Shared fixtures: a tiny trained bigram model, the corpora folder, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import toolkit
from toolkit.data.corpora import Corpus

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The canary plugin's own tests run in a process of their own, with warnings as errors (tests/test_canary.py).
collect_ignore = ["canary"]
TINY_TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The shared corpora folder; tests that read a named corpus skip without it."""
    folder = Path(os.environ.get("TEXTGEN_CORPORA", str(ROOT.parent / "shared" / "corpora")))
    if not (folder / "sherlock.txt").is_file():
        pytest.skip("TEXTGEN_CORPORA does not hold the shared corpora")
    return folder


@pytest.fixture(scope="session")
def bigram_model(tmp_path_factory: pytest.TempPathFactory) -> toolkit.Generator:
    return toolkit.train("bigram", Corpus("tiny", TINY_TEXT), smoothing=0.1)


@pytest.fixture(scope="session")
def bigram_dir(bigram_model: toolkit.Generator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bigram_model.save(tmp_path_factory.mktemp("bigram") / "model")


@pytest.fixture()
def run_python() -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -c code`` in a fresh process; ``env`` entries are added to os.environ."""

    def run(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, **(env or {})}, check=False)

    return run
