"""Measured training speeds: cached per machine, so the sizing rule's probe runs once; no timed assertions."""

from __future__ import annotations

import json

import pytest

from toolkit.neural.speeds import SpeedCache, cache_path, measured

MACHINE = {"cpu": "Test CPU", "threads": 2, "torch": "2.13.0", "device": "cpu", "plugin": "toy", "vocab": 65}


def test_a_cache_hit_skips_the_probe(tmp_path):
    calls: list[dict] = []

    def probe(values):
        calls.append(values)
        return 1234.5

    cache = SpeedCache(tmp_path / "speeds.json")
    first = measured(probe, MACHINE, cache)({"hidden_size": 384})
    assert (first.tokens_per_second, first.source) == (1234.5, "probe") and first.seconds >= 0
    again = measured(probe, MACHINE, SpeedCache(tmp_path / "speeds.json"))({"hidden_size": 384})  # a second run
    assert (again.tokens_per_second, again.source, again.seconds) == (1234.5, "cache", 0.0)
    assert len(calls) == 1
    # anything that changes the speed is a new key: other values, threads, torch, device
    measured(probe, MACHINE, cache)({"hidden_size": 512})
    measured(probe, {**MACHINE, "threads": 1}, cache)({"hidden_size": 384})
    assert len(calls) == 3
    stored = json.loads((tmp_path / "speeds.json").read_text())
    assert len(stored) == 3 and all(entry["tokens_per_second"] == 1234.5 for entry in stored.values())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # written atomically, nothing left


def test_an_unreadable_cache_is_empty_and_is_replaced(tmp_path):
    path = tmp_path / "speeds.json"
    path.write_text("{not json")
    assert SpeedCache(path).get(MACHINE) is None
    SpeedCache(path).put(MACHINE, 10.0)
    assert SpeedCache(path).get(MACHINE) == 10.0


def test_the_cache_lives_in_the_users_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TEXTGEN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_path() == tmp_path / "textgen" / "speeds.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_path() == tmp_path / "home" / ".cache" / "textgen" / "speeds.json"


def test_training_records_the_measurement_and_a_second_run_pays_nothing(monkeypatch, tmp_path, capsys):
    """A seconds budget on a large corpus: the probe's speed (injected, not timed) chooses the row."""
    pytest.importorskip("torch")
    from toolkit import registry
    from toolkit.data.corpora import Corpus
    from toolkit.neural import probe

    monkeypatch.setenv("TEXTGEN_CACHE", str(tmp_path / "cache"))
    probed: list[int] = []

    def fake(task, train, batch_size, seq_len, device, steps=probe.PROBE_STEPS):
        probed.append(batch_size * seq_len)
        return 2_000.0  # a very slow machine: the smallest budget row

    monkeypatch.setattr(probe, "tokens_per_second", fake)
    corpus = Corpus("large", "".join(chr(97 + (i * 7919) % 26) for i in range(600_000)))
    options = {"max_seconds": 0.5, "eval_tokens": 64, "progress": False, "device": "cpu", "cpu_threads": 1}
    lstm = registry.get("lstm")  # the plugin's own training: no scoring of the whole split afterwards
    sizing = lstm.train(corpus, lstm.Options(**options), seed=0).training["sizing"]
    assert sizing["row"] == "cpu-short" and probed == [32 * 64]
    assert sizing["measured"][0]["tokens_per_second"] == 2_000.0 and sizing["measured"][0]["source"] == "probe"
    assert "measured 2.0k tokens/s for cpu-short" in sizing["summary"]
    again = lstm.train(corpus, lstm.Options(**options), seed=0).training["sizing"]
    assert probed == [32 * 64] and again["measured"][0]["source"] == "cache" and again["probe_seconds"] == 0
