"""`textgen compare` / `toolkit.compare`: what it measures, what it writes, and that it repeats."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import toolkit
from toolkit import registry
from toolkit.cli import main as cli
from toolkit.cli.compare import read_prompts
from toolkit.comparison import VOLATILE_KEYS, CompareReport, memory_probe, stable
from toolkit.data.corpora import Corpus
from toolkit.generation.temperatures import parse_temperatures

TINY_TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20
CORPUS = Corpus("tiny", TINY_TEXT)
SETTINGS = {"samples": 3, "temperatures": [0.5, 1.0], "max_tokens": 40, "seed": 3}


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three or more trained models: two bigrams, and a Markov chain when its plugin is installed."""
    root = tmp_path_factory.mktemp("models")
    dirs = []
    for smoothing in (0.1, 2.0):
        toolkit.train("bigram", CORPUS, out=root / f"bigram-{smoothing}", smoothing=smoothing)
        dirs.append(root / f"bigram-{smoothing}")
    toolkit.train("bigram", CORPUS, out=root / "again" / "bigram-0.1", smoothing=0.1, seed=1)
    dirs.append(root / "again" / "bigram-0.1")  # same folder name: the label must stay unique
    if "markov" in registry.plugins():
        toolkit.train("markov", CORPUS, out=root / "markov")
        dirs.append(root / "markov")
    return dirs


@pytest.fixture(scope="module")
def report(model_dirs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> CompareReport:
    return toolkit.compare(model_dirs, CORPUS, "the ", out=tmp_path_factory.mktemp("report"), **SETTINGS)


def test_report_files_are_written(report: CompareReport):
    files = {k: Path(v) for k, v in report.files.items()}
    assert set(files) == {"json", "markdown", "curves", "bpc", "diversity", "speed"}
    for name in ("curves", "bpc", "diversity", "speed"):
        assert files[name].name == f"compare-{name}.png"
        assert files[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(files["json"].read_text()) == json.loads(json.dumps(report.to_json()))
    table = files["markdown"].read_text()
    assert table == report.markdown()
    assert "| model | plugin |" in table
    for m in report.models:
        assert f"| {m.label} |" in table


def test_report_records_parameters_and_versions(report: CompareReport, model_dirs: list[Path]):
    data = report.to_json()
    p = data["parameters"]
    assert p["temperatures"] == [0.5, 1.0] and p["samples"] == 3 and p["seed"] == 3 and p["max_tokens"] == 40
    assert p["prompts"] == ["the "] and p["max_score_chars"] is None
    assert p["corpus"] == CORPUS.describe()
    assert p["models"] == [str(d) for d in model_dirs]
    v = data["versions"]
    assert {"python", "numpy", "textgen-toolkit", "scikit-learn", "plugin bigram"} <= set(v)
    assert v["plugin bigram"].startswith("textgen-bigram ")
    labels = [m["label"] for m in data["models"]]
    assert len(set(labels)) == len(labels)
    assert labels[:3] == [f"{model_dirs[0].parent.name}/bigram-0.1", "bigram-2.0", "again/bigram-0.1"]


def test_report_measures_each_model(report: CompareReport, model_dirs: list[Path]):
    for m, folder in zip(report.models, model_dirs, strict=True):
        expected = toolkit.load(folder).score(CORPUS.val)
        assert m.bpc == pytest.approx(expected.bpc) and m.scored_chars == len(CORPUS.val)
        assert m.disk_bytes == sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        assert m.training["train_seconds"] == m.speed["train_seconds"] > 0
        assert [r.temperature for r in m.temperatures] == [0.5, 1.0]
        for r in m.temperatures:
            check_temperature_row(r)
        assert m.speed["tokens_per_second"] > 0
        memory = m.memory  # measured in a fresh process: loading and sampling take some memory
        assert memory["peak_rss_bytes"] >= memory["baseline_rss_bytes"] > 0
        assert memory["added_rss_bytes"] == memory["peak_rss_bytes"] - memory["baseline_rss_bytes"]
    bigram = report.models[0]
    assert bigram.info == {"parameters": toolkit.load(model_dirs[0]).info()["parameters"]}
    # a character bigram copies the tiny corpus in short pieces only
    assert 0 < bigram.at(1.0).longest_copy < 40


def check_temperature_row(r) -> None:
    """One temperature's samples, metrics and timing, as `test_report_measures_each_model` expects them."""
    assert len(r.samples) == 3
    assert all(s["prompt"] == "the " and 0 < s["tokens"] <= 40 for s in r.samples)
    assert all(0 <= x <= 1 for x in (r.distinct_1, r.distinct_2, r.distinct_3, r.self_bleu,
                                     r.repetition_rate, r.markovify_reject_rate, r.nearest_similarity))
    assert r.longest_copy == max(s["longest_copy"] for s in r.samples)
    for s in r.samples:
        assert s["longest_copy_span"] in CORPUS.train and len(s["longest_copy_span"]) == s["longest_copy"]
        assert s["nearest_passage"] in CORPUS.train
    assert r.timing["tokens"] == sum(s["tokens"] for s in r.samples)
    assert r.timing["tokens_per_second"] > 0 and r.timing["first_token_seconds"] >= 0


def test_same_seed_same_report_except_timings(report: CompareReport, model_dirs: list[Path]):
    again = toolkit.compare(model_dirs, CORPUS, "the ", **SETTINGS).to_json()
    first = report.to_json()
    assert stable(again) == stable(first)
    assert first != again  # the timings did change: stable() removed something
    assert not any(key in json.dumps(stable(first)) for key in ('"tokens_per_second"', '"added_rss_bytes"'))
    other = toolkit.compare(model_dirs[:1], CORPUS, "the ", **{**SETTINGS, "seed": 4})
    assert other.models[0].temperatures[1].samples != report.models[0].temperatures[1].samples


def test_score_cap_generators_and_labels(bigram_model):
    report = toolkit.compare({"mine": bigram_model}, CORPUS, ["the ", "a "], samples=1, temperatures=[0.0],
                             max_tokens=10, max_score_chars=25)
    m = report.models[0]
    assert m.label == "mine" and m.scored_chars == 25 and m.disk_bytes is None
    assert m.memory == {"baseline_rss_bytes": None, "peak_rss_bytes": None, "added_rss_bytes": None}
    assert report.parameters["max_score_chars"] == 25
    r = m.temperatures[0]
    assert [s["prompt"] for s in r.samples] == ["the ", "a "]
    assert report.parameters["prompt_seeds"] == [0, 1]
    twice = toolkit.compare([bigram_model], CORPUS, ["the ", "the "], samples=2, temperatures=[1.0], max_tokens=30,
                            seed=5).models[0].temperatures[0].samples
    assert [s["text"] for s in twice] == (bigram_model.generate("the ", max_tokens=30, num_samples=2, seed=5)
                                          + bigram_model.generate("the ", max_tokens=30, num_samples=2, seed=6))
    assert r.self_bleu is not None  # two samples, one per prompt
    one = toolkit.compare([bigram_model], CORPUS, "the ", samples=1, temperatures=[1.0], max_tokens=5)
    assert one.models[0].temperatures[0].self_bleu is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"samples": 0}, "samples"), ({"temperatures": []}, "temperatures"), ({"temperatures": [-1]}, "temperatures"),
    ({"max_tokens": 0}, "max_tokens"), ({"seed": -1}, "seed"), ({"max_score_chars": 0}, "max_score_chars"),
    ({"prompts": []}, "prompt"), ({"models": []}, "model"),
])
def test_bad_arguments_name_the_parameter(bigram_model, kwargs, message):
    args = {"models": [bigram_model], "corpus": CORPUS, "prompts": "the ", **kwargs}
    with pytest.raises(ValueError, match=message):
        toolkit.compare(**args)


