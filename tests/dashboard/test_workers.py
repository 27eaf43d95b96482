"""dashboard/workers.py: jobs run at once, columns take turns at the machine, relays and stopping."""

from __future__ import annotations

import gc
import threading
import time

import pytest

pytest.importorskip("streamlit")


from apptest import PROMPT

from dashboard.columns import ColumnResult, generate
from dashboard.forms import RunOptions
from dashboard.workers import DONE, Relay, Stopped, Turns, run_concurrently
from toolkit.generation.sampling import SamplingOptions


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
