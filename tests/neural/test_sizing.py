"""The sizing rule: sizes follow the budget, the corpus size and the device; the user's options win."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from textgen_gpt2 import GPT2Options
from textgen_gpt2.sizing import TABLE as GPT2_TABLE
from textgen_lstm import LSTMOptions
from textgen_lstm.sizing import TABLE as LSTM_TABLE

from toolkit.neural.sizing import (
    DEFAULT_PATIENCE,
    SMALL_CORPUS,
    Sizing,
    apply,
    budget_steps,
    choose,
    fit_to_corpus,
    next_size_up,
    plateau_hint,
    table_markdown,
)
from toolkit.options import describe

TABLES = {"lstm": LSTM_TABLE, "gpt2": GPT2_TABLE}  # each plugin's own table, by the plugin's name

LARGE = 1_000_000  # Tiny Shakespeare's training split is about this long
TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 40
DOCS = Path(__file__).resolve().parents[2] / "docs" / "sizing.md"




@pytest.mark.parametrize("family", list(TABLES))
def test_longer_budget_never_picks_a_smaller_model(family):
    table = TABLES[family]
    sizes = [table.weights(choose(table, seconds=s, steps=None, corpus_chars=LARGE, device="cpu")[0].values)
             for s in (15, 60, 85, 150, 300, 600, 3600)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


@pytest.mark.parametrize("family", list(TABLES))
def test_short_and_long_budget_on_a_large_corpus(family):
    short, why = choose(TABLES[family], seconds=85, steps=None, corpus_chars=LARGE, device="cpu")
    long, _ = choose(TABLES[family], seconds=600, steps=None, corpus_chars=LARGE, device="cpu")
    assert (short.name, long.name) == ("cpu-short", "cpu-long")
    assert TABLES[family].weights(long.values) > TABLES[family].weights(short.values)
    # GPT-2's long row is baby, undropped: a deeper, dropped-out model trained worse in 600 s on 2 cores
    assert long.values["dropout"] > short.values["dropout"] or family == "gpt2"
    assert "85 s budget on cpu" in why and "1,000,000-char" in why


@pytest.mark.parametrize("family", list(TABLES))
def test_small_corpus_gets_a_smaller_model_and_more_dropout(family):
    big, _ = choose(TABLES[family], seconds=600, steps=None, corpus_chars=LARGE, device="cpu")
    for chars in (5_000, 50_000, SMALL_CORPUS - 1):
        small, why = choose(TABLES[family], seconds=600, steps=None, corpus_chars=chars, device="cpu")
        assert TABLES[family].weights(small.values) < TABLES[family].weights(big.values) / 2
        assert small.values["dropout"] > big.values["dropout"] and "capped for the small corpus" in why
    # a short budget on a small corpus is capped the same way: the corpus, not the clock, limits it
    assert choose(TABLES[family], seconds=15, steps=None, corpus_chars=50_000, device="cpu")[0].name == "small-corpus"


@pytest.mark.parametrize("family", list(TABLES))
def test_steps_budget_and_default(family):
    few = choose(TABLES[family], seconds=None, steps=100, corpus_chars=LARGE, device="cpu")[0]
    many = choose(TABLES[family], seconds=None, steps=100_000, corpus_chars=LARGE, device="cpu")[0]
    assert (few.name, many.name) == ("cpu-short", "cpu-long")
    # seconds win over steps: the wall clock is the hard limit
    assert choose(TABLES[family], seconds=30, steps=100_000, corpus_chars=LARGE, device="cpu")[0].name == "cpu-short"


@pytest.mark.parametrize("family", list(TABLES))
def test_a_token_or_flop_budget_picks_the_row_by_the_steps_it_buys(family):
    table = TABLES[family]
    short = next(r for r in table.rows if r.name == "cpu-short")
    per_step = short.values["batch_size"] * short.values.get("seq_len", short.values.get("context"))
    assert budget_steps(table, short.values, tokens=per_step * 100) == 100
    assert budget_steps(table, short.values, flops=per_step * 6 * table.weights(short.values) * 100) == 100
    assert budget_steps(table, short.values, steps=50, tokens=per_step * 100) == 50  # the tightest wins
    few, why = choose(table, seconds=None, steps=None, tokens=per_step * 100, corpus_chars=LARGE, device="cpu")
    many, _ = choose(table, seconds=None, steps=None, flops=1e18, corpus_chars=LARGE, device="cpu")
    assert (few.name, many.name) == ("cpu-short", "cpu-long")
    assert why.startswith(f"100 step budget (max_tokens={per_step * 100}) on cpu")


def test_cuda_picks_gpu_sizes_and_nanogpt_shape():
    row = choose(TABLES["gpt2"], seconds=60, steps=None, corpus_chars=LARGE, device="cuda")[0]
    assert row.name == "gpu"
    assert {k: row.values[k] for k in ("layers", "heads", "width", "context")} == {
        "layers": 6, "heads": 6, "width": 384, "context": 256}  # nanoGPT's shakespeare_char
    lstm = choose(TABLES["lstm"], seconds=60, steps=None, corpus_chars=LARGE, device="cuda")[0]
    assert lstm.name == "gpu" and lstm.values["batch_size"] > 32
    assert choose(TABLES["lstm"], seconds=60, steps=None, corpus_chars=LARGE, device="mps")[0].name == "cpu-short"


def test_tiny_corpus_shrinks_batch_and_context():
    fitted = fit_to_corpus({"batch_size": 32, "seq_len": 64}, 2_000)
    assert fitted["batch_size"] * 64 * 8 <= 2_000 and fitted["batch_size"] >= 1
    assert fit_to_corpus({"context": 256}, 100)["context"] == 50
    assert fit_to_corpus({"batch_size": 32, "seq_len": 64}, LARGE)["batch_size"] == 32
    # a word model of a 60k-char corpus sees about 12k tokens: the row follows the characters, the batch the tokens
    sized, sizing = apply(TABLES["lstm"], LSTMOptions(level="word"), corpus_chars=60_000, tokens=12_000, device="cpu")
    assert sizing.row == "small-corpus" and sized.batch_size * sized.seq_len * 8 <= 12_000


def test_users_option_wins_and_is_reported():
    from pydantic import BaseModel

    class Opts(BaseModel):
        max_seconds: float | None = None
        max_steps: int | None = None
        hidden_size: int | None = None
        embedding_size: int | None = None
        layers: int | None = None
        dropout: float | None = None
        batch_size: int | None = None
        seq_len: int | None = None
        lr: float | None = None

    sized, sizing = apply(TABLES["lstm"], Opts(max_seconds=600, hidden_size=100, dropout=0.0), corpus_chars=LARGE,
                          device="cpu")
    assert sized.hidden_size == 100 and sized.dropout == 0.0  # the user's, though the row says 640 and 0.2
    assert sized.layers == 1 and sized.lr == 3e-3 and sizing.row == "cpu-long"
    assert sizing.set_by_user == ["hidden_size", "dropout"] and "hidden_size" not in sizing.chosen
    line = sizing.summary()
    assert line.startswith("sizes (rule row cpu-long: 600 s budget on cpu") and "lr=0.003" in line
    assert line.endswith("yours: hidden_size, dropout")
    assert sizing.to_json()["summary"] == line


def test_docs_table_is_the_rule():
    text = DOCS.read_text(encoding="utf-8")
    for family, table in TABLES.items():
        assert table_markdown(table) in text, f"docs/sizing.md is out of date for {family}; paste table_markdown()"


def test_docs_figures_are_recorded_results():
    """Every nats/char figure docs/sizing.md gives for where the rows come from is one bench/RESULTS.md holds."""
    section = DOCS.read_text(encoding="utf-8").split("## Where the rows come from", 1)[1]
    results = (DOCS.parents[1] / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    figures = set(re.findall(r"(?<![\d.])\d\.\d{3}(?!\d)", section))  # three decimals: the anchors' 1.4697 is quoted
    assert figures, "no figures found: the section moved?"
    assert not [f for f in sorted(figures) if f not in results], "figures in docs/sizing.md that no result holds"


@pytest.mark.parametrize("plugin", ["lstm", "gpt2"])
def test_options_mark_automatic_fields(plugin):
    from toolkit import registry

    rows = {r["name"]: r for r in describe(registry.get(plugin).Options)}
    for name in [*TABLES[plugin].rows[0].values, "patience", "eval_every"]:
        assert rows[name]["auto"] and rows[name]["default"] is None, name
    assert not rows["max_seconds"]["auto"]


def test_gpt2_preset_or_source_names_the_shape():
    sized, sizing = GPT2Options(preset="baby", max_seconds=600).sized(LARGE, "cpu")
    assert sizing.row == "none" and "preset=baby" in sizing.reason
    assert sizing.chosen == {"patience": DEFAULT_PATIENCE}  # no size chosen, but it still stops early
    assert (sized.lr, sized.dropout, sized.batch_size, sized.layers) == (3e-3, 0.0, 12, None)
    sized, sizing = GPT2Options(source="distilgpt2", lr=5e-5).sized(LARGE, "cpu")
    assert sized.lr == 5e-5 and "fine-tuning distilgpt2" in sizing.reason and sizing.set_by_user == ["lr"]
    sized, sizing = GPT2Options(max_seconds=600).sized(LARGE, "cpu")
    assert (sized.layers, sized.width, sizing.row) == (4, 128, "cpu-long")


def test_training_records_the_sizing_and_the_users_option_wins(tmp_path, capsys):
    pytest.importorskip("torch")
    import json

    from toolkit.cli import main
    from toolkit.modeldir import MANIFEST

    corpus = tmp_path / "notes.txt"
    corpus.write_text(TEXT)
    code = main(["train", "lstm", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--device", "cpu",
                 "-o", "max_steps=2", "-o", "eval_tokens=64", "-o", "progress=false", "-o", "hidden_size=24"])
    out = capsys.readouterr().out
    assert code == 0
    summary = next(line for line in out.splitlines() if line.startswith("sizes "))
    assert summary.startswith("sizes (rule row tiny-corpus: 2 step budget on cpu")
    assert summary.endswith("yours: hidden_size") and "dropout=0.4" in summary
    training = json.loads((tmp_path / "m" / MANIFEST).read_text())["training"]
    assert training["sizing"]["summary"] == summary and training["sizing"]["set_by_user"] == ["hidden_size"]
    model = json.loads((tmp_path / "m" / MANIFEST).read_text())["model"]
    assert model["hidden_size"] == 24  # the user's, not the row's 128
    assert model["embedding_size"] == TABLES["lstm"].rows[0].values["embedding_size"]
    assert model["dropout"] == training["sizing"]["chosen"]["dropout"]


def test_demo_neural_models_take_their_sizes_from_the_rule():
    from toolkit.demo import RECIPES

    neural = [r for r in RECIPES if r.plugin in TABLES]
    assert {r.plugin for r in neural} == set(TABLES)
    for recipe in neural:
        fixed = set(recipe.options) & ({"preset", *TABLES[recipe.plugin].rows[0].values})
        assert not fixed, f"demo recipe {recipe.label} fixes {fixed}"


@pytest.mark.parametrize("options", [LSTMOptions(max_seconds=600), GPT2Options(max_seconds=600),
                                     GPT2Options(preset="baby")])
def test_early_stop_is_on_by_default_and_reported(options):
    family = "lstm" if isinstance(options, LSTMOptions) else "gpt2"
    sized, sizing = (apply(TABLES[family], options, corpus_chars=LARGE, device="cpu") if family == "lstm"
                     else options.sized(LARGE, "cpu"))
    assert sized.patience == DEFAULT_PATIENCE and sizing.chosen["patience"] == DEFAULT_PATIENCE
    assert f"patience={DEFAULT_PATIENCE}" in sizing.summary()


@pytest.mark.parametrize("patience", [0, 2])
def test_your_patience_wins_and_zero_is_never(patience):
    sized, sizing = apply(TABLES["lstm"], LSTMOptions(max_seconds=60, patience=patience), corpus_chars=LARGE,
                          device="cpu")
    assert sized.patience == patience and "patience" in sizing.set_by_user and "patience" not in sizing.chosen


@pytest.mark.parametrize("family", list(TABLES))
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_next_size_up_is_the_next_larger_row(family, device):
    """The stop line names the next row up of the table; past the largest, a wider model."""
    rows = [r.values for r in TABLES[family].rows if r.max_corpus is not None or r.device == device]
    by_size = sorted(rows, key=TABLES[family].weights)
    for small, big in itertools.pairwise(by_size):
        up = next_size_up(TABLES[family], small, device)
        if TABLES[family].weights(big) > TABLES[family].weights(small):
            assert up and all(big[k] == v for k, v in up.items())
            assert TABLES[family].weights({**small, **up}) > TABLES[family].weights(small)
    largest = by_size[-1]
    up = next_size_up(TABLES[family], largest, device)
    width = "hidden_size" if family == "lstm" else "width"
    assert list(up) == [width] and largest[width] < up[width] <= 1.5 * largest[width]
    if family == "gpt2":
        assert up[width] % largest["heads"] == 0


def test_plateau_hint_names_a_larger_model_or_more_text():
    long_row = choose(TABLES["lstm"], seconds=600, steps=None, corpus_chars=LARGE, device="cpu")[0]
    model = {k: long_row.values[k] for k in ("embedding_size", "hidden_size", "layers")}
    hint = plateau_hint(TABLES["lstm"], Sizing(long_row.name, ""), model, "cpu")
    bigger = next_size_up(TABLES["lstm"], model, "cpu")["hidden_size"]
    assert hint == f"a larger model (-o hidden_size={bigger}) could use the rest of the budget"
    assert bigger > long_row.values["hidden_size"]
    small = choose(TABLES["lstm"], seconds=600, steps=None, corpus_chars=50_000, device="cpu")[0]
    assert "more text" in plateau_hint(TABLES["lstm"], Sizing(small.name, ""), model, "cpu")
    baby = {"layers": 4, "heads": 4, "width": 128}  # a preset: sized by no row, still a next size up
    wider = next_size_up(TABLES["gpt2"], baby, "cpu")  # baby is the largest CPU row: a wider model
    hint = plateau_hint(TABLES["gpt2"], Sizing("none", ""), baby, "cpu")
    assert hint.startswith(f"a larger model (-o width={wider['width']})")
    assert wider["width"] > baby["width"]


def test_training_stops_early_by_default_and_says_so(tmp_path, capsys):
    """A validation text the training text contradicts: held-out gets worse, so training stops itself."""
    pytest.importorskip("torch")
    import toolkit
    from toolkit.data.corpora import Corpus

    contrary = Corpus("contrary", "abc" * 900 + "cba" * 100)
    tiny = {"embedding_size": 8, "hidden_size": 16, "batch_size": 4, "seq_len": 16, "lr": 0.02, "warmup_steps": 2,
            "eval_tokens": 128, "device": "cpu"}
    model = toolkit.train("lstm", contrary, max_steps=300, eval_every=2, **tiny)
    training, fit = model.training, model.training["fit"]
    assert fit["stopped"] == "patience" and fit["steps"] < 300 and fit["patience"] == DEFAULT_PATIENCE
    line = training["stopped"]
    assert f"held-out bits/char stopped improving for {DEFAULT_PATIENCE} evaluations; the corpus" in line
    assert line in capsys.readouterr().err  # said in one line as training ends
    assert training["sizing"]["chosen"]["patience"] == DEFAULT_PATIENCE
    assert fit["best_val_bpc_estimate"] == min(h["val_bpc_estimate"] for h in training["history"])
    assert len([h for h in training["history"] if h["step"] > fit["best_step"]]) == DEFAULT_PATIENCE
    never = toolkit.train("lstm", contrary, max_steps=40, eval_every=2, patience=0, progress=False, **tiny)
    assert never.training["fit"]["stopped"] == "max_steps" and never.training["fit"]["steps"] == 40


def test_a_plugins_own_table_works_as_docs_show():
    """docs/sizing.md's example table for a third-party plugin: the rule sizes its options, knowing no plugin."""
    code = DOCS.read_text(encoding="utf-8").split("## A table for your own plugin", 1)[1]
    code = code.split("```python", 1)[1].split("# in your Generator.train", 1)[0]
    space: dict = {}
    exec(compile(code, str(DOCS), "exec"), space)
    table, options = space["TABLE"], space["MyOptions"]
    sized, sizing = apply(table, options(max_seconds=600), corpus_chars=LARGE, device="cpu")
    assert (sizing.row, sized.width, sized.depth, sized.patience) == ("cpu-long", 512, 2, DEFAULT_PATIENCE)
    assert choose(table, seconds=60, steps=None, corpus_chars=50_000, device="cpu")[0].name == "small-corpus"
    assert plateau_hint(table, sizing, {"width": 512, "depth": 2}, "cpu") == \
        "a larger model (-o width=640) could use the rest of the budget"
    assert table_markdown(table).splitlines()[0] == "| row | for | width | depth | lr |"


