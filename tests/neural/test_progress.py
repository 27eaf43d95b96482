"""Training progress off a terminal: plain lines every few seconds, never carriage returns."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("torch")

from toolkit.neural.progress import LineProgress, progress_bar


def test_line_progress_writes_whole_lines_at_its_interval():
    out = io.StringIO()
    bar = LineProgress(100, 0, every=0.0, stream=out)
    bar.set_postfix({"train_bpc": "1.812"})
    bar.update(1)
    bar.update(1)
    bar.write("step 2: held-out 2.1 bits/char")
    text = out.getvalue()
    assert "\r" not in text
    assert text.splitlines()[0].startswith("step 1/100 (1%)") and "train_bpc=1.812" in text
    assert text.splitlines()[-1] == "step 2: held-out 2.1 bits/char"


def test_line_progress_waits_for_its_interval_and_can_be_disabled():
    out = io.StringIO()
    bar = LineProgress(None, 5, every=3600.0, stream=out)
    for _ in range(50):
        bar.update(1)
    assert out.getvalue() == "" and bar.n == 55
    quiet = LineProgress(10, 0, every=0.0, stream=out, disable=True)
    quiet.update(1)
    quiet.write("nothing")
    assert out.getvalue() == ""


def test_off_a_terminal_the_loop_gets_lines_not_a_bar(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(progress_bar(10, 0, disable=False), LineProgress)
