"""The surprisal view and the learning-curves tab: their HTML, the app under AppTest, and a real browser.

The browser test trains two tiny Markov chains (character and word), starts ``textgen
dashboard`` and drives Debian's chromium: the surprisal view shows the text once per
model, and each model's bits per character equals ``textgen score`` of the same text
(the CLI in a subprocess); the learning-curves tab draws its figure and reference lines.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from dashboard_driver import browser, open_tab, serve, why_not
from streamlit.testing.v1 import AppTest

import toolkit
from dashboard.columns import ColumnResult
from dashboard.forms import RunOptions
from dashboard.surprisal import colour, legend_html, scale_top, text_html, total_caption
from toolkit.cli.dashboard import MODELS_ENV
from toolkit.data.corpora import Corpus
from toolkit.generation.sampling import SamplingOptions

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ("ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n"
         "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\nDeny thy father and refuse thy name.\n\n") * 30
#: What the browser pastes: two lines, a word no model saw, a character none saw.
TEXT = "ROMEO:\nIt is the sun, and Juliet is the east.\nZounds! \u2603 my name.\n"
SURPRISAL_TAB, CURVES_TAB = "Where each model is surprised", "Learning curves"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    corpus = folder.parent / "corpus.txt"
    corpus.write_text(TRAIN, encoding="utf-8")
    for level in ("char", "word"):
        toolkit.train("markov", str(corpus), level=level, state_size=2, out=folder / f"markov-{level}", seed=0)
    return folder


def test_colours_run_from_white_to_the_darkest_stop_and_clip():
    assert colour(0.0) == "rgb(255, 255, 255)" and colour(-1.0) == colour(0.0)
    assert colour(1.0) == "rgb(128, 0, 38)" and colour(7.0) == colour(1.0)
    assert colour(0.1) != colour(0.9)


def test_text_html_colours_each_character_and_shows_newlines():
    model = toolkit.train("markov", Corpus("tiny", TRAIN), level="char", state_size=2)
    with pytest.warns(UserWarning, match="outside the vocabulary"):
        found = model.surprisal("It is\nthe <sun>")
    top = scale_top([found])
    html = text_html(found, top)
    assert html.count("<span style=\"background") == len(found.text)
    assert "⏎" in html and "&lt;</span>" in html and "<sun" not in html  # newline visible, text escaped
    assert f"{found.bits[0]:.2f} bits" in html
    assert f"{top:.1f} bits" in legend_html(top)
    assert total_caption(found).startswith(f"{found.score.bpc:.4f} bits/char")


def test_the_tabs_render_under_apptest(models, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(models))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    assert not app.exception
    labels = [tab.label for tab in app.tabs]
    assert SURPRISAL_TAB in labels and CURVES_TAB in labels
    app.text_area(key="surprisal.text").set_value(TEXT).run()
    assert not app.exception
    shown = " ".join(c.value for c in app.caption)
    for level in ("char", "word"):
        bpc = toolkit.load(models / f"markov-{level}").score(TEXT).bpc
        assert f"{bpc:.4f} bits/char" in shown, level
    assert "uniform" in shown and "lzma -9e" in shown  # the curves tab's reference lines


def test_the_text_follows_the_prompt_and_nothing_is_scored_until_asked(models, monkeypatch):
    """Issue 26: a prompt edit is not the user's own text; an edit of the text itself is, and it stays."""
    monkeypatch.setenv(MODELS_ENV, str(models))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    for prompt in ("ROMEO:", "Żółć 😀"):
        app.text_area(key="prompt").set_value(prompt).run()
        assert not app.exception
        assert app.text_area(key="surprisal.text").value == prompt
        assert not app.session_state["surprisal.asked"]
        assert " bits over " not in " ".join(c.value for c in app.caption)  # no column total
    app.text_area(key="surprisal.text").set_value(TEXT).run()
    assert app.session_state["surprisal.asked"] and " bits over " in " ".join(c.value for c in app.caption)
    app.text_area(key="prompt").set_value("JULIET:").run()
    assert app.text_area(key="surprisal.text").value == TEXT


def test_the_view_offers_the_prompt_and_each_sample_of_the_last_run(models, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(models))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    char = str(models / "markov-char")
    app.session_state["results"] = {char: ColumnResult(char, "ROMEO:\n", RunOptions(), SamplingOptions(),
                                                       samples=["It is the east.", "O"], status="done")}
    app.run()
    assert not app.exception
    choice = next(box for box in app.selectbox if box.label == "Text")
    assert choice.value.endswith("sample 1") and len(choice.options) == 3  # two samples, then "Paste any text"
    bpc = toolkit.load(char).score("ROMEO:\nIt is the east.").bpc
    assert f"{bpc:.4f} bits/char" in " ".join(c.value for c in app.caption)


def cli_bpc(model: Path, text_file: Path) -> float:
    """``textgen score MODEL --text-file F --json``, in its own process."""
    out = subprocess.run([sys.executable, "-m", "toolkit.cli", "score", str(model), "--text-file", str(text_file),
                          "--json"], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)["bpc"]


@pytest.mark.skipif(why_not() is not None, reason=why_not() or "")
def test_surprisal_totals_equal_textgen_score_in_a_browser(models, tmp_path):
    from playwright.sync_api import expect

    with serve(models) as url, browser() as page:
        page.goto(url)
        page.locator(".st-key-prompt textarea").wait_for(timeout=30_000)
        open_tab(page, SURPRISAL_TAB)
        box = page.locator(".st-key-surprisal-text textarea")
        box.wait_for(timeout=30_000)
        box.fill(TEXT)
        box.press("Control+Enter")
        columns = [page.locator(f".st-key-surprisal-{i}") for i in range(2)]
        for column in columns:
            expect(column).to_contain_text("bits/char", timeout=60_000)
        expect(columns[0]).to_contain_text("Zounds", timeout=30_000)  # the pasted text, not the prompt
        shown = {column.inner_text(): column for column in columns}
        page.screenshot(path=str(tmp_path / "surprisal.png"), full_page=True)
        open_tab(page, CURVES_TAB)
        figure = page.locator(".st-key-curves img")
        expect(figure).to_be_visible(timeout=60_000)
        expect(page.locator(".st-key-curves")).to_contain_text("lzma -9e", timeout=30_000)
    text_file = tmp_path / "text.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    for level in ("char", "word"):
        column = next(t for t in shown if f"markov-{level}" in t)
        figure_shown = float(re.search(r"([\d.]+) bits/char", column).group(1))
        assert f"{figure_shown:.4f}" == f"{cli_bpc(models / f'markov-{level}', text_file):.4f}", level
        assert "⏎" in column, "newlines are not visible"


def test_the_readme_shows_the_surprisal_view():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for image in ("docs/dashboard-surprisal.png", "docs/dashboard-curves.png"):
        assert f"]({image})" in readme, image
        assert (ROOT / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
