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

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

#: Marks the end of a job's output (after its last item or its error).
DONE = object()


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
        try:
            for item in job():
                if stop.is_set():
                    return
                updates.put((key, item))
        except Exception as exc:  # shown in the job's own column
            updates.put((key, exc))
        finally:
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
