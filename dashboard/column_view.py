"""One column on the page: its state badge, facts, samples and timing as one block, its metrics below.

Shared by the side-by-side board and the temperature lens's sweep.
"""

from __future__ import annotations

from html import escape
from typing import Any

import streamlit as st

from dashboard.columns import METRICS, STATES, ColumnResult
from dashboard.forms import RunOptions
from dashboard.views import passage_html, sample_html

#: Facts a column header shows; the rest are in its tooltip and the run's JSON.
HEADLINE_FACTS = ("plugin", "level", "corpus", "val bpc", "parameters", "states")


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
