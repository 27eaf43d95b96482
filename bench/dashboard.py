"""Issue 13's timing: the dashboard in chromium, side by side with `textgen generate` run alone.

    export TEXTGEN_CORPORA=../shared/corpora
    flock /tmp/textgen-bench.lock .venv/bin/python bench/dashboard.py --models demo-output/models --record
    .venv/bin/python bench/dashboard.py --quick          # tiny models it trains itself, well under a minute

The real page (``textgen dashboard --models FOLDER`` in Debian's chromium through Playwright)
picks its defaults: one loadable model of each family, then the rest, four in all. Generate
is pressed once so every model is loaded and warm; then, ``--repeats`` times, the page's own
MutationObserver (`tests/support/dashboard_driver.py`'s `WATCH_JS`) times pressing Generate to the first generated
text in every column (target: within 1.5 s) and to the last column generated, and each
column's caption gives its characters per second over its own turns (the columns generate
one at a time, `dashboard.workers.Turns`). Each model's ``textgen generate`` with the same prompt,
budget, samples and seed, run alone, is the reference: the target is each column within
1.5x of it. Medians over the repeats; ratios printed; ``--record`` appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from provenance import figures, provenance, record

_BENCH = sys.path.pop(0)  # bench/: while it is on the path, this script's own name hides the dashboard package
importlib.import_module("dashboard")
sys.path.insert(0, _BENCH)
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests" / "support"))  # the browser harness, not installed

from dashboard_driver import WATCH_JS, browser, generate, serve, set_number, train_tiny, wait_finished, watched  # noqa: E402

from dashboard.columns import STATES  # noqa: E402
from dashboard.forms import RunOptions  # noqa: E402
from dashboard.models import find_models, preselect  # noqa: E402

PROMPT = "ROMEO:\n"  # the page's default prompt
FIRST_TEXT_TARGET = 1.5  # seconds from pressing Generate, models loaded
SPEED_TARGET = 1.5  # textgen generate alone over the column, at most


def page_runs(folder: Path, columns: int, max_chars: int, samples: int, repeats: int) -> dict[str, list]:
    """Per repeat: seconds to the first text in the slowest column, to the last column generated, chars/s."""
    first, generated, speeds = [], [], []
    with serve(folder) as url, browser() as page:
        page.goto(url)
        page.locator(f".st-key-col-{columns - 1}").wait_for(timeout=60_000)
        page.evaluate(WATCH_JS)
        set_number(page, "shared.max_chars", max_chars)
        set_number(page, "shared.num_samples", samples)
        generate(page)  # loads and warms every model; not measured
        wait_finished(page, columns, timeout_ms=300_000)
        for _ in range(repeats):
            generate(page)
            wait_finished(page, columns, timeout_ms=300_000)
            seen = watched(page)
            times = [c["text"] for c in seen["columns"].values()]
            if None in times:
                raise SystemExit(f"a column showed no generated text: {seen['columns']}")
            first.append((max(times) - seen["clicked"]) / 1000)
            generated.append((max(map(generated_at, seen["columns"].values())) - seen["clicked"]) / 1000)
            speeds.append([column_speed(page.locator(f".st-key-result-{i}").inner_text()) for i in range(columns)])
    return {"first": first, "generated": generated, "speeds": speeds}


def generated_at(column: dict) -> float:
    """When the page first showed the column past generating (waiting for the others, measuring or done)."""
    past = [STATES[s] for s in ("waiting", "measuring", "done")]
    return next(t for t, state in column["states"] if any(state.startswith(name) for name in past))


def column_speed(text: str) -> float:
    found = re.search(r"([\d,]+) chars/s over", text)
    if not found:
        raise SystemExit(f"no chars/s in a column's caption: {text[-300:]!r}")
    return float(found.group(1).replace(",", ""))


def alone(model: Path, max_chars: int, samples: int, repeats: int) -> float:
    """Median chars/s of ``textgen generate`` on its own, same prompt, budget, samples and seed as the page."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-m", "toolkit.cli", "generate", str(model), "--prompt", PROMPT,
                              "--max-chars", str(max_chars), "--max-tokens", str(max_chars), "--num-samples",
                              str(samples), "--seed", "0", "--json"], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout)["chars_per_second"])
    return statistics.median(runs)


