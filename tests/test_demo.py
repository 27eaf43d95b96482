"""`textgen demo` with tiny budgets: trains what is installed, reuses it, compares, points at the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import toolkit
import toolkit.demo
from toolkit import registry
from toolkit.cli import main as cli
from toolkit.comparison import ModelResult
from toolkit.data.corpora import load_corpus
from toolkit.demo import (
    RECIPES,
    Recipe,
    parse_overrides,
    reusable,
    run,
    speed_line,
    train_all,
    train_or_reuse,
)
from toolkit.errors import PluginError

PLAY = ("ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n"
        "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\nDeny thy father and refuse thy name.\n\n") * 12
FAST = ["--max-seconds", "1", "--samples", "2", "--max-tokens", "20", "--temperatures", "0.8"]
#: Small networks for a tiny corpus, for the families whose plugins take these options.
SMALL = {"lstm": {"hidden_size": 32, "embedding_size": 16, "batch_size": 8, "seq_len": 32, "eval_tokens": 256},
         "gpt2": {"layers": 2, "heads": 2, "width": 32, "context": 16, "batch_size": 8, "eval_tokens": 256}}


def tiny_pretrained_gpt2(folder: Path) -> Path | None:
    """A tiny random GPT-2 in ``save_pretrained`` form, standing in for a cached pretrained one."""
    if "gpt2" not in registry.plugins():
        return None
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from textgen_gpt2.vocab import HFVocab

    vocab = HFVocab.fit(PLAY, 300)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=vocab.size, n_layer=1, n_head=2, n_embd=16, n_positions=64,
                                     bos_token_id=vocab.bos, eos_token_id=vocab.bos)
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    transformers.PreTrainedTokenizerFast(tokenizer_object=vocab.backend, bos_token="<|endoftext|>",
                                         eos_token="<|endoftext|>").save_pretrained(folder)
    return folder


def small_options() -> dict[str, dict[str, object]]:
    found = {}
    for plugin, options in SMALL.items():
        if plugin in registry.plugins():
            known = registry.get(plugin).Options.model_fields
            found[plugin] = {k: v for k, v in options.items() if k in known}
    return found


@pytest.fixture()
def play(tmp_path: Path) -> Path:
    path = tmp_path / "play.txt"
    path.write_text(PLAY)
    return path


def test_demo_trains_installed_families_then_reuses_them(play: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]):
    installed = [r for r in RECIPES if r.plugin in registry.plugins()]
    if not installed:
        pytest.skip("no markov, lstm or gpt2 plugin installed")
    pretrained = tiny_pretrained_gpt2(tmp_path / "hf-gpt2")
    monkeypatch.setenv("TEXTGEN_GPT2_PATH", str(pretrained or tmp_path / "none"))
    out = tmp_path / "demo"
    small = small_options()
    flags = [f"-o{plugin}.{k}={v}" for plugin, options in small.items() for k, v in options.items()]
    assert cli(["demo", "--out", str(out), "--corpus", str(play), *FAST, *flags]) == 0
    check_first_demo(capsys.readouterr().out, out, installed, pretrained, play)
    saved = {r.label: json.loads((out / "models" / r.label / "textgen.json").read_text())["saved"]
             for r in installed}

    # a second demo trains nothing and measures nothing again: the report's measurements are reused
    assert cli(["demo", "--out", str(out), "--corpus", str(play), *FAST, *flags]) == 0
    check_measurements_reused(capsys.readouterr().out, out, installed)

    overrides = parse_overrides([flag.removeprefix("-o") for flag in flags])  # strings, as the CLI gives them
    for recipe in RECIPES:  # a second demo reuses every model: same plugin, options, seed and corpus
        assert train_or_reuse(recipe, load_corpus(play), out / "models", seed=0, max_seconds=1,
                              overrides=overrides) == (out / "models" / recipe.label if recipe in installed else None)
    second = capsys.readouterr().out
    assert ": training" not in second
    for recipe in installed:
        assert f"- {recipe.label}: reusing" in second
        assert json.loads((out / "models" / recipe.label / "textgen.json").read_text())["saved"] == saved[recipe.label]


def check_measurements_reused(printed: str, out: Path, installed: list) -> None:
    """A second demo on the same models: nothing trained or sampled again, the report's figures reused."""
    assert ": training" not in printed and ": sampling" not in printed
    for recipe in installed:
        assert f"{recipe.label}: reusing its measurements from {out / 'report'}" in printed
    assert "not a verdict on the families" in printed or "not a verdict on its family" in printed
    assert json.loads((out / "report" / "report.json").read_text())["references"]


