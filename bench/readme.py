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
CAPTIONS = {"curves": "learning curves against training seconds, characters and FLOPs",
            "bpc": "bits per character", "diversity": "diversity against temperature",
            "speed": "generation speed"}
START, END = "<!-- compare-results: start (python bench/readme.py) -->", "<!-- compare-results: end -->"


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _flops(value: float) -> str:
    """``2.0e13``, as `toolkit.comparison.curves.flops_text` writes it."""
    from toolkit.comparison.curves import flops_text

    return flops_text(value)


def _ranged(value: float | None, interval: dict[str, Any] | None) -> str:
    """A figure with its interval: ``2.168 ± 0.021`` over seeds, ``0.984 [0.962, 0.995]`` bootstrap, else alone."""
    if value is None or not interval or interval.get("low") is None or interval.get("half_width") == 0.0:
        return _number(value)
    if interval.get("half_width") is not None:
        return f"{value:.3f} ± {interval['half_width']:.3f}"
    return f"{value:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"


def budget_text(found: dict[str, Any]) -> str:
    """The budget and its unit: training FLOPs (the same models on any machine) or seconds (this machine's)."""
    budget = found.get("budget") or {"unit": "seconds", "value": found["budget_seconds"]}
    if budget["unit"] == "flops":
        return (f"neural budget {_flops(budget['value'])} training FLOPs each (a compute budget: the same models "
                "on any machine; the seconds are this machine's)")
    return f"neural budget {budget['value']:g} s each (a seconds budget: what this machine trains in that time)"


def _caption(found: dict[str, Any]) -> str:
    tokens = ", ".join(sorted({m["tokenisation"] for m in found["models"]}))
    seeds = found.get("seeds", 1)
    seed = (f"seeds {found['seed']} to {found['seed'] + seeds - 1}" if seeds > 1 else f"seed {found['seed']}")
    trained = f", trained on {found['training_machine']}" if found.get("training_machine") else ""
    return (f"{found['corpus']}, {found['split']}; {found['machine']}, {found['date']} "
            f"(load average {found['load_average']}){trained}; {budget_text(found)}, {seed}, "
            f"tokenisation {tokens}; command `{found['command']}`.")


def _table(found: dict[str, Any]) -> list[str]:
    seeds = found.get("seeds", 1)
    bpc = f"held-out bits/char, mean ± 95% interval over {seeds} seeds" if seeds > 1 else "held-out bits/char"
    lines = [f"| model | {bpc} | training FLOPs | training tokens/s | chars/s | tokens/s "
             "| distinct-2 @ T=0.8 | copy rate @ T=0.8 |", "| --- | --: | --: | --: | --: | --: | --: | --: |"]
    for m in found["models"]:
        flops, speed = m.get("train_flops"), m.get("train_tokens_per_second")
        lines.append(f"| {m['description']} | {_ranged(m['bpc'], m.get('bpc_interval'))} "
                     f"| {'-' if flops is None else _flops(flops)} | {_number(speed, 0)} "
                     f"| {_number(m['chars_per_second'], 0)} | {_number(m['tokens_per_second'], 0)} "
                     f"| {_ranged(m['distinct_2'], m.get('distinct_2_interval'))} "
                     f"| {_ranged(m['copy_rate'], m.get('copy_rate_interval'))} |")
    return lines


def render(found: dict[str, Any]) -> str:
    """The caption (machine, date, budget and its unit, seeds, tokenisation, split), the table with its intervals,
    how they were made, the crossovers (in training FLOPs when recorded), the budget sentence, the plots."""
    lines = [_caption(found), "", *_table(found)]
    if found.get("intervals"):
        lines += ["", f"Intervals: held-out bits/char as the {found['intervals']['held_out']}; a Markov chain's "
                  f"count is exact; distinct-2 and copy rate in brackets: {found['intervals']['samples']}."]
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
