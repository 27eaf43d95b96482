"""The learning-curves tab offers the FLOPs axis: each model's training FLOPs beside its seconds, the machine
the seconds were measured on named, and a model from before compute was counted still drawn (not on that axis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest

import toolkit
from toolkit.data.corpora import Corpus

TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


def _model(folder: Path, flops: bool) -> Path:
    """A tiny model whose manifest holds a three-point curve, with FLOPs and the machine, or (an old one) without."""
    toolkit.train("bigram", Corpus("tiny", TEXT), out=folder, smoothing=0.1)
    manifest = json.loads((folder / "textgen.json").read_text())
    curve = [{"seconds": s, "tokens": 100 * s, "chars": 100 * s, "val_bpc_estimate": 4.0 - s / 10} for s in (1, 5, 9)]
    if flops:
        for point in curve:
            point["flops"] = point["seconds"] * 1e9
        manifest["training"]["compute"] = {"kind": "training", "flops": 9e9, "machine": {"cpu": "Test CPU 9000",
                                                                                         "threads": 2}}
    else:  # a record from before compute was counted
        manifest["training"].pop("compute", None)
    manifest["training"]["curve"] = curve
    (folder / "textgen.json").write_text(json.dumps(manifest))
    return folder


def _tab(sources: dict[str, str]) -> None:
    from dashboard.curves import curves_tab

    curves_tab(sources)


def test_the_curves_tab_shows_training_flops_and_names_the_machine(tmp_path: Path):
    new, old = _model(tmp_path / "new", flops=True), _model(tmp_path / "old", flops=False)
    app = AppTest.from_function(_tab, kwargs={"sources": {str(new): "new", str(old): "old"}}, default_timeout=60).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["model"]) == ["new", "old"]
    assert list(table["training FLOPs"]) == ["9.0e9", "-"]  # the old record is drawn, just not on the FLOPs axis
    shown = " ".join(c.value for c in app.caption)
    assert "Training FLOPs are the same on any machine; the seconds were measured on Test CPU 9000, 2 threads" in shown
