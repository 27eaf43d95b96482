"""Compare benchmark: the demo's models side by side on Tiny Shakespeare, and the README's figures.

Trains (or reuses, by manifest) the demo's models in ``--out/models`` with the demo's
budgets, then runs the same comparison ``--repeats`` times with one seed: bits per
character on the whole validation split, the reference lines, distinct-2 and copying at
T = 0.8, and sampling speed, characters per second first. Samples and metrics must be
identical across repeats (checked); speeds are the median of the repeats, with each
model's ratio to the first one (the anchor, the character Markov chain), measured in the
same run. ``--docs docs`` writes ``docs/compare-results.json`` beside the PNGs, and
``bench/readme.py`` renders the README's table from that file. Run it on a quiet machine::

    flock /tmp/textgen-bench.lock python bench/compare.py --repeats 3 --docs docs --record
    python bench/readme.py            # re-render the README's results section

``--quick`` runs tiny settings (2 s budgets, the first 60,000 characters) in well under a minute.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from provenance import provenance, record, tiny_shakespeare

from toolkit import atomic
from toolkit.comparison import (
    DEFAULT_TEMPERATURES,
    TABLE_TEMPERATURE,
    CompareReport,
    ModelResult,
    budget_sentence,
    compare,
    parse_temperatures,
    stable,
)
from toolkit.demo import DEFAULT_MAX_SECONDS, DEMO_PROMPT, RECIPES, pretrained_entry, train_or_reuse

RESULTS_NAME = "compare-results.json"
PLOTS = ("curves", "bpc", "diversity", "speed")


def describe(m: ModelResult) -> str:
    """``gpt2, baby preset, char, 72 s of training``: what the row is, from its manifest."""
    options = m.training.get("options", {})
    parts = [m.plugin]
    if options.get("preset"):
        parts.append(f"{options['preset']} preset")
    if options.get("level"):
        parts.append(str(options["level"]))
    if options.get("state_size") is not None:
        parts.append(f"state size {options['state_size']}")
    if "max_seconds" in options and m.speed.get("train_seconds"):
        parts.append(f"{m.speed['train_seconds']:.0f} s of training")
    return ", ".join(parts)


def results(reports: list[CompareReport], args: argparse.Namespace, identical: bool,
            run: dict[str, str]) -> dict[str, Any]:
    """The figures the README shows, with everything its caption names (``run``: `provenance` at the start)."""
    last, t = reports[-1], TABLE_TEMPERATURE

    def median(j: int, key: str) -> float | None:
        values = [r.models[j].speed[key] for r in reports]
        return None if None in values else statistics.median(values)

    rows = []
    for j, m in enumerate(last.models):
        r = m.at(t)
        rows.append({"label": m.label, "description": describe(m), "bpc": m.bpc, "bpc_source": m.bpc_source,
                     "scored_chars": m.scored_chars, "distinct_2": r.distinct_2 if r else None,
                     "copy_rate": r.ngram_overlap if r else None, "chars_per_second": median(j, "chars_per_second"),
                     "tokens_per_second": median(j, "tokens_per_second"), "train_seconds": m.speed["train_seconds"],
                     "tokenisation": m.training.get("options", {}).get("level", "?")})
    corpus = last.parameters["corpus"]
    split = ("the whole validation split" if args.max_score_chars is None
             else f"the first {args.max_score_chars:,} validation characters")
    return {**run, "corpus": corpus["name"], "split": f"last {corpus['val_fraction']:.0%} held out, "
            f"bits per character on {split}", "budget_seconds": args.max_seconds, "seed": args.seed,
            "samples": args.samples, "max_tokens": args.max_tokens, "temperatures": args.temperatures,
            "temperature": t, "repeats": args.repeats, "identical_across_repeats": identical, "models": rows,
            "references": last.references,
            "crossovers": [c["text"] for c in last.crossovers],
            "sentence": budget_sentence(last.models, last.crossovers), "plots": list(PLOTS)}


def section(found: dict[str, Any]) -> list[str]:
    lines = [f"Budget {found['budget_seconds']:g} s per neural model, seed {found['seed']}, {found['split']}; "
             f"{found['samples']} samples of up to {found['max_tokens']} tokens at T = {found['temperatures']}, "
             f"{found['repeats']} repeats, identical samples and metrics: {found['identical_across_repeats']}.", "",
             "| model | bits/char | chars/s | tokens/s | chars/s vs first | distinct-2 | copy rate |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    anchor = found["models"][0]["chars_per_second"] or 1.0
    for m in found["models"]:
        cps = m["chars_per_second"] or 0.0
        lines.append(f"| {m['description']} | {m['bpc']:.3f} | {cps:,.0f} | {m['tokens_per_second'] or 0:,.0f} "
                     f"| {cps / anchor:.3f} | {m['distinct_2']:.3f} | {m['copy_rate'] or 0:.3f} |")
    lines += ["", "Reference lines: " + ", ".join(f"{r['name']} {r['bpc']:.3f}" for r in found["references"]), ""]
    return lines + [f"- {c}" for c in found["crossovers"]] + ["", found["sentence"]]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/out/compare"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="neural training budget")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--temperatures", type=parse_temperatures, default=list(DEFAULT_TEMPERATURES),
                        help="comma-separated sampling temperatures")
    parser.add_argument("--max-score-chars", type=int, help="score a slice (default: the whole validation split)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", type=Path, help=f"write {RESULTS_NAME} and the PNG plots here (e.g. docs)")
    parser.add_argument("--record", action="store_true", help="append a section to bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="tiny settings, to check that the script works")
    args = parser.parse_args()
    if args.quick:
        args.out = Path(tempfile.mkdtemp(prefix="textgen-bench-compare-"))
        args.repeats, args.max_seconds, args.samples, args.max_tokens, args.temperatures = 2, 2.0, 1, 20, [0.8]
    return args


def main() -> int:
    args = parse()
    run = provenance()
    corpus = tiny_shakespeare(args.quick)
    models = {}
    for recipe in RECIPES:
        path = train_or_reuse(recipe, corpus, args.out / "models", seed=args.seed, max_seconds=args.max_seconds)
        if path is not None:
            models[recipe.label] = path
    extra = pretrained_entry()
    if extra is not None:
        models[extra[0]] = extra[1]
    reports = []
    for i in range(args.repeats):
        started = time.perf_counter()
        reports.append(compare(models, corpus, [DEMO_PROMPT], samples=args.samples, temperatures=args.temperatures,
                               max_tokens=args.max_tokens,
                               seed=args.seed, max_score_chars=args.max_score_chars, out=args.out / "report",
                               reuse_measurements=False))
        print(f"repeat {i + 1}/{args.repeats}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    first = stable(reports[0].to_json())
    identical = all(stable(r.to_json()) == first for r in reports[1:])
    found = results(reports, args, identical, run)
    print("\n".join(section(found)))
    if args.docs:
        atomic.write_json(args.docs / RESULTS_NAME, found)
        for name in PLOTS:
            atomic.write_bytes(args.docs / f"compare-{name}.png",
                               (args.out / "report" / f"compare-{name}.png").read_bytes())
        print(f"\nwrote {args.docs / RESULTS_NAME} and the plots; now run python bench/readme.py", file=sys.stderr)
    if args.record:
        record("Compare (`bench/compare.py`)", section(found), found)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
