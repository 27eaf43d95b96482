"""dashboard/columns.py: one column's generation, its measurements and its progress."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("streamlit")


from dashboard.columns import ColumnResult
from dashboard.forms import RunOptions
from dashboard.workers import Phase, run_concurrently
from toolkit.generation.sampling import SamplingOptions


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