def test_the_old_path_warns_naming_the_new_one(monkeypatch):
    import importlib
    import sys

    from toolkit.neural import sizing

    monkeypatch.delitem(sys.modules, "toolkit.sizing", raising=False)
    with pytest.warns(DeprecationWarning, match=r"toolkit\.sizing has moved to toolkit\.neural\.sizing"):
        old = importlib.import_module("toolkit.sizing")
    assert old is sizing and old.apply is apply


# -- sizes from measured speed (a seconds budget) ------------------------------------------------------------

def _machine(factor: float, asked: list[str] | None = None):
    """A `Measure` for a machine ``factor`` times as fast as the one the rows were tuned on (its steps alone)."""
    from toolkit.neural.sizing import TRAINING_SHARE, Speed

    rows = [row for table in TABLES.values() for row in table.rows if row.reference_speed]

    def measure(values):
        row = next(r for r in rows if r.values == values)
        if asked is not None:
            asked.append(row.name)
        return Speed(factor * row.reference_speed / TRAINING_SHARE, "probe", 0.25)

    return measure


@pytest.mark.parametrize("family", list(TABLES))
def test_the_tuning_machine_picks_by_tokens_what_it_picked_by_seconds(family):
    table = TABLES[family]
    for seconds in (15, 60, 85, 149, 151, 300, 399, 401, 600, 3600):
        measured = choose(table, seconds=seconds, steps=None, corpus_chars=LARGE, device="cpu", measure=_machine(1))
        assert measured[0] == choose(table, seconds=seconds, steps=None, corpus_chars=LARGE, device="cpu")[0]


