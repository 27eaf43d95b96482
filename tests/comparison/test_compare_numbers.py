"""Compare's numbers: reference lines, learning curves and crossovers, reused figures, robustness."""

from __future__ import annotations

import bz2
import json
import lzma
import math
import zlib
from pathlib import Path

import pytest

import toolkit
from toolkit import __version__
from toolkit.cli import main as cli
from toolkit.comparison import ModelResult, budget_sentence, crossovers, curve
from toolkit.comparison.reuse import split_of
from toolkit.data.corpora import Corpus, load_corpus
from toolkit.evaluation.references import compute, reference_lines, unigram_bpc

TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20
QUICK = {"samples": 1, "temperatures": [1.0], "max_tokens": 10}


def result(label: str, bpc: float, curve_points: list[tuple[float, float]] | None = None,
           train_seconds: float = 1.0) -> ModelResult:
    """A measured model with only what the curves read: its figure, training time and curve."""
    training: dict = {"train_seconds": train_seconds}
    if curve_points:
        training["curve"] = [{"seconds": s, "tokens": 10 * i, "chars": 10 * i + 10, "val_bpc_estimate": b}
                             for i, (s, b) in enumerate(curve_points)]
    return ModelResult(label=label, source=label, plugin="x", distribution="x", plugin_version="0", info={},
                       disk_bytes=None, training=training, bpc=bpc, scored_chars=1, scored_tokens=1, unknown=[],
                       temperatures=[], speed={}, memory={})


def test_reference_lines_charge_the_code_length_of_val_given_train(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch):
    corpus = Corpus("tiny", TEXT + "zebra!")
    train, val = corpus.train, corpus.val
    lines = {r.name: r.bpc for r in compute(train, val)}
    assert lines["uniform"] == pytest.approx(math.log2(len(set(train))))
    for name, compress in (("zlib -9", lambda d: zlib.compress(d, 9)), ("bz2 -9", lambda d: bz2.compress(d, 9)),
                           ("lzma -9e", lambda d: lzma.compress(d, preset=9 | lzma.PRESET_EXTREME))):
        both, alone = len(compress((train + val).encode())), len(compress(train.encode()))
        assert lines[name] == pytest.approx(8 * (both - alone) / len(val))
    assert lines["lzma -9e"] < lines["unigram"] < lines["uniform"] + 1  # a repetitive text compresses well
    # an unseen character costs more than a seen one, and both stay finite
    assert unigram_bpc("aab", "c") > unigram_bpc("aab", "b") > unigram_bpc("aab", "a") > 0
    monkeypatch.setenv("TEXTGEN_CACHE", str(tmp_path))
    named = Corpus("tiny", TEXT, sha256="ab" * 32)
    assert reference_lines(named) == compute(named.train, named.val)
    cached = next((tmp_path / "references").iterdir())
    data = json.loads(cached.read_text())
    data[0]["bpc"] = 99.0
    cached.write_text(json.dumps(data))
    assert reference_lines(named)[0].bpc == 99.0  # read back, not computed again


def test_curves_and_crossovers_in_words():
    chain = result("markov-char", 2.2, train_seconds=3.0)
    lstm = result("lstm-char", 2.0, [(1.0, 4.0), (10.0, 3.0), (100.0, 2.0)], train_seconds=100.0)
    gpt = result("gpt2-char", 2.6, [(1.0, 4.2), (70.0, 2.6)], train_seconds=70.0)
    assert curve(chain)[0].bpc == 2.2 and curve(chain)[0].seconds == 3.0 and len(curve(lstm)) == 3
    refs = [{"name": "lzma -9e", "bpc": 2.5, "how": ""}]
    found = crossovers([chain, lstm, gpt], refs)
    by = {(c["model"], c["target"]): c for c in found}
    # 2.2 lies 80% of the way from 3.0 to 2.0, interpolated in log time between 10 s and 100 s
    assert by["lstm-char", "markov-char"]["seconds"] == pytest.approx(10 ** 1.8)
    assert by["lstm-char", "markov-char"]["text"] == (
        "lstm-char passes markov-char (2.200 bits/char) after 63 s of training")
    assert by["gpt2-char", "markov-char"]["seconds"] is None
    assert by["gpt2-char", "markov-char"]["text"] == (
        "gpt2-char does not pass markov-char (2.200 bits/char) within its 70 s")
    assert by["lstm-char", "gpt2-char"]["seconds"] is not None and ("markov-char", "lstm-char") not in by
    sentence = budget_sentence([chain, lstm, gpt], found)
    assert by["lstm-char", "markov-char"]["text"] in sentence and by["gpt2-char", "markov-char"]["text"] in sentence
    assert "not a verdict on the families" in sentence
    assert "not a verdict" in budget_sentence([chain], [])


def _stamp(folder: Path, corpus: Corpus, **changes) -> None:
    """Record the reuse key in a manifest as training does (corpus checksum, split, toolkit version)."""
    manifest = json.loads((folder / "textgen.json").read_text())
    training = manifest["training"]
    training["corpus"] = {**training["corpus"], "sha256": corpus.sha256, "split": split_of(corpus)}
    training.update({"toolkit_version": __version__, **changes})
    (folder / "textgen.json").write_text(json.dumps(manifest))


