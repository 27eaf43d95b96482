"""Model directories and plugins that cannot be trusted: newer formats, name collisions, plugin
bugs, out-of-range options and seeds (issue 15, sections 2 and 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixture_plugins import FIXTURES, on_path, run_textgen
from textgen_bigram import BigramGenerator

import toolkit
from toolkit import registry
from toolkit.data.corpora import Corpus
from toolkit.errors import ModelDirError, PluginError
from toolkit.modeldir import MANIFEST, MANIFEST_VERSION, read_manifest
from toolkit.options import MAX_SEED, OptionError, check_seed

IMPOSTOR = FIXTURES / "impostor_plugins"
TINY_TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20
CORPUS = Corpus("tiny", TINY_TEXT)


def textgen(*args: str, impostor: bool = True, **env: str) -> subprocess.CompletedProcess:
    """The installed ``textgen``, with the impostor fixture distribution on the path unless told not to."""
    return run_textgen(*args, folder=IMPOSTOR if impostor else None, **env)


def one_error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("textgen: error: "), out.stderr
    return lines[0]


@pytest.fixture()
def with_impostor(monkeypatch):
    yield from on_path(monkeypatch, IMPOSTOR, "textgen_impostor_fixture")


@pytest.fixture()
def needs_markov():
    if "markov" not in registry.plugins():
        pytest.skip("the markov plugin is not installed")


# -- format version --------------------------------------------------------------------------


def bump_format(model_dir: Path, version: object) -> None:
    manifest = json.loads((model_dir / MANIFEST).read_text())
    (model_dir / MANIFEST).write_text(json.dumps({**manifest, "format_version": version}))


def test_a_newer_format_version_is_refused_with_the_version_and_an_upgrade_hint(bigram_model, tmp_path):
    path = bigram_model.save(tmp_path / "m")
    assert read_manifest(path)["format_version"] == MANIFEST_VERSION
    bump_format(path, MANIFEST_VERSION + 1)
    with pytest.raises(ModelDirError, match=rf"format version {MANIFEST_VERSION + 1}, newer .*pip install --upgrade"):
        toolkit.load(path)
    line = one_error_line(textgen("generate", str(path)))
    assert f"version {MANIFEST_VERSION + 1}" in line and "upgrade" in line.lower()


@pytest.mark.parametrize("version", ["2", 0, True, None])
def test_a_format_version_that_is_not_a_version_is_corrupt(bigram_model, tmp_path, version):
    path = bigram_model.save(tmp_path / "m")
    bump_format(path, version)
    with pytest.raises(ModelDirError, match=r"corrupt.*format_version"):
        toolkit.load(path)


# -- name collisions --------------------------------------------------------------------------


def test_plugins_lists_every_distribution_claiming_a_name_and_marks_the_conflict(needs_markov):
    rows = [row for row in json.loads(textgen("plugins", "--json").stdout) if row["name"] == "markov"]
    assert sorted(row["distribution"] for row in rows) == ["textgen-impostor-fixture", "textgen-markov"]
    by_dist = {row["distribution"]: row for row in rows}
    assert by_dist["textgen-markov"]["conflict"] == ["textgen-impostor-fixture 0.2.0"]
    assert by_dist["textgen-impostor-fixture"]["conflict"] == [f"textgen-markov {by_dist['textgen-markov']['version']}"]
    listing = [line for line in textgen("plugins").stdout.splitlines() if line.startswith("markov ")]
    assert len(listing) == 2 and all("CONFLICT" in line for line in listing)
    assert [row["conflict"] for row in json.loads(textgen("plugins", "--json").stdout)
            if row["name"] == "bigram"] == [[]]


def test_a_contested_name_is_never_resolved_silently(needs_markov, tmp_path):
    (tmp_path / "c.txt").write_text(TINY_TEXT)
    line = one_error_line(textgen("train", "markov", "--corpus", str(tmp_path / "c.txt"), "--out", str(tmp_path / "m")))
    assert "textgen-markov" in line and "textgen-impostor-fixture" in line
    assert not (tmp_path / "m").exists()
    assert "textgen-markov" in one_error_line(textgen("options", "markov"))


def test_loading_a_model_picks_the_distribution_its_manifest_names(needs_markov, with_impostor, tmp_path):
    ours = toolkit.train("markov@textgen-markov", CORPUS, out=tmp_path / "ours")
    theirs = toolkit.train("markov@textgen-impostor-fixture", CORPUS, out=tmp_path / "theirs")
    assert read_manifest(tmp_path / "ours")["distribution"] == "textgen-markov"
    assert read_manifest(tmp_path / "theirs")["distribution"] == "textgen-impostor-fixture"
    assert type(toolkit.load(tmp_path / "ours")) is type(ours)
    assert type(toolkit.load(tmp_path / "theirs")) is type(theirs) is not type(ours)
    out = textgen("generate", str(tmp_path / "ours"), "--max-tokens", "5", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["plugin"] == "markov", out.stderr


def test_a_manifest_whose_distribution_is_gone_names_both(needs_markov, with_impostor, tmp_path):
    toolkit.train("markov@textgen-impostor-fixture", CORPUS, out=tmp_path / "theirs")
    registry._claims.cache_clear()
    sys.path.remove(str(IMPOSTOR))  # the impostor is uninstalled; only textgen-markov provides `markov` now
    with pytest.raises(ModelDirError, match=r"from textgen-impostor-fixture is not installed; .* textgen-markov"):
        toolkit.load(tmp_path / "theirs")
    sys.path.insert(0, str(IMPOSTOR))


def test_choosing_a_distribution_that_does_not_claim_the_name(needs_markov, with_impostor):
    with pytest.raises(PluginError, match="'markov' from textgen-nope is not installed"):
        registry.get("markov@textgen-nope")


# -- plugin bugs --------------------------------------------------------------------------------


def test_a_plugin_bug_is_one_line_naming_the_plugin_and_the_method(tmp_path):
    (tmp_path / "c.txt").write_text(TINY_TEXT)
    out = textgen("train", "buggy-fixture", "--corpus", str(tmp_path / "c.txt"), "--out", str(tmp_path / "m"))
    assert out.returncode == 0, out.stderr
    line = one_error_line(textgen("generate", str(tmp_path / "m"), "--max-tokens", "5"))
    assert "plugin 'buggy-fixture' (textgen-impostor-fixture 0.2.0) failed in its decode method: IndexError" in line
    assert "--debug" in line and "TEXTGEN_DEBUG=1" in line
    model = str(tmp_path / "m")
    for debug in (textgen("--debug", "generate", model), textgen("generate", model, "--debug"),
                  textgen("generate", model, TEXTGEN_DEBUG="1")):
        assert debug.returncode == 1 and "Traceback" in debug.stderr and "in decode" in debug.stderr


class EncodeFails(BigramGenerator):
    def encode(self, text):
        return [][len(text)]


class DecodeFails(BigramGenerator):
    def decode(self, ids):
        return [][len(ids)]


class BeginFails(BigramGenerator):
    def begin(self, prompt, n):
        return [][n]


class AdvanceFails(BigramGenerator):
    def begin(self, prompt, n):  # without calling advance, as the bigram's own begin does
        return None, self.log_probs[np.full(n, len(self.tokenizer))]

    def advance(self, state, tokens):
        return [][len(tokens)]


@pytest.mark.parametrize("method", ["encode", "decode", "begin", "advance"])
def test_plugin_fault_names_the_method_the_core_called(bigram_model, method):
    from toolkit.registry import plugin_fault

    broken = {"encode": EncodeFails, "decode": DecodeFails, "begin": BeginFails, "advance": AdvanceFails}[method]
    model = broken(bigram_model.tokenizer, bigram_model.log_probs, bigram_model.smoothing)
    with pytest.raises(IndexError) as err:
        model.generate("the", max_tokens=5)
    assert plugin_fault(err.value).startswith(f"plugin 'bigram' (textgen-bigram 0.1.0) failed in its {method} method: "
                                              "IndexError: list index out of range")


def test_a_core_bug_is_not_blamed_on_a_plugin():
    from toolkit.registry import plugin_fault

    with pytest.raises(ZeroDivisionError) as err:
        toolkit.Score(nats=1.0, chars=0, tokens=0).bpc  # noqa: B018 (the property raises)
    assert plugin_fault(err.value) is None


def test_a_user_error_stays_one_line_without_debug_and_shows_a_traceback_with_it(tmp_path):
    assert "no model directory" in one_error_line(textgen("generate", str(tmp_path / "missing")))
    debug = textgen("--debug", "generate", str(tmp_path / "missing"))
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ModelDirError" in debug.stderr


# -- options and seeds --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-1e-3"])
def test_non_finite_or_non_positive_learning_rates_are_refused_with_the_field_named(value):
    for plugin in ("lstm", "gpt2"):
        if plugin not in registry.plugins():
            continue
        with pytest.raises(OptionError, match=rf"{plugin} option lr='{value}'"):
            toolkit.train(plugin, CORPUS, lr=value)


@pytest.mark.parametrize(("plugin", "options", "field"), [
    ("bigram", {"smoothing": "inf"}, "smoothing"),
    ("lstm", {"max_seconds": "nan"}, "max_seconds"),
    ("lstm", {"lr": "0.01", "min_lr": "0.1"}, "min_lr"),
    ("gpt2", {"grad_clip": "inf"}, "grad_clip"),
    ("markov", {"max_overlap_ratio": "nan"}, "max_overlap_ratio"),
    ("lstm", {"batch_size": str(2**70)}, "batch_size"),
    ("gpt2", {"max_steps": 2**40}, "max_steps"),
    ("lstm", {"max_flops": "inf"}, "max_flops"),
    ("gpt2", {"max_tokens": 0}, "max_tokens"),
    ("gpt2", {"max_tokens": 10_000, "max_seconds": 5}, "max_tokens"),
])
def test_out_of_range_options_are_refused_with_the_field_named(plugin, options, field):
    if plugin not in registry.plugins():
        pytest.skip(f"the {plugin} plugin is not installed")
    with pytest.raises(OptionError, match=field):
        toolkit.train(plugin, CORPUS, **options)


def test_check_seed_is_one_rule():
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == MAX_SEED
    for bad in (-1, MAX_SEED + 1, 2**70, 1.0, "3", True, None):
        with pytest.raises(OptionError, match=rf"seed must be a whole number from 0 to {MAX_SEED}"):
            check_seed(bad)


@pytest.mark.parametrize(("plugin", "seed"), [("markov", -1), ("lstm", 2**70), ("bigram", MAX_SEED + 1)])
def test_every_plugin_refuses_a_bad_seed_alike(plugin, seed, tmp_path):
    if plugin not in registry.plugins():
        pytest.skip(f"the {plugin} plugin is not installed")
    expected = f"seed must be a whole number from 0 to {MAX_SEED} (2**32 - 1), got {seed}"
    with pytest.raises(OptionError) as err:
        toolkit.train(plugin, CORPUS, seed=seed)
    assert str(err.value) == expected
    (tmp_path / "c.txt").write_text(TINY_TEXT)
    line = one_error_line(textgen("train", plugin, "--corpus", str(tmp_path / "c.txt"), "--out", str(tmp_path / "m"),
                                  "--seed", str(seed), impostor=False))
    assert line == f"textgen: error: {expected}"
    assert not (tmp_path / "m").exists()


def test_generation_refuses_a_bad_seed_with_the_same_rule(bigram_model):
    for seed in (-1, 2**70):
        with pytest.raises(OptionError, match=f"seed must be a whole number from 0 to {MAX_SEED}"):
            bigram_model.generate("the", max_tokens=3, seed=seed)


def test_compare_refuses_a_bad_seed_with_the_same_rule(bigram_model):
    with pytest.raises(OptionError, match=f"seed must be a whole number from 0 to {MAX_SEED}"):
        toolkit.compare([bigram_model], CORPUS, "the", seed=2**70)


def test_sampling_counts_beyond_a_c_int_are_refused_by_name(bigram_model):
    with pytest.raises(OptionError, match=r"top_k=.*must be at most 2147483647"):
        bigram_model.generate("the", max_tokens=3, top_k=2**70)
