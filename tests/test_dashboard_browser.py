"""The dashboard in a real browser: three families side by side from one prompt.

Trains tiny markov, lstm and gpt2 models, starts ``textgen dashboard`` on a free port,
drives Debian's chromium through Playwright (never ``playwright install``), types a
prompt, presses Generate and waits until all three columns hold generated text.
Set ``TEXTGEN_DASHBOARD_SCREENSHOT=path.png`` to keep the screenshot somewhere else
than the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import toolkit
from toolkit import registry

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FAMILIES = ("gpt2", "lstm", "markov")
PROMPT = "ROMEO:\n"
CORPUS = Path(os.environ.get("TEXTGEN_CORPORA", "")) / "tinyshakespeare.txt"  # CI sets it; else a tiny text
#: Tiny models: seconds to train, and enough to generate from (not to read well).
TINY = {
    "markov": {"level": "char", "state_size": 4},
    "lstm": {"hidden_size": 48, "embedding_size": 16, "max_steps": 5, "batch_size": 8, "seq_len": 32,
             "warmup_steps": 1, "eval_every": 5, "eval_tokens": 256, "progress": False, "device": "cpu"},
    "gpt2": {"layers": 1, "heads": 2, "width": 32, "context": 64, "max_steps": 5, "batch_size": 8,
             "warmup_steps": 1, "eval_every": 5, "eval_tokens": 256, "progress": False, "device": "cpu"},
}


def _why_not() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    missing = [f for f in FAMILIES if f not in registry.plugins()]
    if missing:
        return f"plugins not installed: {', '.join(missing)}"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    text = CORPUS.read_text(encoding="utf-8")[:8000] if CORPUS.exists() else (
        "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n") * 60
    corpus = folder.parent / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    for family in FAMILIES:
        toolkit.train(family, str(corpus), out=folder / f"{family}-tiny", seed=0, **TINY[family])
    return folder


@pytest.fixture(scope="module")
def dashboard(models):
    """``textgen dashboard`` on a free port; stopped with Ctrl-C (SIGINT) afterwards."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "toolkit.cli", "dashboard", "--models", str(models),
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"dashboard did not start:\n{process.stdout.read()}")
        time.sleep(0.3)
    yield url
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=15) == 0, "Ctrl-C did not stop the dashboard cleanly"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_three_families_generate_side_by_side(dashboard, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1680, "height": 1050})
            page.goto(dashboard)
            prompt = page.locator(".st-key-prompt textarea")
            prompt.wait_for(timeout=30_000)
            for i, family in enumerate(FAMILIES):  # the models found are picked, in name order
                expect(page.locator(f".st-key-col-{i}")).to_contain_text(f"{family}-tiny", timeout=30_000)
            max_tokens = page.locator(".st-key-shared-max_tokens input")  # key "shared.max_tokens"
            max_tokens.fill("60")
            max_tokens.press("Enter")
            page.wait_for_timeout(300)
            prompt.fill(PROMPT)
            prompt.press("Control+Enter")  # commit the text before pressing the button
            page.wait_for_timeout(500)
            page.locator(".st-key-generate button").click()
            results = [page.locator(f".st-key-result-{i}") for i in range(len(FAMILIES))]
            for result in results:
                result.wait_for(timeout=90_000)
                expect(result).to_contain_text("tokens/s", timeout=90_000)
            texts = [r.inner_text() for r in results]
            shot = Path(os.environ.get("TEXTGEN_DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    for family, text in zip(FAMILIES, texts, strict=True):
        assert PROMPT.strip() in text, f"{family}: the prompt is not shown"
        generated = text.split(PROMPT.strip(), 1)[1]
        assert len(generated.strip()) > 20, f"{family} column holds no generated text: {text!r}"
        tokens = int(re.search(r"(\d+) tokens in", text).group(1))
        assert 0 < tokens <= 2 * 60, f"{family}: {tokens} tokens for 2 samples of at most 60"
        assert "distinct-1" in text and "first token" in text, f"{family}: no metrics or timing"
    assert len(set(texts)) == 3
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