def check_first_demo(printed: str, out: Path, installed: list, pretrained: Path | None, play: Path) -> None:
    """The first demo's output and report: every installed family trained, each scored on the whole split."""
    for recipe in RECIPES:
        expected = f"- {recipe.label}: training" if recipe in installed else f"- {recipe.label}: skipped"
        assert expected in printed
    report = json.loads((out / "report" / "report.json").read_text())
    assert [m["label"] for m in report["models"]] == [r.label for r in installed] + (
        ["gpt2-pretrained"] if pretrained else [])
    if pretrained:
        assert f"- gpt2-pretrained: using {pretrained}" in printed
    # the whole validation split, by default, and one figure per model: the one its training recorded
    # (reused, or scored again: torch sums in another order with another thread count, hence 1e-6)
    for m in report["models"]:
        if m["label"] != "gpt2-pretrained":
            recorded = json.loads((out / "models" / m["label"] / "textgen.json").read_text())["training"]["val_bpc"]
            assert m["scored_chars"] == len(load_corpus(play).val) and m["bpc"] == pytest.approx(recorded, abs=1e-6)
    assert report["parameters"]["prompts"] == ["ROMEO:"] and report["parameters"]["max_score_chars"] is None
    assert {"compare-bpc.png", "compare-diversity.png", "compare-speed.png", "report.md"} <= {
        p.name for p in (out / "report").iterdir()}
    assert "| model | plugin |" in printed
    assert "crossovers between the models (training FLOPs hold on any machine; seconds are this machine's" in printed
    if any(r.timed for r in installed):  # this machine's training speed against the README's
        assert re.search(r"this machine \(.*\) trained \S+ at [\d.]+k? tokens/s", printed)
    assert printed.rstrip().endswith(f"textgen dashboard --models {out / 'models'}")


def test_demo_without_any_family_says_what_to_install(play: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("TEXTGEN_PLUGINS", "bigram")  # a plugin with no demo recipes
    assert toolkit.demo.RECIPES == ()  # asked afresh, of the plugins installed now
    with pytest.raises(PluginError, match=r"no installed plugin offers a demo model.*textgen plugins"):
        run(tmp_path / "demo", corpus=play, pretrained=False)
    assert ": training" not in capsys.readouterr().out


def test_the_recipes_come_from_the_plugins_in_demo_order(monkeypatch: pytest.MonkeyPatch):
    """Each installed plugin's `demo_recipes`, under its registered name, lower ``demo_order`` first."""
    found = toolkit.demo.recipes()
    assert found == RECIPES and all(r.plugin in registry.plugins() for r in found)
    orders = [registry.get(r.plugin).demo_order for r in found]
    assert orders == sorted(orders)
    for name in {r.plugin for r in found}:
        assert [r.label for r in found if r.plugin == name] == [r.label for r in registry.get(name).demo_recipes()]
    if {"markov", "lstm", "gpt2"} <= set(registry.plugins()):  # the README's demo, with the built-in plugins
        assert [r.label for r in found] == ["markov-char", "markov-word", "lstm-char", "lstm-word", "gpt2-char"]
        assert [r.label for r in found if r.timed] == ["lstm-char", "lstm-word", "gpt2-char"]


def test_overrides_parse_per_plugin():
    assert parse_overrides(["lstm.hidden_size=8", "lstm.layers=2", "gpt2.block_size=16"]) == {
        "lstm": {"hidden_size": "8", "layers": "2"}, "gpt2": {"block_size": "16"}}
    with pytest.raises(ValueError, match=r"PLUGIN\.KEY=VALUE"):
        parse_overrides(["hidden_size=8"])


def test_reusable_needs_the_same_plugin_options_and_corpus(play: Path, tmp_path: Path):
    corpus = load_corpus(play)
    folder = tmp_path / "bigram"
    toolkit.train("bigram", corpus, out=folder, smoothing=0.5)
    recipe = Recipe("bigram", "bigram", {"smoothing": 0.5})
    assert reusable(folder, recipe, recipe.options, corpus, seed=0) is not None
    assert reusable(folder, recipe, recipe.options, corpus, seed=1) is None
    assert reusable(folder, recipe, {"smoothing": 0.25}, corpus, seed=0) is None
    assert reusable(folder, Recipe("bigram", "markov"), recipe.options, corpus, seed=0) is None
    other = tmp_path / "other.txt"
    other.write_text(PLAY.upper())
    assert reusable(folder, recipe, recipe.options, load_corpus(other), seed=0) is None
    assert reusable(tmp_path / "missing", recipe, recipe.options, corpus, seed=0) is None
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "textgen.json").write_text("{not json")
    assert reusable(tmp_path / "broken", recipe, recipe.options, corpus, seed=0) is None


