"""textgen dashboard: generators side by side on one prompt (``textgen dashboard`` runs this).

The sidebar picks models (directories under the models folder, pretrained sources, a
model quick-trained from any installed plugin), names the folders that cannot be
loaded and why, and holds the shared settings. The tabs:

* Side by side: a sortable summary, one row per model, above the columns; every column
  shows its first text at once, then the columns generate in turns (`workers.Turns`),
  each showing its state (`columns.STATES`), then its timing and metrics;
* Temperature lens: the lesson's temperature sweep, and one next-token distribution
  before and after each sampling option;
* Compare: held-out bits per character and the compare report's plots.

One Stop button, shown while anything runs, ends every column and Compare: pressing it
reruns the page, which closes the running loops (`workers`), and what the columns had
written so far stays on screen marked "stopped". Results whose settings have changed
since are marked stale; an invalid setting disables Generate, its message beside it.

Containers carry stable keys (``col-0``, ``result-0``, ``summary``, ``stale``, ...):
Streamlit turns them into ``st-key-...`` CSS classes, which the browser test waits on.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import closing
from html import escape
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.columns import METRICS, STATES, ColumnResult, generate
from dashboard.curves import curves_tab
from dashboard.forms import RunOptions, option_inputs
from dashboard.lens import SWEEP, next_token_table
from dashboard.models import find_models, load_model, preselect, quick_train, source_corpus
from dashboard.surprisal import surprisal_view
from dashboard.views import passage_html, sample_html
from dashboard.workers import DONE, Phase, Relay, Turns, run_concurrently
from toolkit import registry
from toolkit.cli.dashboard import MODELS_ENV
from toolkit.data.corpora import NAMED
from toolkit.errors import TextgenError
from toolkit.generation.sampling import SamplingOptions
from toolkit.generator import UnknownTokensWarning
from toolkit.modeldir import without_manifest
from toolkit.options import parse_options

DEFAULT_PROMPT = "ROMEO:\n"
#: Facts a column header shows; the rest are in its tooltip and the run's JSON.
HEADLINE_FACTS = ("plugin", "level", "corpus", "val bpc", "parameters", "states")
#: Page styles: whole labels in the model picker (its tags wrap instead of being cut off),
#: one-line column titles, each column's state as a small badge, and the column box.
CSS = """<style>
.stMultiSelect [data-baseweb="tag"] { max-width: 100%; flex-shrink: 0; height: auto; }
.stMultiSelect [data-baseweb="tag"] span { max-width: none; overflow: visible; white-space: normal; }
.stMultiSelect [data-baseweb="select"] > div { flex-wrap: wrap; max-height: none; overflow: visible; }
.tg-title { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-weight: 600; }
.tg-state { font-size: 0.8rem; padding: 0.1rem 0.5rem; border-radius: 0.6rem; display: inline-block;
            background: rgba(128,128,128,0.15); }
