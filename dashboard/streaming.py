"""Columns running on the page: their jobs streamed into their slots, the Stop button, runs a rerun cut off.

Shared by the side-by-side board and the temperature lens's sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any

from dashboard.column_view import draw_result
from dashboard.columns import ColumnResult, generate
from dashboard.workers import DONE, Phase, Turns, run_concurrently


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


def show_stop(slot: Any) -> None:
    """The one Stop button, shown while something runs: pressing it reruns the page, ending the run."""
    slot.button("Stop", key="stop", icon=":material/stop_circle:",
                help="Stop every column (and Compare); what was generated so far stays.")
