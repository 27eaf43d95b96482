"""The compare tab: `toolkit.compare` on the chosen models, with held-out bits per character, the report's
plots and its JSON; Stop ends it at its next step."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.forms import RunOptions, Settings
from dashboard.lens import SWEEP
from dashboard.models import source_corpus
from dashboard.sidebar import session_folder
from dashboard.streaming import show_stop
from dashboard.workers import Relay
from toolkit.errors import TextgenError


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
