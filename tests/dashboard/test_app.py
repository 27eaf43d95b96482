"""The page under Streamlit's AppTest (dashboard/app.py and its tab modules): columns, settings,
stale results, the lens and compare tabs, quick train, and each tab module drawn alone.

Models are tiny bigram models trained on a few kilobytes (conftest.py), so the file runs in seconds;
the real browser test is test_browser.py."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from apptest import PROMPT, TEXT, set_shared
from streamlit.testing.v1 import AppTest

import toolkit
from dashboard.columns import ColumnResult
from toolkit.cli.dashboard import MODELS_ENV


def test_only_loadable_models_are_preselected_and_the_rest_are_explained(app, models):
    assert app.multiselect(key="picked").value == [str(models / n) for n in ("sharp", "smooth")]
    labels = app.multiselect(key="picked").options
    assert any("sharp · bigram" in label for label in labels)
    assert any("broken (unreadable)" in label for label in labels)  # still listed, to look at on purpose
    warning = " ".join(w.value for w in app.sidebar.warning)
    assert "broken" in warning and "corrupt textgen.json" in warning  # why, before anything ran
    assert any("1 folder(s) skipped" in c.value and "notes" in c.value for c in app.sidebar.caption)


def test_generate_streams_every_column_and_a_broken_model_stays_in_its_column(app, models):
    app.multiselect(key="picked").set_value([str(models / n) for n in ("broken", "sharp", "smooth")]).run()
    set_shared(app, max_chars=40, num_samples=2, seed=3)
    app.button(key="generate").click().run()
    assert not app.exception
    results = app.session_state["results"]
    broken = results[str(models / "broken")]
    assert broken.status == "error" and "corrupt textgen.json" in broken.error
    assert any(escape(broken.error) in h.value for h in app.get("html"))  # shown in its own column
    assert broken.load_seconds is None and str(models / "broken") in app.session_state["load_failures"]
    for name in ("sharp", "smooth"):
        check_finished_column(results[str(models / name)], toolkit.load(models / name))
    assert results[str(models / "sharp")].facts["plugin"] == "bigram"
    summary = app.dataframe[0].value  # one row per column, above them
    assert list(summary["model"]) == ["broken (unreadable)", "sharp · bigram", "smooth · bigram"]
    assert list(summary["state"]) == ["error", "done", "done"]
    sharp = summary.iloc[1]
    assert sharp["held-out bits/char"] == pytest.approx(toolkit.load(models / "sharp").training["val_bpc"], abs=1e-3)
    assert sharp["chars/s"] > 0 and sharp["distinct-2"] == results[str(models / "sharp")].metrics["distinct-2"]
    assert app.get("download_button"), "no download button for the run's JSON"
    column = json.loads(json.dumps(results[str(models / "sharp")].to_json()))
    assert column["options"]["seed"] == 3 and column["samples"] == results[str(models / "sharp")].samples


def check_finished_column(result: ColumnResult, model: toolkit.Generator) -> None:
    """A column that ran with max_chars 40, 2 samples, seed 3: its text, timing and metrics."""
    assert result.status == "done" and result.error is None
    # the column streams its samples as one batch: exactly what the API generates
    assert result.samples == model.generate(PROMPT, max_tokens=40, max_chars=40, num_samples=2, seed=3)
    assert result.load_seconds is not None and result.first_token_seconds is not None
    assert result.chars == sum(map(len, result.samples)) and result.chars_per_second > 0
    assert result.progress == 1.0 and all(result.finished(i) for i in range(2))
    assert set(result.metrics) >= {"distinct-1", "distinct-2", "repetition", "self-BLEU", "4-gram overlap"}
    assert 0 <= result.metrics["distinct-1"] <= 1
    novelty = result.novelty[0]
    assert novelty["longest_copy_span"] in result.samples[0] and novelty["nearest_passage"] in TEXT


def test_pretrained_sources_become_columns_and_a_bad_one_shows_why(app, models):
    app.multiselect(key="picked").set_value([]).run()
    app.text_input(key="pretrained").set_value(f"{models / 'smooth'}, bigram:no-such-hub-model").run()
    set_shared(app, max_chars=15, num_samples=1)
    app.button(key="generate").click().run()
    assert not app.exception
    results = app.session_state["results"]
    assert results[str(models / "smooth")].status == "done" and results[str(models / "smooth")].samples[0]
    bad = results["bigram:no-such-hub-model"]
    assert bad.status == "error" and "cannot load pretrained sources" in bad.error


def test_results_stay_after_another_interaction_and_are_marked_stale(app, models):
    set_shared(app, max_chars=20, num_samples=1, temperature=0.0)
    app.button(key="generate").click().run()
    first = app.session_state["results"][str(models / "sharp")].samples
    assert not app.main.warning and app.dataframe  # current results, and the summary table
    app.text_area(key="prompt").set_value("All:\n").run()  # no Generate: the last run stays shown
    assert app.session_state["results"][str(models / "sharp")].samples == first
    assert not app.exception
    assert any("Stale results: prompt changed" in w.value for w in app.main.warning)
    set_shared(app, temperature=0.8)
    app.run()
    assert any("prompt, temperature changed" in w.value for w in app.main.warning)
    app.button(key="generate").click().run()
    assert not app.main.warning  # generated again: current


def test_a_bad_setting_disables_generate_with_its_message(app):
    set_shared(app, temperature=-1.0)
    app.run()
    assert not app.exception
    assert app.button(key="generate").disabled
    assert any("temperature" in e.value and ">= 0" in e.value.replace("greater than or equal to", ">=")
               for e in app.error)
    assert "results" not in app.session_state
    set_shared(app, temperature=1.0)
    app.run()
    assert not app.button(key="generate").disabled and not app.error


def test_a_column_can_override_the_shared_settings(app, models):
    set_shared(app, max_chars=30, num_samples=2)
    sharp = str(models / "sharp")
    app.checkbox(key=f"own:{sharp}").check().run()
    app.number_input(key=f"own:{sharp}.temperature").set_value(0.0)
    app.button(key="generate").click().run()
    results = app.session_state["results"]
    greedy = results[sharp].samples
    assert greedy[0] == greedy[1]  # temperature 0: the seed no longer matters
    assert results[sharp].sampling.temperature == 0 and results[str(models / "smooth")].sampling.temperature == 1
    assert results[str(models / "smooth")].samples[0] != results[str(models / "smooth")].samples[1]


def test_temperature_sweep_and_next_token_chart(app, models):
    sharp = str(models / "sharp")
    app.multiselect(key="picked").set_value([sharp]).run()
    assert not (app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart"))  # nothing loaded yet
    set_shared(app, max_chars=25, top_k=7)
    app.button(key="lens.sweep").click().run()
    assert not app.exception
    sweep = app.session_state["sweep"]["results"]
    assert list(sweep) == ["T=0.3", "T=0.8", "T=1.0", "T=1.3", "T=1.8"]
    model = toolkit.load(sharp)
    for key, result in sweep.items():
        t = float(key[2:])
        assert result.samples == model.generate(PROMPT, max_tokens=25, max_chars=25, seed=0, temperature=t,
                                                top_k=7)
    assert app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")
    assert app.slider(key="lens.k:7").value == 7  # the lens starts at the sidebar's values


def test_compare_tab_reports_bpc_with_plots_and_json(app, models):
    app.multiselect(key="picked").set_value([str(models / "sharp"), str(models / "smooth")]).run()
    set_shared(app, max_chars=20, num_samples=2)
    app.text_input(key="cmp.temps").set_value("0.8, 1.3")
    app.button(key="cmp.run").click().run()
    assert not app.exception, app.exception
    report = app.session_state["compare"]
    assert [m.label for m in report.models] == ["sharp · bigram", "smooth · bigram"]
    assert report.models[0].bpc < report.models[1].bpc  # less smoothing fits this repetitive text better
    assert all(Path(report.files[name]).is_file() for name in ("bpc", "diversity", "speed"))
    table = next(d.value for d in app.dataframe if "bits/char" in d.value.columns)  # the compare tab's
    assert list(table["model"]) == ["sharp · bigram", "smooth · bigram"]
    assert table["disk MB"].notna().all() and table["memory MB"].notna().all()  # sources, measured as the CLI does


def test_quick_train_adds_a_model_from_a_plugins_typed_options(app, models):
    app.selectbox(key="qt.plugin").set_value("bigram").run()
    app.text_input(key="qt.corpus").set_value(str(models.parent / "citizens.txt"))
    app.number_input(key="qt.bigram.smoothing").set_value(0.5)
    app.button(key="qt.train").click().run()
    assert not app.exception
    new = [p for p in app.multiselect(key="picked").value if Path(p).name.startswith("bigram-citizens")]
    assert len(new) == 1 and toolkit.load(new[0]).smoothing == 0.5
    assert any("held-out" in s.value for s in app.success)
    app.number_input(key="qt.bigram.smoothing").set_value(-1.0)
    app.button(key="qt.train").click().run()
    assert any("smoothing" in e.value for e in app.error) and not app.exception


def one_tab(module: str, model: str) -> None:
    """One tab module drawn alone on a page, as `AppTest.from_function` runs it (a script: imports inside)."""
    from importlib import import_module

    import streamlit as st

    from dashboard.forms import RunOptions
    from toolkit.generation.sampling import SamplingOptions

    sources, prompt = {model: "sharp"}, "First Citizen:\n"
    shared = (RunOptions(max_chars=20, num_samples=1), SamplingOptions())
    stop_slot = st.empty()
    draw = {"sidebar": lambda m: m.sidebar(),
            "board": lambda m: m.side_by_side(sources, prompt, (shared[0].model_dump(), shared[1].model_dump()),
                                              shared, None, st.container()),
            "lens_tab": lambda m: m.temperature_lens(sources, prompt, shared, stop_slot),
            "compare_tab": lambda m: m.compare_tab(sources, prompt, shared, stop_slot),
            "surprisal": lambda m: m.surprisal_view(sources, prompt),
            "curves": lambda m: m.curves_tab(sources)}[module]
    draw(import_module(f"dashboard.{module}"))


@pytest.mark.parametrize(("module", "drawn"), [
    ("sidebar", lambda at: at.multiselect(key="picked").value),
    ("board", lambda at: at.button(key="generate").click().run().session_state["results"]),
    ("lens_tab", lambda at: at.button(key="lens.sweep").click().run().session_state["sweep"]["results"]),
    ("compare_tab", lambda at: at.button(key="cmp.run")),
    ("surprisal", lambda at: at.button(key="surprisal.go").click().run().session_state["surprisal.asked"]),
    ("curves", lambda at: at.dataframe),
])
def test_each_tab_module_draws_alone_under_apptest(module, drawn, models, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(models))
    at = AppTest.from_function(one_tab, args=(module, str(models / "sharp")), default_timeout=60).run()
    assert not at.exception, at.exception
    assert drawn(at)
    assert not at.exception, at.exception
