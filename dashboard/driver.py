"""Run the real dashboard and drive it in Debian's chromium: for browser tests and screenshots.

`serve` starts ``textgen dashboard`` on a free port and stops it with Ctrl-C; `browser`
opens chromium through Playwright's Python package (never ``playwright install``: the
system's ``/usr/bin/chromium`` is used).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def why_not() -> str | None:
    """Why a browser cannot be driven here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(models: Path, timeout: float = 60) -> Iterator[str]:
    """``textgen dashboard --models MODELS`` on a free port; its URL once healthy. Stopped with Ctrl-C."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "toolkit.cli", "dashboard", "--models", str(models),
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + timeout
    try:
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"dashboard did not start:\n{process.stdout.read() if process.stdout else ''}")
            time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False


@contextmanager
def browser(width: int = 1680, height: int = 1050) -> Iterator[Any]:
    """A chromium page of the given size."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched.new_page(viewport={"width": width, "height": height})
        finally:
            launched.close()


def open_tab(page: Any, name: str) -> None:
    """Click one of the page's tabs by its label."""
    page.get_by_role("tab", name=name).click()