.tg-state-streaming, .tg-state-loading, .tg-state-queued { background: #dbeafe; color: #1e3a8a; }
.tg-state-done { background: #dcfce7; color: #14532d; }
.tg-state-error, .tg-state-stopped { background: #fee2e2; color: #7f1d1d; }
.tg-stale { background: #fef3c7; color: #78350f; }
.tg-box { overflow-y: auto; display: flex; flex-direction: column; gap: 0.35rem; }
.tg-facts { font-size: 0.8rem; opacity: 0.7; }
.tg-error { background: #fee2e2; color: #7f1d1d; padding: 0.5rem; border-radius: 0.4rem; white-space: pre-wrap; }
.tg-bar { height: 0.3rem; background: rgba(128,128,128,0.2); border-radius: 0.2rem; }
.tg-bar > div { height: 100%; background: #3b82f6; border-radius: 0.2rem; }
</style>"""

Settings = tuple[RunOptions, SamplingOptions]


# -- sidebar ------------------------------------------------------------------------


def models_folder() -> Path | None:
    text = st.sidebar.text_input("Models folder", value=os.environ.get(MODELS_ENV, ""), key="models_folder",
                                 help="Searched for model directories (folders holding textgen.json).")
    if not text.strip():
        return None
    folder = Path(text.strip()).expanduser()
    if not folder.is_dir():
        st.sidebar.error(f"models folder {str(folder)!r} is not a folder")
    return folder


def choose_models(folder: Path | None) -> dict[str, str]:
    """The chosen sources (directories or PLUGIN:SOURCE), each with a short label."""
    sidebar = st.sidebar
    found = find_models(folder) if folder else []
    failed: dict[str, str] = st.session_state.setdefault("load_failures", {})
    labels = {str(f.path): f.label for f in found}
    for path in st.session_state.setdefault("trained", []):
        labels.setdefault(path, f"{Path(path).name} · new")
    if "picked" not in st.session_state:
        st.session_state.picked = preselect(found)
    newly = st.session_state.pop("select_next", None)
    if newly:
        st.session_state.picked = [*st.session_state.picked, newly]
    st.session_state.picked = [p for p in st.session_state.picked if p in labels]
    picked = sidebar.multiselect("Model directories", list(labels), format_func=labels.get, key="picked")
    unloadable = {str(f.path): (f.label, f.error) for f in found if f.error}
    unloadable.update({s: (labels.get(s, s), why) for s, why in failed.items() if s in labels})
    folder_notes(folder, bool(labels), unloadable)
    pretrained = sidebar.text_input(
        "Pretrained sources", key="pretrained", placeholder="gpt2:distilgpt2, /path/to/hf-model",
        help="Comma-separated PLUGIN:SOURCE names or model folders, loaded with toolkit.load.")
    chosen = {p: labels[p] for p in picked}
    for source in filter(None, (s.strip() for s in re.split(r"[,\n]", pretrained))):
        chosen.setdefault(source, source)
    sidebar.caption(f"Installed plugins: {', '.join(registry.plugins()) or 'none'}")
    return chosen


def folder_notes(folder: Path | None, any_found: bool, unloadable: dict[str, tuple[str, str | None]]) -> None:
    """What the models folder holds besides loadable models: unloadable ones with why, folders without a manifest."""
    if not folder:
        return
    sidebar = st.sidebar
    if not any_found:
        sidebar.caption("No model directories found there yet: quick-train one below.")
    if unloadable:
        with sidebar.container(key="unloadable"):
            st.warning(f"{len(unloadable)} model folder(s) cannot be loaded (not preselected):\n\n"
                       + "\n".join(f"- **{escape(label)}**: {escape(why or '')}" for label, why in unloadable.values()))
    empty = without_manifest(folder)
    if empty:
        shown = ", ".join(empty[:6]) + (", …" if len(empty) > 6 else "")
        sidebar.caption(f"{len(empty)} folder(s) skipped, no textgen.json in them: {shown}. A model directory "
                        "holds the textgen.json manifest that `textgen train` writes.",
                        help="Train into a new folder with textgen train ... --out, or quick-train below.")


def quick_train_form(folder: Path | None) -> None:
    """Train a small model from any installed plugin; its typed options become inputs."""
    with st.sidebar.expander("Quick-train a model"):
        message = st.session_state.pop("trained_message", None)
        if message:
            st.success(message)
        names = list(registry.plugins())
        if not names:
            st.info("No plugins installed.")
            return
        plugin = st.selectbox("Plugin", names, key="qt.plugin")
        try:
            options_model = registry.get(plugin).Options
        except TextgenError as exc:
            st.error(str(exc))
            return
        corpus = st.text_input("Corpus", value="tinyshakespeare", key="qt.corpus",
                               help=f"A named corpus ({', '.join(NAMED)}), a text file or a folder.")
        chars = st.number_input("Train on the first N characters (0: all)", value=200_000, min_value=0,
                                step=50_000, key="qt.chars")
        seed = st.number_input("Seed", value=0, min_value=0, step=1, key="qt.seed")
        raw = option_inputs(options_model, key=f"qt.{plugin}")
        if not st.button("Train", key="qt.train"):
            return
        out = folder if folder and folder.is_dir() else session_folder()
        try:
            options = parse_options(options_model, raw, f"{plugin} option")
            with st.spinner(f"Training {plugin} on {corpus}…"):
                path, model = quick_train(plugin, corpus, int(chars), int(seed), options.model_dump(), out)
        except (TextgenError, ValueError) as exc:
            st.error(str(exc))
            return
    st.session_state.trained.append(str(path))
    st.session_state.select_next = str(path)
    st.session_state.trained_message = (f"Trained {plugin} in {model.training['train_seconds']:.1f}s: "
                                        f"held-out {model.training['val_bpc']:.3f} bits per character.")
    st.rerun()


def session_folder() -> Path:
    """Where quick-trained models go when no models folder is set: one temp folder per session."""
    if "tmp_models" not in st.session_state:
        st.session_state.tmp_models = tempfile.mkdtemp(prefix="textgen-dashboard-")
    return Path(st.session_state.tmp_models)


def shared_settings() -> tuple[dict[str, Any], dict[str, Any]]:
    st.sidebar.header("Settings for every column")
    return (option_inputs(RunOptions, key="shared", where=st.sidebar),
            option_inputs(SamplingOptions, key="shared", where=st.sidebar))


def parsed(raw_run: dict[str, Any], raw_sampling: dict[str, Any]) -> tuple[Settings | None, str | None]:
    """The settings, or None and the message saying what is wrong."""
    try:
        return (parse_options(RunOptions, raw_run, "setting"),
                parse_options(SamplingOptions, raw_sampling, "sampling option")), None
    except ValueError as exc:
        return None, str(exc)


# -- drawing results ----------------------------------------------------------------


def fmt(value: float | None, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def box_height(run: RunOptions) -> int:
    """Pixels for a column's box: the same in every column, so the metrics tables line up."""
    return int(min(760, max(260, 150 + run.num_samples * (40 + run.max_chars * 0.55))))


def state_html(result: ColumnResult, elapsed: float | None = None, stale: list[str] | None = None) -> str:
    """The column's state badge: loading (with its clock), streaming, ..., and "stale" when settings changed."""
    clock = f" {elapsed:.1f} s" if result.status == "loading" and elapsed is not None else ""
    badge = f'<span class="tg-state tg-state-{result.status}">{STATES[result.status]}{clock}</span>'
    if stale:
        badge += f' <span class="tg-state tg-stale">stale: {escape(", ".join(stale))} changed since</span>'
    return f'<div class="tg-state-line">{badge}</div>'


def timing_text(result: ColumnResult) -> str:
    """Load time, first-token time and characters per second over generation, each on its own."""
    parts = ["model loaded in " + fmt(result.load_seconds, ".2f") + " s"]
    if result.first_token_seconds is not None:
        parts.append(f"first text {result.first_token_seconds:.2f} s after loading")
    cps = result.chars_per_second
    if cps and result.status != "streaming":
        parts.append(f"{cps:,.0f} chars/s over {result.seconds:.2f} s of generating "
                     f"({result.chars:,} chars, {result.tokens:,} tokens)")
    elif cps:
        parts.append(f"{cps:,.0f} chars/s so far")
    return " · ".join(parts)


def column_html(result: ColumnResult, elapsed: float | None = None, stale: list[str] | None = None) -> str:
    """State, header facts, notices, progress, samples and timing as one block of one height.

    One element, not one per part: a column redrawn several times in a run keeps the
    same number of elements (none left over from a longer drawing), and each redraw
    sends one message.
    """
    parts = [state_html(result, elapsed, stale)]
    if result.facts:
        shown = " · ".join(f"{k} {v}" for k, v in result.facts.items() if k in HEADLINE_FACTS)
        everything = "\n".join(f"{k}: {v}" for k, v in result.facts.items())
        parts.append(f'<div class="tg-facts" title="{escape(everything)}">{escape(shown)}</div>')
    if result.error:
        parts.append(f'<div class="tg-error">{escape(result.error)}</div>')
    parts += [f'<div class="tg-facts">⚠ {escape(notice)}</div>' for notice in result.notices]
    if result.status in ("loading", "streaming"):
        parts.append(f'<div class="tg-bar"><div style="width: {result.progress:.1%}"></div></div>')
    spans = [n.get("longest_copy_span", "") for n in result.novelty]
    for i, text in enumerate(result.samples):
        span = spans[i] if i < len(spans) else ""
        parts.append(sample_html(result.prompt, text, span, cursor=not result.finished(i), stale=bool(stale)))
    if result.load_seconds is not None and not result.error:
        parts.append(f'<div class="tg-facts tg-timing">{escape(timing_text(result))}</div>')
    return f'<div class="tg-box" style="height: {box_height(result.run)}px">{"".join(parts)}</div>'


def draw_result(result: ColumnResult, elapsed: float | None = None, stale: list[str] | None = None) -> None:
    """A column's content: its box (`column_html`), then the metrics table and the nearest passage.

    Always three elements, so a redraw replaces each in place; the box has one height in
    every column, so every column's metrics table starts at the same height.
    """
    st.html(column_html(result, elapsed, stale))
    metrics, nearest = st.empty(), st.empty()
    if result.status not in ("loading", "error"):
        metrics.markdown("\n".join(["| metric | value |", "|---|---|"]
                                   + [f"| {k} | {fmt(result.metrics.get(k), '.3g')} |" for k in METRICS]))
    if result.novelty:
        with nearest.container():
            draw_nearest(result.novelty[0])


def draw_nearest(first: dict[str, Any]) -> None:
    """The training passage nearest a column's first sample, its longest copied span marked."""
    with st.expander(f"Nearest training passage (similarity {first['nearest_similarity']:.2f})"):
        st.caption(f"longest copied span: {first['longest_copy']} chars (marked) · "
                   f"markovify would {'refuse' if first['markovify_reject'] else 'accept'} it")
        st.html(passage_html(first["nearest_passage"], first["longest_copy_span"]))


def summary_frame(rows: Iterable[tuple[str, ColumnResult]]) -> pd.DataFrame:
    """One row per model: held-out bits per character from its manifest, speed, diversity, copying."""
    return pd.DataFrame([{
        "model": label, "state": STATES[r.status], "held-out bits/char": r.facts.get("val bpc"),
        "chars/s": r.chars_per_second, "first token s": r.first_token_seconds, "load s": r.load_seconds,
        "distinct-2": r.metrics.get("distinct-2"), "copy rate": r.metrics.get("4-gram overlap"),
        "longest copy": r.metrics.get("longest copy (chars)")} for label, r in rows])


SUMMARY_FORMATS = {"held-out bits/char": "%.3f", "chars/s": "%,.0f", "first token s": "%.3f", "load s": "%.2f",
                   "distinct-2": "%.3f", "copy rate": "%.3f", "longest copy": "%d"}


def draw_summary(slot: Any, rows: Iterable[tuple[str, ColumnResult]]) -> None:
    """The summary table (sortable: click a column's header) in ``slot``."""
    slot.dataframe(summary_frame(rows), hide_index=True, width="stretch", column_config={
        name: st.column_config.NumberColumn(name, format=spec) for name, spec in SUMMARY_FORMATS.items()})


def stream_into(slots: dict[str, Any], results: dict[str, ColumnResult], into: dict[str, ColumnResult],
                corpus: str | None = None, final_key: str | None = None,
                on_change: Callable[[dict[str, ColumnResult]], None] | None = None) -> None:
    """Run every column's job, redrawing each slot as its snapshots arrive.

    The columns load at once and generate in turns (`Turns`: every first text, then one
    column at a time at full speed); the page draws in short turns of its own between
    two steps of the column generating.

    ``into`` (a dict in the session state) holds the latest snapshot of each column all
    along, so a run ended by Stop keeps what it had. ``on_change`` is called whenever a
    column's figures are final (the summary table redraws then, not on every piece or turn). With
    ``final_key`` the last drawing of column i is a container keyed ``{final_key}-{i}``.
    """
    latest = dict(results)
    begun = time.perf_counter()
    for key, result in latest.items():
        with slots[key].container():
            draw_result(result, elapsed=0.0)
    phase, turns = Phase(len(results)), Turns()  # every column generates before any measures
    jobs = {key: (lambda r=result: generate(r, corpus, phase, turns)) for key, result in results.items()}
    with closing(run_concurrently(jobs)) as batches:
        for batch in batches:
            with turns.turn(short=True):  # drawing in a turn of its own takes no column's time
                before = {k: r.status for k, r in latest.items()}
                # nothing came: redraw the unfinished columns anyway (a loading one's clock), which is also
                # where Streamlit notices a pressed Stop
                changed = absorb(batch, latest) or {k for k, r in latest.items() if not r.done}
                into.update(latest)
                for key in changed:
                    with slots[key].container():
                        draw_result(latest[key], elapsed=time.perf_counter() - begun)
                if on_change and any(_settled(s, latest[k].status) for k, s in before.items()):
                    on_change(latest)
    for i, key in enumerate(results if final_key else ()):
        with slots[key].container(key=f"{final_key}-{i}"):
            draw_result(latest[key])


def _settled(before: str, now: str) -> bool:
    """Whether a column going from state ``before`` to ``now`` has its final figures for the summary.

    Not on every change: redrawing the table is the browser's heaviest work on the page,
    and it would take the machine from the column generating.
    """
    return before != now and now in ("done", "error", "stopped")


def absorb(batch: list[tuple[str, Any]], latest: dict[str, ColumnResult]) -> set[str]:
    """Apply a batch of worker items to ``latest``; the keys that changed."""
    for key, item in batch:
        if item is DONE:
            if not latest[key].done:
                latest[key].status = "done"
        elif isinstance(item, BaseException):
            latest[key].error = f"{type(item).__name__}: {item}"
            latest[key].status = "error"
        else:
            latest[key] = item
    return {key for key, _ in batch}


def mark_interrupted(results: Iterable[ColumnResult]) -> None:
    """Columns a page rerun cut off (Stop, or a setting changed while they ran) are stopped, not running."""
    for result in results:
        if not result.done:
            result.status = "stopped"


def stale_settings(result: ColumnResult, plan: ColumnResult | None) -> list[str]:
    """What changed between the settings a column's text came from and its settings now."""
    if plan is None:
        return ["settings (now invalid)"]
    now, then = plan.settings(), result.settings()
    return [name.replace("_", " ") for name in now if now[name] != then.get(name)]


def show_stop(slot: Any) -> None:
    """The one Stop button, shown while something runs: pressing it reruns the page, ending the run."""
    slot.button("Stop", key="stop", icon=":material/stop_circle:",
                help="Stop every column (and Compare); what was generated so far stays.")


# -- side by side -------------------------------------------------------------------


class Board:
    """The side-by-side tab: columns drawn first, run (or redrawn) once Generate has been decided."""

    def __init__(self, sources: dict[str, str], prompt: str, raw: tuple[dict[str, Any], dict[str, Any]],
                 shared: Settings | None) -> None:
        self.sources, self.prompt = sources, prompt
        self.plans: dict[str, ColumnResult | None] = {}
        self.problems: list[str] = []
        self.notice = st.empty()
        with st.container(key="summary"):
            self.summary = st.empty()
        self.slots: dict[str, Any] = {}
        for i, (column, (source, label)) in enumerate(zip(st.columns(len(sources)), sources.items(), strict=True)):
            with column, st.container(key=f"col-{i}"):
                st.html(f'<div class="tg-title" title="{escape(label)}">{escape(label)}</div>')
                settings = self.column_settings(source, label, raw, shared)
                self.slots[source] = st.empty()
            self.plans[source] = None if settings is None else ColumnResult(
                source=source, prompt=prompt, run=settings[0], sampling=settings[1])

    def column_settings(self, source: str, label: str, raw: tuple[dict[str, Any], dict[str, Any]],
                        shared: Settings | None) -> Settings | None:
        with st.expander("Column settings"):
            own = st.checkbox("Own settings", key=f"own:{source}",
                              help="Override the sidebar's settings for this column only.")
            if not own:
                return shared
            settings, problem = parsed(option_inputs(RunOptions, key=f"own:{source}", defaults=raw[0]),
                                       option_inputs(SamplingOptions, key=f"own:{source}", defaults=raw[1]))
        if problem:
            st.error(problem)
            self.problems.append(f"{label}: {problem}")
        return settings

    def run(self, stop_slot: Any) -> None:
        """Generate in every column (in turns), the Stop button shown meanwhile."""
        show_stop(stop_slot)
        runnable = {s: p for s, p in self.plans.items() if p is not None}
        into: dict[str, ColumnResult] = st.session_state.setdefault("results", {})
        for source in runnable:
            into.pop(source, None)
        stream_into({s: self.slots[s] for s in runnable}, runnable, into, on_change=self.redraw_summary)
        failures = st.session_state.load_failures  # listed in the sidebar from now on, until one loads
        for source in runnable:
            result = into.get(source)
            if result and result.error and result.load_seconds is None:
                failures[source] = result.error
            else:
                failures.pop(source, None)
        stop_slot.empty()

    def redraw_summary(self, results: dict[str, ColumnResult]) -> None:
        draw_summary(self.summary, [(self.sources[s], results[s]) for s in self.sources if s in results])

    def show_stored(self) -> None:
        """The last run's columns, each marked stale if its settings have changed since."""
        stored: dict[str, ColumnResult] = st.session_state.get("results", {})
        mark_interrupted(stored.values())
        shown = [s for s in self.sources if s in stored]
        if not shown:
            return
        changes = {s: stale_settings(stored[s], self.plans[s]) for s in shown}
        what = sorted({c for change in changes.values() for c in change})
        if what:
            with self.notice.container(key="stale"):
                st.warning(f"Stale results: {', '.join(what)} changed since they were generated. "
                           "Press Generate to refresh them.", icon=":material/history:")
        for source in shown:
            with self.slots[source].container(key=f"result-{list(self.sources).index(source)}"):
                draw_result(stored[source], stale=changes[source])
        self.redraw_summary(stored)
        record = {"prompt": stored[shown[0]].prompt, "columns": [stored[s].to_json() for s in shown]}
        st.download_button("Download this run (JSON)", json.dumps(record, indent=2, default=str),
                           file_name="textgen-run.json", mime="application/json", key="download-run")


# -- temperature lens ---------------------------------------------------------------


def temperature_lens(sources: dict[str, str], prompt: str, settings: Settings | None, stop_slot: Any) -> None:
    source = st.selectbox("Model", list(sources), format_func=sources.get, key="lens.model")
    st.markdown(f"**The lesson's sweep**: T = {', '.join(map(str, SWEEP))}, same seed, other settings "
                "from the sidebar.")
    go = st.button("Run the sweep", key="lens.sweep", disabled=settings is None)
    slots = {}
    for i, (column, t) in enumerate(zip(st.columns(len(SWEEP)), SWEEP, strict=True)):
        with column, st.container(key=f"sweep-col-{i}"):
            st.markdown(f"**T = {t}**")
            slots[f"T={t}"] = st.empty()
    stored = st.session_state.get("sweep", {})
    mark_interrupted(stored.get("results", {}).values())
    if go and settings:
        show_stop(stop_slot)
        run = settings[0].model_copy(update={"num_samples": 1})
        plans = {f"T={t}": ColumnResult(source=source, prompt=prompt, run=run,
                                        sampling=settings[1].model_copy(update={"temperature": t}))
                 for t in SWEEP}
        st.session_state.sweep = stored = {"source": source, "results": {}}
        stream_into(slots, plans, stored["results"], final_key="sweep")
        stop_slot.empty()
    elif stored.get("source") == source:
        for i, (key, result) in enumerate(stored["results"].items()):
            with slots[key].container(key=f"sweep-{i}"):
                draw_result(result)
    next_token_chart(source, prompt, settings[1] if settings else SamplingOptions())


def next_token_chart(source: str, prompt: str, sampling: SamplingOptions) -> None:
    """One next-token distribution before and after each sampling option, starting from the sidebar's values.

    The model is loaded only once something asked for it (a run, or the button here):
    opening the page should not spend seconds loading a model for a tab not looked at.
    """
    st.subheader("Next-token distribution")
    opened = st.session_state.setdefault("lens_opened", set())
    if source not in opened and source not in st.session_state.get("results", {}) \
            and st.session_state.get("sweep", {}).get("source") != source:
        if not st.button("Look inside this model", key="lens.open"):
            return
        opened.add(source)
    try:
        with st.spinner("Loading the model…"):
            model = load_model(source)
    except Exception as exc:  # a broken model is shown, not raised
        st.error(f"{type(exc).__name__}: {exc}")
        return
    generated = st.session_state.get("results", {}).get(source)
    default = prompt + (generated.samples[0] if generated and generated.samples else "")
    text = st.text_area("Text to look inside", value=default, key=f"lens.text:{hash(default)}", height=90)
    ids = model.encode(text)
    if not ids:
        st.info("Type some text to see the distribution after it.")
        return
    start = min(len(ids), len(model.encode(prompt))) if prompt else 0
    pos = st.slider("Position (tokens of context)", 0, len(ids), value=start, key=f"lens.pos:{hash(default)}")
    before, after = model.decode(ids[:pos]), model.decode(ids[pos : pos + 1])
    st.html(sample_html(before[-300:], after, after, cursor=not after))
    try:
        options = parse_options(SamplingOptions, {**sampling.model_dump(), **lens_sliders(sampling)},
                                "sampling option")
        labels, table = next_token_table(model, ids[:pos], options)
    except Exception as exc:  # a plugin's failure is shown, not raised
        st.error(f"{type(exc).__name__}: {exc}")
        return
    data = pd.DataFrame([{"token": label, "stage": stage, "probability": float(p)}
                         for stage, probs in table.items() for label, p in zip(labels, probs, strict=True)])
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("token:N", sort=labels, title="next token (the model's likeliest first)",
                axis=alt.Axis(labelAngle=0, labelFontSize=13)),
        xOffset=alt.XOffset("stage:N", sort=list(table)),
        y=alt.Y("probability:Q"), color=alt.Color("stage:N", sort=list(table)),
        tooltip=["token", "stage", alt.Tooltip("probability:Q", format=".3f")])
    st.altair_chart(chart, width="stretch")
    st.caption("Each stage adds one option in the order the sampler applies them: temperature reshapes, "
               "top-k and top-p cut the tail, min-p drops tokens far below the likeliest. ⏎ is a newline, "
               "␣ a space.")


def lens_sliders(sampling: SamplingOptions) -> dict[str, float]:
    """The lens's four sliders, starting at the sidebar's values (their keys follow those values)."""
    start = {"temperature": min(2.0, sampling.temperature), "top_k": min(100, sampling.top_k),
             "top_p": max(0.05, sampling.top_p), "min_p": min(0.5, sampling.min_p)}
    columns = st.columns(4)
    return {"temperature": columns[0].slider("temperature", 0.0, 2.0, start["temperature"], 0.05,
                                             key=f"lens.t:{start['temperature']}"),
            "top_k": columns[1].slider("top-k (0: off)", 0, 100, start["top_k"], key=f"lens.k:{start['top_k']}"),
            "top_p": columns[2].slider("top-p", 0.05, 1.0, start["top_p"], 0.05, key=f"lens.p:{start['top_p']}"),
            "min_p": columns[3].slider("min-p (0: off)", 0.0, 0.5, start["min_p"], 0.01,
                                       key=f"lens.minp:{start['min_p']}")}


# -- compare ------------------------------------------------------------------------


def compare_tab(sources: dict[str, str], prompt: str, settings: Settings | None, stop_slot: Any) -> None:
    """`toolkit.compare` on the chosen models: held-out bpc table, plots, the report's JSON."""
    corpora = [c for c in map(source_corpus, sources) if c]
    left, middle, right = st.columns(3)
    corpus = left.text_input("Held-out corpus", value=corpora[0] if corpora else "tinyshakespeare",
                             key="cmp.corpus", help="Its validation split is scored; its training split "
                             "is the novelty reference.")
    score_chars = middle.number_input("Score at most N held-out characters (0: all)", value=0,
                                      min_value=0, step=10_000, key="cmp.chars")
    temperatures = right.text_input("Temperatures", value=", ".join(map(str, SWEEP)), key="cmp.temps")
    if st.session_state.pop("compare_running", False):
        st.info("Compare was stopped before it finished.", icon=":material/stop_circle:")
    if st.button("Run compare", key="cmp.run", disabled=settings is None) and settings:
        run_compare(sources, corpus, prompt, temperatures, int(score_chars), settings[0], stop_slot)
    report = st.session_state.get("compare")
    if report is None:
        return
    draw_report(report)


def draw_report(report: Any) -> None:
    """The report's table as a scrollable, sortable frame (no page overflow), its failures, references and plots."""
    rows = [report_row(m, report.table_temperature) for m in report.models]
    frame = pd.DataFrame(rows).dropna(axis="columns", how="all")  # a column nobody has is left out, not "-"
    with st.container(key="cmp-table"):
        st.dataframe(frame, hide_index=True, width="stretch")
    for failed in report.failed:
        st.error(f"{failed.label}: {failed.error}")
    if report.references:
        st.caption("Reference lines on the same split, bits/char: "
                   + ", ".join(f"{r['name']} {r['bpc']:.3f}" for r in report.references))
    plots = [path for name, path in report.files.items() if name not in ("json", "markdown")]
    for column, path in zip(st.columns(len(plots) or 1), plots, strict=False):
        column.image(path)
    st.download_button("Download the compare report (JSON)", json.dumps(report.to_json(), indent=2),
                       file_name="textgen-compare.json", mime="application/json", key="download-compare")


def report_row(m: Any, temperature: float) -> dict[str, Any]:
    """One model's row of the compare table, at the table's temperature."""
    r = m.at(temperature)
    rss = m.memory.get("added_rss_bytes")
    return {"model": m.label, "bits/char": m.bpc, "chars/s": m.speed["chars_per_second"],
            "tokens/s": m.speed["tokens_per_second"], "first token ms": _times(m.speed["first_token_seconds"], 1e3),
            "train s": m.speed["train_seconds"], "disk MB": _times(m.disk_bytes, 1e-6), "memory MB": _times(rss, 1e-6),
            f"distinct-2 @ T={temperature}": r.distinct_2, "self-BLEU": r.self_bleu, "copy rate": r.ngram_overlap,
            "longest copy": r.longest_copy, "markovify rejects": r.markovify_reject_rate}


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def run_compare(sources: dict[str, str], corpus: str, prompt: str, temperatures: str, score_chars: int,
                run: RunOptions, stop_slot: Any) -> None:
    """Compare in a worker thread, its progress in a status box; Stop ends it at its next step.

    Sources (not loaded models) go to `compare`, so it measures each model's disk size
    and memory in a fresh process as ``textgen compare`` does.
    """
    from toolkit.comparison import compare, parse_temperatures

    def call(progress: Callable[[str], None]) -> Any:
        return compare({label: source for source, label in sources.items()}, corpus, [prompt],
                       samples=run.num_samples, temperatures=parse_temperatures(temperatures),
                       max_chars=run.max_chars, seed=run.seed, max_score_chars=score_chars or None,
                       out=Path(session_folder()) / f"compare-{time.strftime('%Y%m%d-%H%M%S')}", progress=progress)

    show_stop(stop_slot)
    st.session_state.compare_running = True
    with st.status("Comparing…", expanded=False) as status:
        relay = Relay(call)
        try:
            with closing(relay.batches()) as batches:
                for messages in batches:
                    status.update(label=messages[-1] if messages else None)
        except (TextgenError, ValueError) as exc:
            status.update(label="Compare failed", state="error")
            st.error(str(exc))
            return
        finally:
            st.session_state.compare_running = False
            stop_slot.empty()
        report = relay.result
        status.update(label=f"Compared {len(report.models)} models in {report.elapsed_seconds:.1f}s",
                      state="complete")
    st.session_state.compare = report


# -- page ---------------------------------------------------------------------------


def controls(problem: str | None, runnable: bool) -> tuple[bool, Any]:
    """Generate (disabled while a setting is invalid, the message beside it) and the Stop button's slot."""
    go_column, stop_column, message = st.columns([1, 1, 6], vertical_alignment="center")
    go = go_column.button("Generate", type="primary", key="generate", disabled=bool(problem) or not runnable)
    if problem:
        with message.container(key="invalid"):
            st.error(problem)
    return go, stop_column.empty()


def main() -> None:
    st.set_page_config(page_title="textgen dashboard", layout="wide")
    st.html(CSS)
    warnings.filterwarnings("ignore", category=UnknownTokensWarning)  # each column shows its own notice
    folder = models_folder()
    sources = choose_models(folder)
    quick_train_form(folder)
    raw = shared_settings()
    st.title("textgen · side by side")
    prompt = st.text_area("Prompt", value=DEFAULT_PROMPT, key="prompt", height=80)
    shared, problem = parsed(*raw)
    top = st.container()
    if not sources:
        with top:
            controls(problem, runnable=False)
        st.info("Pick models in the sidebar: model directories, pretrained sources, or quick-train one.")
        return
    side, lens, compare, surprised, curves = st.tabs(
        ["Side by side", "Temperature lens", "Compare", "Where each model is surprised", "Learning curves"])
    with side:
        board = Board(sources, prompt, raw, shared)
    with top:
        go, stop_slot = controls(problem or "; ".join(board.problems) or None, runnable=True)
    with side:
        if go:
            board.run(stop_slot)
        board.show_stored()
    with lens:
        temperature_lens(sources, prompt, shared, stop_slot)
    with compare:
        compare_tab(sources, prompt, shared, stop_slot)
    with surprised:
        surprisal_view(sources, prompt)
    with curves:
        curves_tab(sources)


main()