def main() -> None:
    defaults = RunOptions()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, help="folder of trained models (the demo's models folder)")
    parser.add_argument("--quick", action="store_true", help="tiny models trained here, one repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-chars", type=int, default=defaults.max_chars)
    parser.add_argument("--num-samples", type=int, default=defaults.num_samples)
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    if not args.models and not args.quick:
        parser.error("give --models FOLDER (the demo's models), or --quick")
    repeats = 1 if args.quick else args.repeats
    run = provenance()  # the load average before this script adds its own
    with tempfile.TemporaryDirectory(prefix="textgen-bench-dashboard-") as tmp:
        folder = args.models
        if folder is None:
            folder = Path(tmp) / "models"
            train_tiny(folder, os.environ.get("TEXTGEN_CORPORA"))
        chosen = [Path(p) for p in preselect(find_models(folder))]
        if not chosen:
            raise SystemExit(f"no loadable models in {folder}")
        page = page_runs(folder, len(chosen), args.max_chars, args.num_samples, repeats)
        reference = [alone(m, args.max_chars, args.num_samples, repeats) for m in chosen]
    report(args, chosen, page, reference, run)


def report(args: argparse.Namespace, chosen: list[Path], page: dict[str, list], reference: list[float],
           run: dict[str, str]) -> None:
    first = statistics.median(page["first"])
    shown = [statistics.median(run[i] for run in page["speeds"]) for i in range(len(chosen))]
    rows = [("first text in every column after pressing Generate (models loaded), s", f"{first:.3f}")]
    print(f"first text in every column: {first:.3f} s (target {FIRST_TEXT_TARGET} s)")
    targets = [(f"first text in every column within {FIRST_TEXT_TARGET} s", first <= FIRST_TEXT_TARGET)]
    generated = statistics.median(page["generated"])
    alone_seconds = args.max_chars * args.num_samples * sum(1 / cps for cps in reference)  # at most: budgets full
    print(f"every column generated: {generated:.3f} s after pressing Generate; the models alone, one after "
          f"another: {alone_seconds:.3f} s")
    rows.append(("every column generated, s after pressing Generate (models loaded)", f"{generated:.3f}"))
    rows.append(("the same budgets with `textgen generate` alone, one model after another, s",
                 f"{alone_seconds:.3f}"))
    print(f"{'model':<24} {'page chars/s':>13} {'alone chars/s':>14} {'alone/page':>11}")
    for model, page_cps, alone_cps in zip(chosen, shown, reference, strict=True):
        ratio = alone_cps / page_cps
        print(f"{model.name:<24} {page_cps:>13,.0f} {alone_cps:>14,.0f} {ratio:>10.2f}x")
        rows.append((f"{model.name}: chars/s in the page / `textgen generate` alone",
                     f"{page_cps:,.0f} / {alone_cps:,.0f} ({ratio:.2f}x)"))
        targets.append((f"{model.name} within {SPEED_TARGET}x of textgen generate alone", ratio <= SPEED_TARGET))
    if args.record:
        notes = (f"{args.num_samples} samples of {args.max_chars} characters per column, seed 0, prompt {PROMPT!r}; "
                 f"median of {len(page['first'])} presses of Generate after a warm-up press; `textgen generate` "
                 "median of as many runs, each model alone. The columns generate in turns (dashboard/workers.py "
                 "`Turns`): a column's chars/s counts its own turns; the time to every column generated is the "
                 "page's wall clock, from the page's own MutationObserver.")
        title = f"Dashboard: first text and chars/s against textgen generate ({len(chosen)} columns)"
        record(title + (" --quick" if args.quick else ""), figures(rows, targets, notes), run)


if __name__ == "__main__":
    main()
