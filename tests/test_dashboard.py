"""The dashboard's logic: the app under Streamlit's AppTest harness, its helpers, the launcher.

Models are tiny bigram models trained on a few kilobytes in a temporary models folder,
so the whole file runs in seconds. The real browser test is test_dashboard_browser.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import threading
import time
from html import escape
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest

import toolkit
from dashboard.columns import ColumnResult, generate
from dashboard.forms import RunOptions
from dashboard.lens import next_token_table, stages
from dashboard.models import Found, find_models, preselect
from dashboard.views import marked, sample_html, token_label
from dashboard.workers import DONE, Phase, Relay, Stopped, Turns, run_concurrently
from toolkit.cli.dashboard import MODELS_ENV
from toolkit.errors import TextgenError
from toolkit.generation.sampling import SamplingOptions
from toolkit.modeldir import broken_tensors, without_manifest

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n") * 30
PROMPT = "First Citizen:\n"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    corpus = folder.parent / "citizens.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    toolkit.train("bigram", str(corpus), out=folder / "sharp", seed=0, smoothing=0.01)
    toolkit.train("bigram", str(corpus), out=folder / "smooth", seed=0, smoothing=2.0)
    (folder / "broken").mkdir()
    (folder / "broken" / "textgen.json").write_text("{not json", encoding="utf-8")
    (folder / "notes").mkdir()  # no manifest: counted in the sidebar, never a model
    return folder


@pytest.fixture
def app(models, monkeypatch) -> AppTest:
    monkeypatch.setenv(MODELS_ENV, str(models))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_area(key="prompt").set_value(PROMPT).run()
    assert not at.exception
    return at


def set_shared(at: AppTest, **values) -> None:
    for name, value in values.items():
        at.number_input(key=f"shared.{name}").set_value(value)


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


# -- helpers --------------------------------------------------------------------------


def test_workers_run_at_once_and_a_failing_job_does_not_stop_the_others():
    both = threading.Barrier(2, timeout=5)  # deadlocks unless the jobs really run concurrently

    def job(name):
        def run():
            both.wait()
            yield f"{name} 1"
            yield f"{name} 2"
        return run

    def failing():
        yield "half"
        raise ValueError("boom")

    seen: dict[str, list] = {"a": [], "b": [], "c": []}
    for batch in run_concurrently({"a": job("a"), "b": job("b"), "c": failing}):
        for key, item in batch:
            seen[key].append(item)
    assert seen["a"] == ["a 1", "a 2", DONE] and seen["b"] == ["b 1", "b 2", DONE]
    assert seen["c"][0] == "half" and isinstance(seen["c"][1], ValueError) and seen["c"][2] is DONE


def test_columns_measure_only_once_every_column_has_generated():
    phase = Phase(3)
    order: list[str] = []
    slow_may_finish = threading.Event()

    def column(name, slow=False):
        def run():
            try:
                yield f"{name} generated"
                if slow:
                    slow_may_finish.wait(5)
            finally:
                order.append(f"{name} left")
                phase.leave()
            phase.wait()
            order.append(f"{name} measured")
            yield f"{name} measured"
        return run

    def failing():
        try:
            raise ValueError("no model")
            yield  # a generator, as a column is
        finally:
            phase.leave()

    batches = run_concurrently({"fast": column("fast"), "slow": column("slow", slow=True), "bad": failing})
    next(batches)
    time.sleep(0.1)
    assert "fast measured" not in order  # held back while "slow" is still generating
    slow_may_finish.set()
    for _ in batches:
        pass
    assert order.index("slow left") < order.index("fast measured") and "slow measured" in order



def _when(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_turns_hold_one_column_at_a_time_in_order_and_first_texts_go_first():
    turns, log, holding = Turns(), [], []

    def rest(name):
        with turns.turn():
            assert not gc.isenabled()  # the collector waits while a long turn generates
            holding.append(name)
            assert len(holding) == 1, holding  # nobody else holds the machine meanwhile
            log.append(name)
            time.sleep(0.01)
            holding.remove(name)

    with turns.turn() as mine:
        threads = []
        for asked, name in enumerate(("x", "y", "z"), 1):  # each asks once the one before it is queued
            threads.append(threading.Thread(target=rest, args=(name,)))
            threads[-1].start()
            _when(lambda n=asked: len(turns.waiting) == n)
        first_done = threading.Event()

        def first_text():
            with turns.turn(short=True):
                log.append("first")
            first_done.set()

        threading.Thread(target=first_text).start()
        _when(turns.short_waiting)
        time.sleep(0.05)
        assert log == []  # nobody runs while this turn holds the machine
        mine.step_aside()  # a first turn waits: it goes now, ahead of x, y and z
        assert first_done.is_set() and log == ["first"]
        before = mine.held()
        time.sleep(0.05)
        mine.step_aside()  # nothing first waits: carries straight on
        assert mine.held() >= before + 0.04
    for thread in threads:
        thread.join(5)
    assert log == ["first", "x", "y", "z"] and gc.isenabled()


def test_a_column_shows_its_first_text_then_waits_its_turn_and_counts_only_its_turns(models):
    turns = Turns()
    result = ColumnResult(source=str(models / "sharp"), prompt=PROMPT, run=RunOptions(max_chars=200, num_samples=2),
                          sampling=SamplingOptions())
    snapshots: list[ColumnResult] = []
    started = time.perf_counter()
    with turns.turn() as other:  # another column is generating
        column = threading.Thread(target=lambda: snapshots.extend(generate(result, turns=turns)))
        column.start()
        _when(turns.short_waiting)
        other.step_aside()  # lets the column take its first step
        _when(lambda: turns.waiting)
        time.sleep(0.3)
        assert result.status == "queued" and 0 < result.chars < 400  # its first text, and no more
    column.join(30)
    wall = time.perf_counter() - started
    assert result.status == "done" and result.chars == 400
    states = [s.status for s in snapshots]
    changes = [state for i, state in enumerate(states) if i == 0 or states[i - 1] != state]
    shown = next(i for i, snap in enumerate(snapshots) if snap.chars)
    assert changes[0] == "queued" and states[shown] == "queued", states  # its first text, while it waits
    assert changes[-3:] == ["waiting", "measuring", "done"] and set(changes) <= {"queued", "streaming", *changes[-3:]}
    assert result.first_token_seconds < 0.3 and result.seconds < wall - 0.3  # the time queued is not counted

def test_workers_stop_when_the_page_moves_on():
    produced = []

    def endless():
        for i in range(10_000):
            produced.append(i)
            time.sleep(0.001)
            yield i

    batches = run_concurrently({"a": endless})
    next(batches)
    batches.close()
    time.sleep(0.05)
    count = len(produced)
    time.sleep(0.05)
    assert len(produced) <= count + 1 < 10_000


def test_lens_stages_switch_options_on_one_at_a_time(models):
    model = toolkit.load(models / "sharp")
    options = SamplingOptions(temperature=1.5, top_k=2, top_p=0.6)
    assert list(stages(options)) == ["model", "+ temperature 1.5", "+ top-k 2", "+ top-p 0.6"]
    labels, table = next_token_table(model, model.encode("First Citizen:\nBefore we p"), options, top=10)
    assert len(labels) == 10 and len(set(labels)) == 10
    raw, hot, top2 = table["model"], table["+ temperature 1.5"], table["+ top-k 2"]
    assert np.all(np.diff(raw) <= 0) and raw[0] > 0.5  # sorted; "r" of "proceed" dominates
    assert hot[0] < raw[0]  # T > 1 flattens
    assert np.count_nonzero(top2) == 2 and top2.sum() == pytest.approx(1.0)
    assert np.count_nonzero(table["+ top-p 0.6"]) == 1


def test_relay_reports_progress_returns_the_result_and_stops_when_closed():
    def work(progress):
        progress("one")
        progress("two")
        return 42

    relay = Relay(work, poll=0.01)
    messages = [m for batch in relay.batches() for m in batch]
    assert messages == ["one", "two"] and relay.result == 42

    release, steps = threading.Event(), []

    def endless(progress):
        while True:
            release.wait(5)
            steps.append(1)
            progress("step")

    relay = Relay(endless, poll=0.01)
    batches = relay.batches()
    next(batches)
    batches.close()  # Stop: the page's loop is closed
    release.set()
    time.sleep(0.1)
    assert isinstance(relay.error, Stopped) and len(steps) == 1


def test_a_column_counts_characters_its_progress_ends_only_when_it_does_and_its_cursor_goes():
    result = ColumnResult(source="m", prompt="", run=RunOptions(max_chars=10, num_samples=2),
                          sampling=SamplingOptions(), status="streaming", samples=["0123456789", "0123"], seconds=2.0)
    assert result.chars == 14 and result.chars_per_second == 7.0
    assert result.progress == pytest.approx(0.7) and result.finished(0) and not result.finished(1)
    result.samples = ["0123456789"] * 2
    assert result.progress < 1.0  # every character is there, but the run has not ended
    result.status = "waiting"
    assert result.progress == 1.0 and result.finished(1)
    assert result.settings()["max_chars"] == 10 and result.to_json()["chars_per_second"] == 10.0


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


def test_lens_labels_show_newlines_and_spaces():
    assert [token_label(t) for t in ("\n", " ", "a", "\t", "", "to be")] == ["⏎", "␣", "a", "⇥", "∅", "to␣be"]


def test_views_escape_text_and_mark_the_copied_span():
    assert marked("a <b> & c", "<b>") == 'a <mark style="background: #ffd54f; color: #000; border-radius: ' \
                                         '0.15rem">&lt;b&gt;</mark> &amp; c'
    assert marked("abc", "zz") == "abc"
    html = sample_html("<p>", "x*y_\n\nz")
    assert "&lt;p&gt;" in html and "x*y_\n\nz" in html and "pre-wrap" in html
    assert marked("end.\nNext", ".\n").endswith(".⏎\n</mark>Next")  # a marked newline shows
    assert "▌" in sample_html("", "ab", cursor=True) and "▌" not in sample_html("", "ab")


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


# -- launcher -------------------------------------------------------------------------


def test_launcher_runs_streamlit_headless_with_the_models_folder(models, monkeypatch, capsys):
    from toolkit.cli import dashboard

    started = {}

    class FakeProcess:
        def __init__(self, cmd, env):
            started.update(cmd=cmd, env=env)

        def wait(self, timeout=None):
            if "interrupted" not in started:
                started["interrupted"] = True
                raise KeyboardInterrupt
            return 0

        def send_signal(self, sig):
            started["signal"] = sig

    monkeypatch.setattr(dashboard.subprocess, "Popen", FakeProcess)
    assert dashboard.main(argparse.Namespace(models=models, port=8765)) == 0
    cmd = started["cmd"]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and Path(cmd[4]) == APP
    for flag, value in [("--server.headless", "true"), ("--browser.gatherUsageStats", "false"),
                        ("--server.port", "8765"), ("--server.address", "localhost")]:
        assert cmd[cmd.index(flag) + 1] == value
    assert started["env"][MODELS_ENV] == str(models.resolve())
    assert started["signal"] == signal.SIGINT  # Ctrl-C is passed on and waited for
    assert "http://localhost:8765" in capsys.readouterr().out


def test_launcher_refuses_a_missing_models_folder_and_a_bad_port(tmp_path):
    from toolkit.cli import dashboard

    with pytest.raises(TextgenError, match="not a folder"):
        dashboard.main(argparse.Namespace(models=tmp_path / "nope", port=8501))
    with pytest.raises(ValueError, match="--port"):
        dashboard.main(argparse.Namespace(models=None, port=0))
