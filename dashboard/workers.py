"""Run jobs in threads and hand their output to the Streamlit script thread.

Streamlit elements may only be written from the script thread, so each job runs in a
worker thread that pushes what it yields onto one queue, and the script loop drains the
queue and redraws. The page is therefore busy only as long as the slowest job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

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


def run_concurrently(jobs: dict[str, Job], *, poll: float = 0.05) -> Iterator[list[tuple[str, Any]]]:
    """Start every job at once; yield batches of ``(key, item)`` until all are done.

    An item is what the job yielded, the exception it raised (so one failing job never
    stops the others), or `DONE`. Closing the iterator early (the user re-ran the page)
    tells the workers to stop at their next item.
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

    ctx = get_script_run_ctx(suppress_warning=True)
    for key, job in jobs.items():
        thread = threading.Thread(target=work, args=(key, job), name=f"textgen-{key}", daemon=True)
        add_script_run_ctx(thread, ctx)  # lets workers use st.cache_resource
        thread.start()
    pending = set(jobs)
    try:
        while pending:
            try:
                batch = [updates.get(timeout=poll)]
            except queue.Empty:
                continue
            while True:
                try:
                    batch.append(updates.get_nowait())
                except queue.Empty:
                    break
            pending -= {key for key, item in batch if item is DONE}
            yield batch
    finally:
        stop.set()