def test_compare_reuses_a_recorded_val_bpc_only_when_the_key_matches(tmp_path: Path):
    path = tmp_path / "tiny.txt"
    path.write_text(TEXT)
    corpus = load_corpus(path)
    folder = tmp_path / "bigram"
    scored = toolkit.train("bigram", corpus, out=folder).training["val_bpc"]
    trained = toolkit.compare([folder], corpus, "the ", **QUICK).models[0]  # training recorded the key
    assert (trained.bpc, trained.bpc_source) == (scored, "recorded")
    _stamp(folder, corpus, val_bpc=1.25)  # a sentinel: reused, not scored again
    m = toolkit.compare([folder], corpus, "the ", **QUICK).models[0]
    assert (m.bpc, m.bpc_source, m.scored_chars) == (1.25, "recorded", len(corpus.val))
    assert "1.250 (recorded)" in toolkit.compare([folder], corpus, "the ", **QUICK).markdown()
    _stamp(folder, corpus, val_bpc=1.25, toolkit_version="0.0.0-other")
    assert toolkit.compare([folder], corpus, "the ", **QUICK).models[0].bpc == pytest.approx(scored)
    _stamp(folder, corpus, val_bpc=1.25)
    sliced = toolkit.compare([folder], corpus, "the ", max_score_chars=20, **QUICK)
    assert sliced.models[0].bpc_source == "scored" and sliced.models[0].scored_chars == 20
    assert "a slice: the first 20 validation characters" in sliced.markdown()
    assert "the whole validation split" in toolkit.compare([folder], corpus, "the ", **QUICK).markdown()


def test_a_second_run_into_the_same_report_reuses_unchanged_models(tmp_path: Path, bigram_model):
    corpus = Corpus("tiny", TEXT)
    a, b = bigram_model.save(tmp_path / "a"), bigram_model.save(tmp_path / "b")
    out = tmp_path / "report"
    first = toolkit.compare([a, b], corpus, "the ", out=out, **QUICK)
    assert all(m.reused_from is None for m in first.models)
    bigram_model.save(b)  # b is saved again: its manifest changed
    messages: list[str] = []
    second = toolkit.compare([a, b], corpus, "the ", out=out, progress=messages.append, **QUICK)
    assert [m.reused_from for m in second.models] == [str(out), None]
    assert second.models[0].temperatures[0].samples == first.models[0].temperatures[0].samples
    assert any("a: reusing its measurements" in msg for msg in messages)
    assert "reused from" in (out / "report.md").read_text()
    other = toolkit.compare([a], corpus, "the ", out=out, **{**QUICK, "seed": 9})
    assert other.models[0].reused_from is None  # another seed: measured again


def test_cli_checks_every_model_before_any_work(bigram_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(TEXT)
    out = tmp_path / "report"
    missing = tmp_path / "no-such-model"
    args = ["compare", str(bigram_dir), str(missing), "--corpus", str(corpus), "--prompt", "the ",
            "--samples", "1", "--temperatures", "1", "--max-tokens", "5", "--out", str(out)]
    assert cli(args) == 2
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("textgen: error:") and str(missing) in errors[0]
    assert "Traceback" not in captured.err and not out.exists()
    (tmp_path / "junk").mkdir()
    assert cli([*args[:2], str(tmp_path / "junk"), *args[3:]]) == 2
    assert "junk" in capsys.readouterr().err


def test_a_model_failing_mid_run_gets_an_error_row(bigram_model, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(TEXT)
    good, broken = bigram_model.save(tmp_path / "good"), bigram_model.save(tmp_path / "broken")
    for f in broken.iterdir():
        if f.name != "textgen.json":
            f.write_bytes(b"garbage")  # the manifest is fine, the weights are not: found only when loading
    out = tmp_path / "report"
    args = ["compare", str(broken), str(good), "--corpus", str(corpus), "--prompt", "the ", "--samples", "1",
            "--temperatures", "1", "--max-tokens", "5", "--out", str(out)]
    assert cli(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("textgen: error: 1 of 2 model(s)")
    report = json.loads((out / "report.json").read_text())
    assert [m["label"] for m in report["models"]] == ["good"]
    assert report["failed"][0]["label"] == "broken" and report["failed"][0]["error"]
    assert "| broken | error:" in (out / "report.md").read_text()
    assert (out / "compare-bpc.png").is_file()


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_compare_out_never_lands_on_the_users_files(kind: str, bigram_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]):
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("precious")
    else:
        target.mkdir()
        (target / "thesis.tex").write_text("precious")
    before = {p: p.read_bytes() for p in [target, *target.rglob("*")] if p.is_file()}
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(TEXT)
    assert cli(["compare", str(bigram_dir), "--corpus", str(corpus), "--prompt", "x", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and str(target) in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in [target, *target.rglob("*")] if p.is_file()} == before


def test_samples_have_a_length_in_characters_by_default(bigram_model, tmp_path: Path):
    corpus = Corpus("tiny", TEXT)
    models = {"char": bigram_model}
    if "markov" in toolkit.plugins():
        models["word"] = toolkit.train("markov", corpus, level="word")
    report = toolkit.compare(models, corpus, "the ", samples=2, temperatures=[1.0], max_chars=30)
    assert report.parameters["max_chars"] == 30 and report.parameters["max_tokens"] == 30
    for m in report.models:
        assert all(len(s["text"]) <= 30 for s in m.temperatures[0].samples)
    assert "up to 30 characters (or 30 tokens)" in report.markdown()
    with pytest.raises(ValueError, match="max_chars"):
        toolkit.compare(models, corpus, "the ", max_chars=0)
