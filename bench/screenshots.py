"""Screenshots of the real dashboard for docs/: side by side, the summary, the surprisal view, the curves.

Starts ``textgen dashboard --models FOLDER``, drives Debian's chromium (Playwright's Python
package, never ``playwright install``), presses Generate on the prompt ``ROMEO:``, and saves

* ``dashboard.png``: the whole page after every column finished (the side-by-side view);
* ``dashboard-summary.png``: the summary table above the columns;
* ``dashboard-surprisal.png``: the surprisal view on the prompt and the first model's first sample;
* ``dashboard-curves.png``: the learning-curves tab.

Take them with the demo's models on a quiet machine, under the benchmark lock::

    flock /tmp/textgen-bench.lock python bench/screenshots.py --models demo-output/models --out docs

``--quick`` trains two tiny Markov chains in a temporary folder and writes the screenshots
there (or to ``--out``), to check that the script works.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

# bench/ is on the path first when this runs as a script, and bench/dashboard.py would hide the dashboard package;
# the browser harness lives with the tests, which are not installed
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from dashboard_driver import WATCH_JS, browser, generate, open_tab, serve, wait_finished, why_not  # noqa: E402

PROMPT = "ROMEO:"
#: How long all the columns may take to finish (a cold GPT-2 loads in seconds).
GENERATE_SECONDS = 180


def tiny_models(folder: Path) -> Path:
    """Two Markov chains trained on the first 60,000 characters of Tiny Shakespeare, in seconds."""
    import toolkit
    from toolkit.data.corpora import load_corpus

    folder.mkdir(parents=True)
    corpus = folder.parent / "tinyshakespeare-60k.txt"  # a file, so the curves tab finds it for its reference lines
    corpus.write_text(load_corpus("tinyshakespeare").text[:60_000], encoding="utf-8")
    for level in ("char", "word"):
        toolkit.train("markov", str(corpus), level=level, out=folder / f"markov-{level}")
    return folder


def take(models: Path, out: Path) -> list[Path]:
    """Drive the page and save the four screenshots into ``out``."""
    from playwright.sync_api import expect

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with serve(models) as url, browser() as page:
        page.goto(url)
        prompt = page.locator(".st-key-prompt textarea")
        prompt.wait_for(timeout=60_000)
        page.evaluate(WATCH_JS)
        prompt.fill(PROMPT)
        prompt.press("Control+Enter")
        page.wait_for_timeout(800)
        page.locator(".st-key-col-0").wait_for(timeout=60_000)
        count = next(i for i in range(100) if not page.locator(f".st-key-col-{i}").count())
        generate(page)
        wait_finished(page, count, timeout_ms=GENERATE_SECONDS * 1000)
        page.wait_for_timeout(1500)  # the last redraws
        page.set_viewport_size({"width": 1680, "height": 1600})  # the page scrolls inside itself: a taller view
        page.wait_for_timeout(800)
        shots.append(out / "dashboard.png")
        page.screenshot(path=str(shots[-1]))
        summary = page.locator(".st-key-summary")
        if summary.count():
            shots.append(out / "dashboard-summary.png")
            summary.screenshot(path=str(shots[-1]))
        else:
            print("no summary table on this page (.st-key-summary): dashboard-summary.png not taken")
        open_tab(page, "Where each model is surprised")
        for i in range(count):
            expect(page.locator(f".st-key-surprisal-{i}")).to_contain_text("bits/char", timeout=120_000)
        page.set_viewport_size({"width": 1680, "height": 2400})  # the page scrolls inside itself: show it all
        page.wait_for_timeout(1000)
        shots.append(out / "dashboard-surprisal.png")
        page.locator(".st-key-surprisal").screenshot(path=str(shots[-1]))
        open_tab(page, "Learning curves")
        expect(page.locator(".st-key-curves img")).to_be_visible(timeout=120_000)
        page.wait_for_timeout(1000)
        shots.append(out / "dashboard-curves.png")
        page.locator(".st-key-curves").screenshot(path=str(shots[-1]))
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="the models folder (the demo's demo-output/models)")
    parser.add_argument("--out", type=Path, help="where the PNGs go (docs for the README)")
    parser.add_argument("--quick", action="store_true", help="two tiny Markov chains, screenshots in a temp folder")
    args = parser.parse_args(argv)
    if why_not():
        print(f"cannot take screenshots: {why_not()}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="textgen-shots-") as tmp:
        if args.quick:
            models, out = tiny_models(Path(tmp) / "models"), args.out or Path(tmp) / "shots"
        elif args.models and args.out:
            models, out = args.models, args.out
        else:
            parser.error("give --models FOLDER and --out FOLDER, or --quick")
        for shot in take(models, out):
            print(f"{shot}: {shot.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
