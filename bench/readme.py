"""Render the README's results section from ``docs/compare-results.json`` (written by bench/compare.py).

The README's figures come from that file, never from a hand: this script rewrites the part of
README.md between the two markers, and ``tests/test_readme_results.py`` checks they agree::

    python bench/readme.py           # rewrite the section
    python bench/readme.py --check   # exit 1 if the README and the results file disagree
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README, RESULTS = ROOT / "README.md", ROOT / "docs" / "compare-results.json"
CAPTIONS = {"curves": "learning curves", "bpc": "bits per character", "diversity": "diversity against temperature",
            "speed": "generation speed"}
START, END = "<!-- compare-results: start (python bench/readme.py) -->", "<!-- compare-results: end -->"


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render(found: dict[str, Any]) -> str:
    """The caption (machine, date, budget, seed, tokenisation, split), the table, the budget sentence, the plots."""
    tokens = ", ".join(sorted({m["tokenisation"] for m in found["models"]}))
    lines = [f"{found['corpus']}, {found['split']}; {found['machine']}, {found['date']} "
             f"(load average {found['load_average']}); neural budget {found['budget_seconds']:g} s each, "
             f"seed {found['seed']}, tokenisation {tokens}; command `{found['command']}`.", "",
             "| model | held-out bits/char | chars/s | tokens/s | distinct-2 @ T=0.8 | copy rate @ T=0.8 |",
             "| --- | --: | --: | --: | --: | --: |"]
    lines += [f"| {m['description']} | {_number(m['bpc'])} | {_number(m['chars_per_second'], 0)} "
              f"| {_number(m['tokens_per_second'], 0)} | {_number(m['distinct_2'])} | {_number(m['copy_rate'])} |"
              for m in found["models"]]
    if found.get("references"):
        lines += ["", "Reference lines on the same split, bits/char: "
                  + ", ".join(f"{r['name']} {r['bpc']:.3f}" for r in found["references"]) + "."]
    if found.get("note"):
        lines += ["", found["note"]]
    lines += ["", found["sentence"], ""]
    lines += [f"![{CAPTIONS.get(name, name)}](docs/compare-{name}.png)" for name in found.get("plots", [])]
    return "\n".join([START, *lines, END])


def rendered_readme(readme: str, found: dict[str, Any]) -> str:
    """``readme`` with its results section replaced by `render`."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not (start and end):
        raise SystemExit(f"README.md has no section between {START!r} and {END!r}")
    return head + render(found) + tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the README disagrees with the results file")
    args = parser.parse_args()
    readme = README.read_text(encoding="utf-8")
    wanted = rendered_readme(readme, json.loads(RESULTS.read_text(encoding="utf-8")))
    if args.check:
        return 0 if wanted == readme else 1
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
