"""The dashboard tests' models: tiny bigram models in a temporary models folder, beside a broken one."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from apptest import APP, PROMPT, TEXT
from streamlit.testing.v1 import AppTest

import toolkit
from toolkit.cli.dashboard import MODELS_ENV


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    corpus = folder.parent / "citizens.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    toolkit.train("bigram", str(corpus), out=folder / "sharp", seed=0, smoothing=0.01)
    toolkit.train("bigram", str(corpus), out=folder / "smooth", seed=0, smoothing=2.0)
    (folder / "broken").mkdir()
    (folder / "broken" / "textgen.json").write_text("{not json", encoding="utf-8")
    (folder / "notes").mkdir()  # no manifest: counted in the sidebar, never a model
    return folder


@pytest.fixture
def app(models, monkeypatch) -> AppTest:
    monkeypatch.setenv(MODELS_ENV, str(models))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_area(key="prompt").set_value(PROMPT).run()
    assert not at.exception
    return at
