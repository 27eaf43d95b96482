"""`textgen serve` in a child process, for tests and benchmarks (not installed): on a free port, always stopped."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: How long a server may take to load its models and listen.
START_SECONDS = 120
_READY = re.compile(r"on (http://\S+/v1) ")


@dataclass
class Running:
    """A started server: its base URL (``http://127.0.0.1:PORT/v1``) and its process."""

    url: str
    process: subprocess.Popen[str]

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait; killed if it does not exit in ``timeout`` seconds. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def textgen() -> str:
    """The ``textgen`` beside this Python (a virtual environment's)."""
    return str(Path(sys.executable).with_name("textgen"))


@contextmanager
def started(args: Sequence[str], env: dict[str, str] | None = None) -> Iterator[Running]:
    """``textgen serve ARGS --port 0``, ready to answer; stopped (SIGTERM) when the block ends."""
    log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty server never blocks on it
    process = subprocess.Popen([textgen(), "serve", *args, "--port", "0"], stdout=subprocess.PIPE,
                               stderr=log, text=True, env={**os.environ, **(env or {})})
    running = None
    try:
        running = Running(_wait_ready(process, log), process)
        yield running
    finally:
        if running is not None:
            running.stop()
        elif process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(process: subprocess.Popen[str], log: IO[str]) -> str:
    """The URL the server prints once it listens; its stderr when it exits first."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            if found := _READY.search(line):
                return found.group(1)
            if not line:
                break
    process.kill()
    process.wait()
    log.seek(0)
    raise RuntimeError(f"textgen serve did not start: {log.read().strip()[-2000:]}")
