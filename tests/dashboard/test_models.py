"""dashboard/models.py: finding model folders, what is preselected, and broken weights named before loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")


import toolkit
from dashboard.models import Found, find_models, preselect
from toolkit.modeldir import broken_tensors, without_manifest


def test_only_loadable_models_are_preselected_one_of_each_family_first(tmp_path):
    found = [Found(tmp_path / n, n, plugin, error) for n, plugin, error in [
        ("a-broken", "lstm", "truncated"), ("b-lstm", "lstm", None), ("c-lstm", "lstm", None),
        ("d-markov", "markov", None), ("e-gpt2", "gpt2", None), ("f-markov", "markov", None)]]
    assert [Path(p).name for p in preselect(found, 4)] == ["b-lstm", "d-markov", "e-gpt2", "c-lstm"]
    assert [Path(p).name for p in preselect(found, 2)] == ["b-lstm", "d-markov"]


def test_truncated_or_garbled_weights_are_named_before_loading(models, tmp_path):
    model = toolkit.load(models / "sharp")
    for name in ("whole", "cut", "garbage"):
        model.save(tmp_path / name)
        (tmp_path / name / "weights.safetensors").write_bytes(b"")
    from textgen_markov.chainfile import write

    write(tmp_path / "whole" / "weights.safetensors", {"a": np.arange(100, dtype=np.int64)})
    whole = (tmp_path / "whole" / "weights.safetensors").read_bytes()
    (tmp_path / "cut" / "weights.safetensors").write_bytes(whole[:-8])
    (tmp_path / "garbage" / "weights.safetensors").write_bytes(b"\xff" * 64)
    assert broken_tensors(tmp_path / "whole") is None
    assert "truncated" in broken_tensors(tmp_path / "cut")
    assert "not a safetensors file" in broken_tensors(tmp_path / "garbage")
    reasons = {f.path.name: f.error for f in find_models(tmp_path)}
    assert reasons["whole"] is None and "truncated" in reasons["cut"]
    (tmp_path / "empty").mkdir()
    assert without_manifest(tmp_path) == ["empty"]


def test_find_models_skips_hidden_and_reports_unreadable(models, tmp_path):
    (tmp_path / "nested" / "m").mkdir(parents=True)
    (tmp_path / ".tmp-half").mkdir()
    (tmp_path / ".tmp-half" / "textgen.json").write_text("{}")
    toolkit.load(models / "sharp").save(tmp_path / "nested" / "m")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "textgen.json").write_text('{"format": "other"}')
    found = find_models(tmp_path)
    assert [(f.path.name, f.plugin) for f in found] == [("bad", None), ("m", "bigram")]
    assert "not a textgen model manifest" in found[0].error and found[1].label == "nested/m · bigram"
    assert found[1].loadable and not found[0].loadable
    assert find_models(tmp_path / "missing") == []
