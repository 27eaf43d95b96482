"""The side-by-side tab: one column per model, a sortable summary above them, Generate and Stop.

Every column shows its first text at once, then the columns generate in turns
(`workers.Turns`), each showing its state (`columns.STATES`), then its timing and
metrics. Results whose settings have changed since are marked stale; an invalid setting
disables Generate, its message beside it. `side_by_side` draws the tab and returns the
Stop button's slot, which the other tabs' runs share.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.column_view import draw_result
from dashboard.columns import STATES, ColumnResult
from dashboard.forms import RunOptions, Settings, option_inputs, parsed
from dashboard.streaming import mark_interrupted, show_stop, stream_into
from toolkit.generation.sampling import SamplingOptions


def side_by_side(sources: dict[str, str], prompt: str, raw: tuple[dict[str, Any], dict[str, Any]],
                 shared: Settings | None, problem: str | None, top: Any) -> Any:
    """The tab's columns, Generate and Stop drawn in ``top`` (above the tabs), a run if Generate was pressed.

    The columns come first: their own settings decide whether Generate is enabled. Returns
    the Stop button's slot.
    """
    board = Board(sources, prompt, raw, shared)
    with top:
        go, stop_slot = controls(problem or "; ".join(board.problems) or None, runnable=True)
    if go:
        board.run(stop_slot)
    board.show_stored()
    return stop_slot


def controls(problem: str | None, runnable: bool) -> tuple[bool, Any]:
    """Generate (disabled while a setting is invalid, the message beside it) and the Stop button's slot."""
    go_column, stop_column, message = st.columns([1, 1, 6], vertical_alignment="center")
    go = go_column.button("Generate", type="primary", key="generate", disabled=bool(problem) or not runnable)
    if problem:
        with message.container(key="invalid"):
            st.error(problem)
    return go, stop_column.empty()


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


def stale_settings(result: ColumnResult, plan: ColumnResult | None) -> list[str]:
    """What changed between the settings a column's text came from and its settings now."""
    if plan is None:
        return ["settings (now invalid)"]
    now, then = plan.settings(), result.settings()
    return [name.replace("_", " ") for name in now if now[name] != then.get(name)]


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
        failures = st.session_state.setdefault("load_failures", {})  # listed in the sidebar until one loads
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
