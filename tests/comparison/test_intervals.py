"""Several seeds and intervals: Student t over seeds, bootstrap over samples, verdicts only when they separate,
and crossovers in training FLOPs (on any machine) and seconds (on the machine named)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import toolkit
from toolkit.comparison import ModelResult, crossovers
from toolkit.comparison.curves import flops_text, seed_curves
from toolkit.comparison.intervals import bootstrap, sample_intervals, sample_shares, seed_interval, separated
from toolkit.comparison.plots import curves_figure
from toolkit.comparison.seeds import runs_of, seed_folder
from toolkit.data.corpora import Corpus
from toolkit.evaluation.metrics import distinct_n, self_bleu

MACHINE = {"cpu": "Test CPU 9000", "threads": 2, "device": "cpu"}
ROWS = [{"text": t, "ngram_overlap": o} for t, o in [("the cat sat on the mat", 0.5), ("a dog ran to the log", 0.0),
                                                      ("the cat ran to the mat", 0.25), ("a cat sat", None),
                                                      ("the dog sat on the log and the cat", 1.0)]]


def test_seed_interval_is_mean_plus_minus_student_t():
    found = seed_interval([2.0, 2.1, 2.3])
    sd = math.sqrt(((2.0 - 2.1333333) ** 2 + (2.1 - 2.1333333) ** 2 + (2.3 - 2.1333333) ** 2) / 2)
    assert found["mean"] == pytest.approx(2.1333333, abs=1e-6)
    assert found["half_width"] == pytest.approx(4.302653 * sd / math.sqrt(3), abs=1e-5)  # t(0.975, 2) = 4.3027
    assert found["low"] == pytest.approx(found["mean"] - found["half_width"])
    assert seed_interval([1.5, 1.7])["half_width"] == pytest.approx(12.706205 * math.sqrt(0.02) / math.sqrt(2))
    assert seed_interval([2.0])["low"] is None  # one run: its spread over seeds is unknown
    exact = seed_interval([2.0], exact=True)
    assert exact["low"] == exact["high"] == 2.0
    with pytest.raises(ValueError, match="at least one"):
        seed_interval([])


def test_separated_needs_two_known_intervals_apart():
    assert separated({"low": 1.0, "high": 2.0}, {"low": 2.1, "high": 3.0})
    assert not separated({"low": 1.0, "high": 2.2}, {"low": 2.1, "high": 3.0})
    assert not separated({"low": None, "high": None}, {"low": 2.1, "high": 3.0})


def test_sample_shares_sum_to_the_metrics_and_the_bootstrap_reproduces():
    shares = sample_shares(ROWS)
    texts = [r["text"] for r in ROWS]
    for n in (1, 2, 3):
        num, den = shares[f"distinct_{n}"]
        assert num.sum() / den.sum() == pytest.approx(distinct_n(texts, n))
    num, den = shares["self_bleu"]
    assert num.sum() / den.sum() == pytest.approx(self_bleu(texts))
    num, den = shares["ngram_overlap"]
    assert num.sum() / den.sum() == pytest.approx((0.5 + 0.0 + 0.25 + 1.0) / 4)  # a sample without one left out
    first, again = sample_intervals([ROWS]), sample_intervals([ROWS])
    assert first == again  # fixed bootstrap seed: the report reproduces
    for metric, interval in first.items():
        assert interval["low"] <= interval["mean"] <= interval["high"], metric
    assert first["distinct_2"]["low"] < first["distinct_2"]["high"]
    assert bootstrap([shares["distinct_2"]], seed=1) != first["distinct_2"]  # the seed is what fixes it
    # two seeds' models: their mean, each resampled within its own samples
    pooled = sample_intervals([ROWS[:3], ROWS[2:]])
    assert pooled["distinct_1"]["mean"] == pytest.approx(
        (distinct_n(texts[:3], 1) + distinct_n(texts[2:], 1)) / 2)


def _training(points: list[tuple[float, float]], flops_per_second: float | None = 1e9, seed: int = 0) -> dict:
    """A training record as the schema has it: curve points with flops, and the compute record."""
    curve = [{"seconds": s, "tokens": 100 * (i + 1), "chars": 100 * (i + 1), "val_bpc_estimate": b}
             for i, (s, b) in enumerate(points)]
    training = {"train_seconds": points[-1][0], "seed": seed, "curve": curve}
    if flops_per_second is not None:
        for p in curve:
            p["flops"] = p["seconds"] * flops_per_second
        training["compute"] = {"kind": "training", "flops": curve[-1]["flops"], "machine": MACHINE,
                               "budget": {"unit": "flops", "value": curve[-1]["flops"]}}
    return training


def model(label: str, finals: list[float], start: float = 4.0, flops_per_second: float | None = 1e9,
          counting: bool = False) -> ModelResult:
    """A result with one run per final figure, each curve from ``start`` at 1 s to its final figure at 100 s."""
    runs = [{"seed": i, "source": f"{label}/seed-{i}", "bpc": b, "bpc_source": "recorded",
             "training": _training([(1.0, start), (10.0, (start + b) / 2), (100.0, b)], flops_per_second, i)}
            for i, b in enumerate(finals)]
    training = runs[0]["training"]
    if counting:
        training = {"train_seconds": 0.5, "curve": [{"seconds": 0.5, "tokens": 1000, "chars": 1000, "flops": 4000.0,
                                                     "val_bpc_estimate": finals[0]}],
                    "compute": {"kind": "counting", "flops": 4000.0, "machine": MACHINE}}
        runs = []
    return ModelResult(label=label, source=label, plugin="x", distribution="x", plugin_version="0", info={},
                       disk_bytes=None, training=training, bpc=sum(finals) / len(finals), scored_chars=1,
                       scored_tokens=1, unknown=[], temperatures=[], speed={}, memory={},
                       runs=runs if len(finals) > 1 else [])


def test_passes_only_when_the_intervals_separate():
    chain = model("markov-char", [2.2], counting=True)  # a count: exact, no seed changes it
    apart = model("lstm-char", [2.00, 2.01, 2.02])
    close = model("gpt2-char", [2.15, 2.25, 2.20])
    above = model("lstm-word", [2.50, 2.51, 2.52])
    by = {(c["model"], c["target"]): c for c in crossovers([chain, apart, close, above], [])}
    passing = by["lstm-char", "markov-char"]
    assert passing["verdict"] == "passes" and passing["crossed"] == 3
    assert passing["flops"] == pytest.approx(passing["seconds"] * 1e9)
    assert passing["text"].startswith("lstm-char passes markov-char (2.200 bits/char) after ")
    assert flops_text(passing["flops"]) in passing["text"]  # in FLOPs, which hold on any machine,
    assert "s on Test CPU 9000, 2 threads" in passing["text"]  # and in seconds on the machine named
    assert "median of 3 of 3 seeds" in passing["text"]
    assert by["gpt2-char", "markov-char"]["verdict"] == "not distinguishable"
    assert by["gpt2-char", "markov-char"]["text"] == (
        "gpt2-char (2.200 ± 0.124) and markov-char (2.200 bits/char) are not distinguishable at 3 seeds: "
        "their 95% intervals overlap")
    assert by["lstm-word", "markov-char"]["verdict"] == "does not pass"
    assert by["lstm-word", "markov-char"]["text"] == (
        "lstm-word does not pass markov-char (2.200 bits/char) within its 1.0e11 training FLOPs "
        "(100 s on Test CPU 9000, 2 threads)")
    assert by["lstm-char", "gpt2-char"]["verdict"] == "passes"  # two seeded models whose intervals separate
    assert ("markov-char", "lstm-char") not in by  # a count has no curve to cross with


def test_a_record_without_flops_is_stated_in_seconds_and_skipped_on_the_flops_axis():
    old = model("lstm-old", [2.0], flops_per_second=None)
    chain = model("markov-char", [2.2], counting=True)
    found = crossovers([old, chain], [{"name": "lzma -9e", "bpc": 2.5, "how": ""}])
    text = {c["target"]: c["text"] for c in found}
    assert text["markov-char"] == (
        "lstm-old reaches markov-char (2.200 bits/char) after 63 s of training (one run: not a claim that it passes)")
    assert all(c["flops"] is None for c in found)
    figure = curves_figure([("lstm-old", seed_curves(old)[0]), ("markov-char", seed_curves(chain)[0])], [], "tiny")
    seconds, _, flops = figure.axes
    assert len(seconds.lines) == 2 and flops.get_xlabel().startswith("training FLOPs")
    assert [line.get_label() for line in flops.lines] == ["markov-char"]  # the old record is not on it
    assert list(flops.lines[0].get_xdata()) == [4000.0]  # the chain sits at its counting cost


def test_the_flops_axis_draws_every_seed():
    lstm = model("lstm-char", [2.0, 2.1])
    figure = curves_figure([("lstm-char", points) for points in seed_curves(lstm)], [], "tiny")
    flops = figure.axes[2]
    assert [list(line.get_xdata()) for line in flops.lines] == [[1e9, 1e10, 1e11]] * 2
    assert next(line.get_label() for line in flops.lines) == "lstm-char"


def test_compare_takes_a_folder_of_seeds_as_one_model(tmp_path: Path):
    corpus = Corpus("tiny", "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20)
    for seed, smoothing in ((0, 0.1), (1, 0.3), (2, 0.2)):
        toolkit.train("bigram", corpus, out=tmp_path / "bigram" / seed_folder(seed), smoothing=smoothing, seed=seed)
    toolkit.train("bigram", corpus, out=tmp_path / "single", smoothing=0.1)
    assert [p.name for p in runs_of(tmp_path / "bigram", 2)] == ["seed-0", "seed-1"]
    report = toolkit.compare([tmp_path / "bigram", tmp_path / "single"], corpus, "the ", samples=3,
                             temperatures=[1.0], max_tokens=20, seeds=2)
    grouped, single = report.models
    assert grouped.label == "bigram" and grouped.seeds == 2 and [r["seed"] for r in grouped.runs] == [0, 1]
    figures = [toolkit.load(tmp_path / "bigram" / seed_folder(s)).training["val_bpc"] for s in (0, 1)]
    assert grouped.bpc == pytest.approx(sum(figures) / 2)
    assert grouped.intervals["bpc"]["values"] == pytest.approx(figures)
    assert grouped.intervals["bpc"]["low"] < grouped.bpc < grouped.intervals["bpc"]["high"]
    assert len(grouped.temperatures[0].samples) == 6 and "distinct_2" in grouped.temperatures[0].intervals
    assert single.seeds == 1 and single.temperatures[0].intervals["distinct_2"]["low"] is not None
    assert report.parameters["seeds"] == 2
    assert "±" in report.markdown()
    with pytest.raises(ValueError, match="seeds=4"):
        toolkit.compare([tmp_path / "bigram"], corpus, "the ", seeds=4)
    with pytest.raises(ValueError, match="seeds"):
        toolkit.compare([tmp_path / "bigram"], corpus, "the ", seeds=0)