def test_cli_compare(model_dirs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(TINY_TEXT)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the \n\na cat\n")
    out = tmp_path / "out"
    common = [*map(str, model_dirs[:2]), "--corpus", str(corpus), "--samples", "2", "--temperatures", "0.8,1.0",
              "--max-tokens", "20"]
    assert cli(["compare", *common, "--prompts-file", str(prompts), "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"]["prompts"] == ["the ", "a cat"]
    assert sorted(p.name for p in out.iterdir()) == ["compare-bpc.png", "compare-curves.png", "compare-diversity.png",
                                                     "compare-speed.png", "report.json", "report.md"]
    assert cli(["compare", *common, "--prompt", "the "]) == 0
    captured = capsys.readouterr()
    assert "| bigram-2.0 |" in captured.out and "Distinct-2 by temperature" in captured.out
    assert "sampling" in captured.err  # progress goes to stderr
    assert cli(["compare", *common]) == 2
    assert "--prompt" in capsys.readouterr().err
    assert cli(["compare", *common, "--prompt", "x", "--temperatures", "hot"]) == 2
    assert "--temperatures" in capsys.readouterr().err


def test_memory_probe_measures_a_fresh_process(model_dirs: list[Path]):
    import numpy as np

    ballast = np.ones(300_000_000 // 8)  # this process's peak must not leak into the child's figures
    memory = memory_probe(str(model_dirs[0]), prompt="the ", samples=2, max_tokens=10, seed=0)
    assert 0 < memory["baseline_rss_bytes"] <= memory["peak_rss_bytes"] < ballast.nbytes
    assert memory_probe("/nonexistent/model", prompt="x", samples=1, max_tokens=1, seed=0) == {
        "baseline_rss_bytes": None, "peak_rss_bytes": None, "added_rss_bytes": None}


def test_parsers():
    assert parse_temperatures("0.3, 0.8,1") == [0.3, 0.8, 1.0]
    for bad in ("", "a", "-1", "inf", "nan"):
        with pytest.raises(ValueError, match="--temperatures"):
            parse_temperatures(bad)
    assert read_prompts(["x", "y"], None) == ["x", "y"]
    with pytest.raises(ValueError, match="prompts-file"):
        read_prompts(None, "/nonexistent/prompts.txt")


def test_stable_removes_volatile_keys_anywhere():
    data = {"a": 1, "timing": 2, "b": [{"speed": 3, "c": math.pi, "memory": None}], "created": "x"}
    assert stable(data) == {"a": 1, "b": [{"c": math.pi}]}
    assert {"timing", "speed", "memory", "created", "elapsed_seconds"} == VOLATILE_KEYS
