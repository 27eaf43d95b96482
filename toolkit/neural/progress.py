"""Training progress that stays readable: a tqdm bar on a terminal, a plain line every few seconds elsewhere.

Into a log file or CI a tqdm bar writes carriage returns many times a second, which
reads as one endless line. Off a terminal the loop gets `LineProgress` instead: the
same calls, and one line every ``TEXTGEN_PROGRESS_SECONDS`` (default 10) seconds.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

#: Seconds between the plain progress lines written off a terminal.
PROGRESS_SECONDS_ENV = "TEXTGEN_PROGRESS_SECONDS"


class LineProgress:
    """The part of tqdm's interface the training loop uses, printed as a line every few seconds."""

    def __init__(self, total: int | None, initial: int = 0, *, disable: bool = False, every: float | None = None,
                 stream: TextIO | None = None) -> None:
        self.total, self.n, self.disable = total, initial, disable
        self.every = every if every is not None else float(os.environ.get(PROGRESS_SECONDS_ENV, "10"))
        self.stream = stream or sys.stderr
        self.started = self.last = time.perf_counter()
        self.postfix: dict[str, Any] = {}

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if not self.disable and now - self.last >= self.every:
            self.last = now
            self.write(self.line(now))

    def line(self, now: float) -> str:
        """``step 1200/4000 (30%), 3m14s, 6.2 step/s, train_bpc=1.812, ...``."""
        elapsed = now - self.started
        done = f"{self.n}/{self.total} ({100 * self.n / self.total:.0f}%)" if self.total else f"{self.n}"
        rate = self.n / elapsed if elapsed > 0 else 0.0
        extra = "".join(f", {k}={v}" for k, v in self.postfix.items())
        return f"step {done}, {int(elapsed // 60)}m{int(elapsed % 60):02d}s, {rate:.1f} step/s{extra}"

    def set_postfix(self, values: dict[str, Any]) -> None:
        self.postfix = dict(values)

    def write(self, text: str, file: TextIO | None = None) -> None:
        if not self.disable:
            print(text, file=file or self.stream, flush=True)

    def close(self) -> None:
        """Nothing to clear: every line written stays as it is."""


def progress_bar(total: int | None, initial: int, *, disable: bool) -> Any:
    """A tqdm bar when stderr is a terminal, else a `LineProgress`."""
    if disable or not sys.stderr.isatty():
        return LineProgress(total, initial, disable=disable)
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, leave=False, mininterval=1)