def _trained(label: str, tokens_per_second: float | None, points: int = 3) -> ModelResult:
    compute = {"machine": {"cpu": "Test CPU", "threads": 2}}
    if tokens_per_second is not None:
        compute["tokens_per_second"] = tokens_per_second
    curve = [{"seconds": 10.0 * (i + 1), "tokens": 20_000 * (i + 1), "val_bpc_estimate": 3.0} for i in range(points)]
    return ModelResult(label=label, source=label, plugin="x", distribution="x", plugin_version="0", info={},
                       disk_bytes=None, training={"curve": curve, "compute": compute}, bpc=2.0, scored_chars=1,
                       scored_tokens=1, unknown=[], temperatures=[], speed={}, memory={})


def test_the_speed_line_sets_this_machine_against_the_readme_results_file(tmp_path: Path):
    results = tmp_path / "compare-results.json"
    results.write_text(json.dumps({"training_machine": "Other CPU, 2 threads", "models": [
        {"label": "lstm-char", "train_tokens_per_second": 42_000.0}, {"label": "gpt2-char"}]}))
    models = [_trained("markov-char", None, points=1), _trained("lstm-char", 10_900.0), _trained("gpt2-char", None)]
    assert speed_line(models, results) == (
        "this machine (Test CPU, 2 threads) trained lstm-char at 10.9k tokens/s, gpt2-char at 2.0k tokens/s; "
        "the README's figures were measured at 42.0k, not recorded on Other CPU, 2 threads")
    assert "not on disk here" in speed_line(models, tmp_path / "missing.json")


def test_demo_seeds_train_each_neural_model_k_times_for_compare_seeds(play: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]):
    if not {"lstm", "markov"} <= set(registry.plugins()):
        pytest.skip("needs the lstm and markov plugins")
    lstm = {**small_options()["lstm"], "level": "char"}
    chosen = train_all(load_corpus(play), tmp_path / "models", seed=3, max_seconds=0.5, seeds=2,
                       chosen_recipes=(Recipe("markov-char", "markov", {"level": "char"}),
                                       Recipe("lstm-char", "lstm", lstm, timed=True)))
    seeds = tmp_path / "seeds" / "lstm-char"
    assert chosen == {"markov-char": tmp_path / "models" / "markov-char", "lstm-char": [seeds / "seed-3",
                                                                                       seeds / "seed-4"]}
    assert [json.loads((p / "textgen.json").read_text())["training"]["seed"] for p in chosen["lstm-char"]] == [3, 4]
    capsys.readouterr()
    common = [str(seeds), str(tmp_path / "models" / "markov-char"), "--corpus", str(play), "--prompt", "ROMEO:",
              "--samples", "2", "--temperatures", "0.8", "--max-tokens", "10", "--json"]
    assert cli(["compare", *common, "--seeds", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    lstm_row = data["models"][0]
    assert lstm_row["label"] == "lstm-char" and [r["seed"] for r in lstm_row["runs"]] == [3, 4]
    assert lstm_row["intervals"]["bpc"]["n"] == 2 and lstm_row["intervals"]["bpc"]["low"] is not None
    assert all(c["verdict"] != "one run" for c in data["crossovers"] if c["target"] == "markov-char")
    assert cli(["compare", *common, "--seeds", "3"]) == 2
    assert "seeds=3" in capsys.readouterr().err