@pytest.mark.parametrize("family", list(TABLES))
def test_a_slower_machine_gets_the_smaller_model_it_can_train(family):
    table = TABLES[family]
    for seconds in (213, 300, 500):
        here = choose(table, seconds=seconds, steps=None, corpus_chars=LARGE, device="cpu", measure=_machine(1))[0]
        slow = choose(table, seconds=seconds, steps=None, corpus_chars=LARGE, device="cpu", measure=_machine(0.25))
        assert table.weights(slow[0].values) < table.weights(here.values)
        assert slow[0].name == "cpu-short" and "measured" in slow[1]
    # longer is never smaller on the slow machine either
    sizes = [table.weights(choose(table, seconds=s, steps=None, corpus_chars=LARGE, device="cpu",
                                  measure=_machine(0.25))[0].values) for s in (60, 213, 600, 1200, 3600)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_only_the_rows_needed_are_measured():
    table = TABLES["lstm"]
    asked: list[str] = []
    choose(table, seconds=60, steps=None, corpus_chars=LARGE, device="cpu", measure=_machine(1, asked))
    assert asked == ["cpu-short"]
    asked.clear()
    assert choose(table, seconds=3600, steps=None, corpus_chars=LARGE, device="cpu",
                  measure=_machine(1, asked))[0].name == "cpu-long"
    assert asked == ["cpu-short", "cpu-medium"]  # the largest row is taken without a measurement
    asked.clear()
    # a corpus cap below every budget row, a step budget and CUDA's one row need no measurement
    choose(table, seconds=600, steps=None, corpus_chars=50_000, device="cpu", measure=_machine(1, asked))
    choose(table, seconds=None, steps=100, corpus_chars=LARGE, device="cpu", measure=_machine(1, asked))
    choose(table, seconds=600, steps=None, corpus_chars=LARGE, device="cuda", measure=_machine(1, asked))
    assert asked == []


def test_the_summary_and_the_manifest_say_what_was_measured_and_why():
    from toolkit.neural.sizing import Speed

    speeds = {"cpu-short": Speed(10_900, "probe", 0.31), "cpu-medium": Speed(6_500, "cache")}
    measure = lambda values: speeds["cpu-short" if values["hidden_size"] == 384 else "cpu-medium"]  # noqa: E731
    sized, sizing = apply(TABLES["lstm"], LSTMOptions(max_seconds=213), corpus_chars=LARGE, device="cpu",
                          measure=measure)
    assert sizing.row == "cpu-short" and sized.hidden_size == 384
    assert "measured 10.9k tokens/s for cpu-short: 213 s buys 2.2M tokens at cpu-short (under its 6.4M)" \
        in sizing.summary()
    record = sizing.to_json()
    assert record["measured"] == [{"row": "cpu-short", "tokens_per_second": 10_900, "source": "probe",
                                   "probe_seconds": 0.31, "tokens": round(213 * 0.95 * 10_900),
                                   "max_tokens": 150 * 42_400}]
    assert record["probe_seconds"] == 0.31
    _, longer = apply(TABLES["lstm"], LSTMOptions(max_seconds=1000), corpus_chars=LARGE, device="cpu",
                      measure=measure)
    assert longer.row == "cpu-medium" and "6.5k tokens/s for cpu-medium (cache)" in longer.reason
    assert "(over its 6.4M)" in longer.reason and [m["source"] for m in longer.to_json()["measured"]] == [
        "probe", "cache"]


def test_no_measurement_under_a_step_budget_a_preset_or_every_size_set():
    def never(values):
        raise AssertionError("measured")

    for options in (LSTMOptions(max_steps=100), LSTMOptions(max_seconds=600, embedding_size=8, hidden_size=16,
                                                            layers=1, dropout=0.0, batch_size=4, seq_len=8, lr=1e-3)):
        _, sizing = apply(TABLES["lstm"], options, corpus_chars=LARGE, device="cpu", measure=never)
        assert sizing.to_json()["measured"] == [] and sizing.to_json()["probe_seconds"] == 0
    _, sizing = GPT2Options(preset="baby", max_seconds=600).sized(LARGE, "cpu", never)
    assert sizing.row == "none"


def test_the_probe_times_the_model_as_it_would_train():
    """The measured values are the row's, fitted to the corpus, with the sizes the user set."""
    from toolkit.neural.sizing import Speed

    seen = []
    apply(TABLES["lstm"], LSTMOptions(max_seconds=600, hidden_size=200), corpus_chars=LARGE, tokens=LARGE // 5,
          device="cpu", measure=lambda values: seen.append(values) or Speed(1e9, "probe"))
    assert seen[0]["hidden_size"] == 200 and seen[0]["embedding_size"] == 64
