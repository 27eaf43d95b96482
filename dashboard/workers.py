"""Run jobs in threads and hand their output to the Streamlit script thread.

Streamlit elements may only be written from the script thread, so each job runs in a
worker thread that pushes what it yields onto one queue, and the script loop drains the
queue and redraws. The page is therefore busy only as long as the slowest job.

The loop also yields an empty batch when nothing came for ``poll`` seconds: the script
draws something then (a loading column's clock), and drawing is where Streamlit notices
that the user pressed Stop or changed a setting. It then ends the script run, closing
these iterators, which tells the workers to stop.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from toolkit.machine import wait_until_quiet

#: Marks the end of a job's output (after its last item or its error).
DONE = object()
#: Seconds a long turn waits at most for other processes to leave the cores free.
SETTLE = 0.3


class Phase:
    """Holds jobs back until every job has left a phase (finished it, failed or been dropped).

    Columns measure their samples only once every column has generated: the metrics
    and the novelty index are CPU work that would otherwise take the interpreter from
    the columns still generating, and make the slower models slower still.
    """

    def __init__(self, jobs: int) -> None:
        self.left = jobs
        self.changed = threading.Condition()

    def leave(self) -> None:
        with self.changed:
            self.left -= 1
            self.changed.notify_all()

    def wait(self) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.left <= 0)


class Turn:
    """One hold on the machine, from `Turns.turn`: its seconds held, and a way to step aside."""

    def __init__(self, turns: Turns, entry: tuple[int, int]) -> None:
        self.turns, self.entry = turns, entry
        self.seconds = 0.0  #: held so far, time spent stepped aside excluded
        self.since = time.perf_counter()

    def held(self) -> float:
        """Seconds this turn has held the machine, up to now."""
        return self.seconds + time.perf_counter() - self.since

    def step_aside(self) -> None:
        """Let the short turns waiting go first, then carry on at the head of the queue."""
        if not self.turns.short_waiting():
            return
        self.seconds = self.held()
        self.turns.release()
        self.turns.acquire(self.entry)
        self.since = time.perf_counter()


class Turns:
    """Columns take turns at the machine: one generates at a time, at its full speed.

    Columns run at once share two cores and one interpreter, and each then generates at
    a fraction of the speed `textgen generate` shows for the same model alone; taking
    turns finishes every column as soon (the work is the same) and keeps each column's
    characters per second that of its model. Short turns go first: a column's first step
    (so its text shows at once) and the page's redraws (which would otherwise take the
    interpreter from the column generating). A long turn, the rest of a column, steps
    aside between two of its steps while a short turn waits. Turns of one kind are served
    in the order they were asked for.

    A long turn starts once no other process keeps a core busy (a browser on this machine
    drawing what the page just sent), waiting at most `SETTLE` seconds; while it holds the
    machine the garbage collector waits: the page's own garbage (Streamlit's, the previous
    run's) is collected in the short turns, where the page allocates, instead of stopping
    the column generating.
    """

    SHORT, LONG = 0, 1

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.waiting: list[tuple[int, int]] = []  # a heap of (kind, ticket)
        self.holder: tuple[int, int] | None = None
        self.tickets = itertools.count()
        self.collecting = True  #: whether the collector ran before the holder's turn

    def acquire(self, entry: tuple[int, int]) -> None:
        with self.changed:
            heapq.heappush(self.waiting, entry)
            self.changed.wait_for(lambda: self.holder is None and self.waiting[0] == entry)
            self.holder = heapq.heappop(self.waiting)
            self.collecting = gc.isenabled()
            if entry[0] == self.LONG:
                gc.disable()

    def release(self) -> None:
        with self.changed:
            if self.collecting:
                gc.enable()
            self.holder = None
            self.changed.notify_all()

    def short_waiting(self) -> bool:
        with self.changed:
            return bool(self.waiting) and self.waiting[0][0] == self.SHORT

    @contextmanager
    def turn(self, short: bool = False) -> Iterator[Turn]:
        """Hold the machine for the block, once it is this turn's; short turns go before long ones."""
        entry = (self.SHORT if short else self.LONG, next(self.tickets))
        self.acquire(entry)
        try:
            if not short:
                wait_until_quiet(SETTLE)
            yield Turn(self, entry)
        finally:
            self.release()


Job = Callable[[], Iterator[Any]]
T = TypeVar("T")


class Stopped(Exception):
    """Raised inside a worker whose page stopped it (Stop, or a new run of the page)."""


def _drain(updates: queue.Queue[Any], poll: float) -> list[Any]:
    """Everything on the queue now, waiting up to ``poll`` seconds for the first item ([] if none came)."""
    try:
        batch = [updates.get(timeout=poll)]
    except queue.Empty:
        return []
    while True:
        try:
            batch.append(updates.get_nowait())
        except queue.Empty:
            return batch


def _start(target: Callable[..., None], *args: Any, name: str) -> None:
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    add_script_run_ctx(thread, get_script_run_ctx(suppress_warning=True))  # lets workers use st.cache_resource
    thread.start()


def run_concurrently(jobs: dict[str, Job], *, poll: float = 0.25) -> Iterator[list[tuple[str, Any]]]:
    """Start every job at once; yield batches of ``(key, item)`` until all are done.

    An item is what the job yielded, the exception it raised (so one failing job never
    stops the others), or `DONE`; a batch is empty when nothing came for ``poll`` seconds.
    Closing the iterator early (Stop, or the user re-ran the page) tells the workers to
    stop at their next item.
    """
    updates: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work(key: str, job: Job) -> None:
        items = job()
        try:
            for item in items:
                if stop.is_set():
                    return
                updates.put((key, item))
        except Exception as exc:  # shown in the job's own column
            updates.put((key, exc))
        finally:
            close = getattr(items, "close", None)
            if close:  # at once, not when collected: a stopped column lets go of its turn
                close()
            updates.put((key, DONE))

    for key, job in jobs.items():
        _start(work, key, job, name=f"textgen-{key}")
    pending = set(jobs)
    try:
        while pending:
            batch = _drain(updates, poll)
            pending -= {key for key, item in batch if item is DONE}
            yield batch
    finally:
        stop.set()


class Relay(Generic[T]):
    """``fn(progress)`` in a worker thread: iterate `batches` for its progress messages, then read `result`.

    For long calls that report progress through a callback (`toolkit.comparison.compare`).
    Closing `batches` early makes the next ``progress`` call raise `Stopped`, which ends ``fn``.
    """

    def __init__(self, fn: Callable[[Callable[[str], None]], T], *, poll: float = 0.25) -> None:
        self.messages: queue.Queue[Any] = queue.Queue()
        self.stop = threading.Event()
        self.poll = poll
        self.result: T | None = None
        self.error: Exception | None = None
        _start(self._run, fn, name="textgen-relay")

    def _run(self, fn: Callable[[Callable[[str], None]], T]) -> None:
        try:
            self.result = fn(self._progress)
        except Exception as exc:  # raised in the script thread by `batches`
            self.error = exc
        finally:
            self.messages.put(DONE)

    def _progress(self, message: str) -> None:
        if self.stop.is_set():
            raise Stopped("stopped from the page")
        self.messages.put(message)

    def batches(self) -> Iterator[list[str]]:
        """Progress messages in batches ([] when none came for ``poll`` s) until ``fn`` returns or raises."""
        try:
            while True:
                batch = _drain(self.messages, self.poll)
                yield [m for m in batch if m is not DONE]
                if DONE in batch:
                    break
        finally:
            self.stop.set()
        if self.error is not None:
            raise self.error
