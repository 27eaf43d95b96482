"""Tiny models trained here (a character chain, a character LSTM, a plugin with a bug) and `textgen serve` on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("openai")

from served import FIXTURES, LSTM, MAX_PROMPT_CHARS, TEXT, run_textgen
from served_process import Running, started

import toolkit
from toolkit.data.corpora import Corpus


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``corpus.txt``, ``markov-char``, ``lstm-char`` and ``buggy`` (whose decode fails) in one folder."""
    folder = tmp_path_factory.mktemp("served")
    (folder / "corpus.txt").write_text(TEXT, encoding="utf-8")
    corpus = Corpus("corpus", TEXT)
    toolkit.train("markov", corpus, level="char", state_size=3, out=folder / "markov-char")
    pytest.importorskip("torch")
    toolkit.train("lstm", corpus, out=folder / "lstm-char", **LSTM)
    out = run_textgen("train", "buggy-fixture", "--corpus", str(folder / "corpus.txt"), "--out", str(folder / "buggy"),
                      env={"PYTHONPATH": str(FIXTURES / "impostor_plugins")})
    assert out.returncode == 0, out.stderr
    return folder


@pytest.fixture(scope="session")
def server(served_dir: Path) -> Iterator[Running]:
    """One server for the session: the three models, a small prompt limit; SIGTERM at the end."""
    models = [str(served_dir / name) for name in ("markov-char", "lstm-char", "buggy")]
    with started([*models, "--max-prompt-chars", str(MAX_PROMPT_CHARS)],
                 env={"PYTHONPATH": str(FIXTURES / "impostor_plugins")}) as running:
        yield running


@pytest.fixture(scope="session")
def client(server: Running):
    import openai

    return openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=120)
