"""Run the real dashboard and drive it in Debian's chromium: for browser tests, benchmarks and screenshots.

`serve` starts ``textgen dashboard`` on a free port and stops it with Ctrl-C; `browser`
opens chromium through Playwright's Python package (never ``playwright install``: the
system's ``/usr/bin/chromium`` is used). `WATCH_JS` installs a MutationObserver that
records, with timestamps, every state each column's badge shows and when each column first
holds generated text: a state that lasts a few milliseconds is still seen, and the timing
is the page's own.

It lives with the tests, outside the installed packages; the benchmarks in bench/ put
tests/support on their path to import it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.errors import TextgenError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1680, "height": 1050}
FAMILIES = ("gpt2", "lstm", "markov")
#: Tiny models: seconds to train, and enough to generate from (not to read well).
TINY = {
    "markov": {"level": "char", "state_size": 4},
    "lstm": {"hidden_size": 48, "embedding_size": 16, "max_steps": 5, "batch_size": 8, "seq_len": 32,
             "warmup_steps": 1, "eval_every": 5, "eval_tokens": 256, "progress": False, "device": "cpu"},
    "gpt2": {"layers": 1, "heads": 2, "width": 32, "context": 64, "max_steps": 5, "batch_size": 8,
             "warmup_steps": 1, "eval_every": 5, "eval_tokens": 256, "progress": False, "device": "cpu"},
}

#: Records ``window.tg = {clicked, columns: {i: {states: [[t, text]], text: t}}, runs}``; `arm` resets the
#: columns. ``runs`` counts the script runs that have ended (the app's script state back at "notRunning").
WATCH_JS = """() => {
  const tg = window.tg = {clicked: null, columns: {}, runs: 0};
  tg.arm = () => { tg.clicked = performance.now(); tg.columns = {}; };
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => { if (app.dataset.testScriptState === 'notRunning') tg.runs++; })
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  const scan = () => {
    const now = performance.now();
    document.querySelectorAll('[class*="st-key-col-"]').forEach(col => {
      const i = [...col.classList].find(c => /^st-key-col-\\d+$/.test(c)).slice(11);
      const seen = tg.columns[i] = tg.columns[i] || {states: [], text: null};
      const badge = col.querySelector('.tg-state');
      const state = badge ? badge.textContent.trim() : null;
      const last = seen.states.length ? seen.states[seen.states.length - 1][1] : null;
      if (state && state !== last) seen.states.push([now, state]);
      if (seen.text === null && tg.clicked !== null) {
        for (const box of col.querySelectorAll('.tg-sample')) {
          const prompt = box.querySelector('.tg-prompt');
          const text = box.textContent.replace('\\u258c', '');
          if (text.length > (prompt ? prompt.textContent.length : 0)) { seen.text = now; break; }
        }
      }
    });
  };
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, characterData: true});
  scan();
}"""


def why_not() -> str | None:
    """Why a browser cannot be driven here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def train_tiny(folder: Path, corpora: str | None = None) -> list[Path]:
    """One tiny model of each family in ``folder``, trained on 8,000 characters of Tiny Shakespeare.

    ``corpora`` is a ``TEXTGEN_CORPORA`` folder; without one (or without the file in it) a
    few repeated lines stand in, so the browser test needs no download.
    """
    import toolkit

    source = Path(corpora) / "tinyshakespeare.txt" if corpora else None
    text = source.read_text(encoding="utf-8")[:8000] if source and source.exists() else (
        "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n") * 60
    corpus = folder.parent / f"{folder.name}-corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    paths = [folder / f"{family}-tiny" for family in FAMILIES]
    for family, path in zip(FAMILIES, paths, strict=True):
        toolkit.train(family, str(corpus), out=path, seed=0, **TINY[family])
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(models: Path, timeout: float = 60) -> Iterator[str]:
    """``textgen dashboard --models models`` on a free port: its URL; stopped with Ctrl-C (SIGINT) afterwards.

    Its output goes to a file, not a pipe: a pipe nobody reads fills up, and a dashboard
    blocked writing a log line neither serves nor stops.
    """
    port = free_port()
    log = tempfile.TemporaryFile("w+", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "toolkit.cli", "dashboard", "--models", str(models),
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, preexec_fn=_default_sigint)  # noqa: PLW1509 (no threads yet)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + timeout
    with log:
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise TextgenError(f"the dashboard did not start:\n{_tail(log)}")
            time.sleep(0.3)
        try:
            yield url
        finally:
            process.send_signal(signal.SIGINT)
            try:
                code: int | None = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = None
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if code != 0:
                raise TextgenError(f"Ctrl-C did not stop the dashboard cleanly (exit code {code}):\n{_tail(log)}")


def _default_sigint() -> None:
    """Ctrl-C handled as usual in the dashboard even when this runs in the background,
    where the shell starts commands with SIGINT ignored (and Python then never raises
    KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _tail(log: Any) -> str:
    log.seek(0)
    return log.read()[-3000:]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False


@contextmanager
def browser(width: int = VIEWPORT["width"], height: int = VIEWPORT["height"]) -> Iterator[Any]:
    """A chromium page of the given size (by default the issue's 1680 x 1050)."""
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


def set_number(page: Any, key: str, value: float) -> None:
    """Type into a number input (key ``shared.max_chars`` is class ``st-key-shared-max_chars``) and commit it."""
    box = page.locator(f".st-key-{key.replace('.', '-')} input")
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(300)


def settle(page: Any, action: Callable[[], object], timeout_ms: float = 60_000) -> None:
    """Do ``action`` (an edit that reruns the script), then wait until that rerun has ended.

    What a rerun draws, or does not draw, is only known once it has ended; `WATCH_JS`
    counts the ends.
    """
    ended = page.evaluate("() => window.tg.runs")
    action()
    page.wait_for_function("(n) => window.tg.runs > n", arg=ended, timeout=timeout_ms, polling=100)


def commit_text(page: Any, key: str, text: str) -> None:
    """Type ``text`` into a text area (key ``prompt`` is class ``st-key-prompt``) and commit it, as Ctrl+Enter does."""
    box = page.locator(f".st-key-{key.replace('.', '-')} textarea")
    box.fill(text)
    box.press("Control+Enter")


def generate(page: Any) -> None:
    """Arm the watcher, then press Generate."""
    page.evaluate("() => window.tg.arm()")
    page.locator(".st-key-generate button").click()


def watched(page: Any) -> dict[str, Any]:
    """What the watcher saw since the last `generate`: ``{"clicked": ms, "columns": {i: {...}}}``."""
    return page.evaluate("() => ({clicked: window.tg.clicked, columns: window.tg.columns})")


#: True once every column ``0..n-1`` has, since `generate`, shown a running state and then a final one.
_FINISHED_JS = """(n) => {
  const final = s => ['done', 'error', 'stopped'].some(f => s.startsWith(f));
  for (let i = 0; i < n; i++) {
    const c = window.tg.columns[i];
    if (!c) return false;
    const s = c.states.map(x => x[1]);
    if (!s.some(x => !final(x)) || !final(s[s.length - 1])) return false;
  }
  return true;
}"""


def wait_finished(page: Any, columns: int, timeout_ms: float = 90_000) -> None:
    """Until every column has run and ended (done, error or stopped) since the last `generate`,
    and the page has drawn the final containers (``result-i``)."""
    page.wait_for_function(_FINISHED_JS, arg=columns, timeout=timeout_ms, polling=100)
    for i in range(columns):
        page.locator(f".st-key-result-{i} .tg-state").first.wait_for(timeout=timeout_ms)
