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

``--max-flops F`` trains the neural models for F training FLOPs each instead of ``--max-seconds``:
the same models on any machine (the README's figures come from such a run), with the seconds
each took on this machine named beside them. ``--seeds K`` trains each neural model K times
(seeds ``--seed`` .. ``--seed``+K-1, in ``--out/seeds/NAME/seed-N``; a Markov chain's count does
not depend on the seed and is built once) and reports held-out bits/char as the mean ± a 95%
Student t interval over seeds, the sample metrics with bootstrap intervals, and a crossover only
where the intervals separate. The README's figures::

    flock /tmp/textgen-bench.lock python bench/compare.py --max-flops 2e13 --seeds 3 --repeats 1 --docs docs --record

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
from toolkit.comparison.curves import flops_text, machine_text
from toolkit.comparison.intervals import BOOTSTRAP_METHOD, SEED_METHOD
from toolkit.demo import DEFAULT_MAX_SECONDS, DEMO_PROMPT, pretrained_entry, train_all, training_speed

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
    if "max_flops" in options:
        parts.append(f"{flops_text(options['max_flops'])} training FLOPs")
    elif "max_seconds" in options and m.speed.get("train_seconds"):
        parts.append(f"{m.speed['train_seconds']:.0f} s of training")
    if m.seeds > 1:
        parts.append(f"{m.seeds} seeds")
    return ", ".join(parts)


def _row(m: ModelResult, speeds: dict[str, float | None]) -> dict[str, Any]:
    """One model's figures for the results file: the table's, with their intervals."""
    r = m.at(TABLE_TEMPERATURE)
    intervals = r.intervals if r else {}
    return {"label": m.label, "description": describe(m), "bpc": m.bpc, "bpc_source": m.bpc_source,
            "bpc_interval": m.intervals.get("bpc"), "seeds": m.seeds, "scored_chars": m.scored_chars,
            "distinct_2": r.distinct_2 if r else None, "distinct_2_interval": intervals.get("distinct_2"),
            "copy_rate": r.ngram_overlap if r else None, "copy_rate_interval": intervals.get("ngram_overlap"),
            **speeds, "train_seconds": m.speed["train_seconds"],
            "train_flops": (m.training.get("compute") or {}).get("flops"),
            "train_tokens_per_second": training_speed(m.training) if len(m.training.get("curve") or []) > 1 else None,
            "tokenisation": m.training.get("options", {}).get("level", "?")}


def results(reports: list[CompareReport], args: argparse.Namespace, identical: bool,
            run: dict[str, str]) -> dict[str, Any]:
    """The figures the README shows, with everything its caption names (``run``: `provenance` at the start)."""
    last = reports[-1]

    def median(j: int, key: str) -> float | None:
        values = [r.models[j].speed[key] for r in reports]
        return None if None in values else statistics.median(values)

    rows = [_row(m, {"chars_per_second": median(j, "chars_per_second"),
                     "tokens_per_second": median(j, "tokens_per_second")}) for j, m in enumerate(last.models)]
    trained = [m for m in last.models if len(m.training.get("curve") or []) > 1]
    corpus = last.parameters["corpus"]
    split = ("the whole validation split" if args.max_score_chars is None
             else f"the first {args.max_score_chars:,} validation characters")
    return {**run, "corpus": corpus["name"], "split": f"last {corpus['val_fraction']:.0%} held out, "
            f"bits per character on {split}", "budget": budget(args), "seed": args.seed, "seeds": args.seeds,
            "training_machine": machine_text(trained[0].training) if trained else None,
            "intervals": {"held_out": SEED_METHOD, "samples": BOOTSTRAP_METHOD},
            "samples": args.samples, "max_tokens": args.max_tokens, "temperatures": args.temperatures,
            "temperature": TABLE_TEMPERATURE, "repeats": args.repeats, "identical_across_repeats": identical,
            "models": rows,
            "references": last.references,
            "crossovers": [c["text"] for c in last.crossovers],
            "sentence": budget_sentence(last.models, last.crossovers), "plots": list(PLOTS)}


def budget(args: argparse.Namespace) -> dict[str, Any]:
    """What bounded each neural model's training, as the results file records it."""
    if args.max_flops is not None:
        return {"unit": "flops", "value": args.max_flops}
    return {"unit": "seconds", "value": args.max_seconds}


def section(found: dict[str, Any]) -> list[str]:
    unit, value = found["budget"]["unit"], found["budget"]["value"]
    told = f"{flops_text(value)} training FLOPs" if unit == "flops" else f"{value:g} s"
    lines = [f"Budget {told} per neural model, {found['seeds']} seed(s) from {found['seed']}, {found['split']}; "
             f"{found['samples']} samples of up to {found['max_tokens']} tokens at T = {found['temperatures']}, "
             f"{found['repeats']} repeats, identical samples and metrics: {found['identical_across_repeats']}.", "",
             "| model | bits/char | chars/s | tokens/s | chars/s vs first | distinct-2 | copy rate |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    anchor = found["models"][0]["chars_per_second"] or 1.0
    for m in found["models"]:
        cps = m["chars_per_second"] or 0.0
        half = (m.get("bpc_interval") or {}).get("half_width")
        bpc = f"{m['bpc']:.3f}" + (f" ± {half:.3f}" if half else "")
        lines.append(f"| {m['description']} | {bpc} | {cps:,.0f} | {m['tokens_per_second'] or 0:,.0f} "
                     f"| {cps / anchor:.3f} | {m['distinct_2']:.3f} | {m['copy_rate'] or 0:.3f} |")
    lines += ["", "Reference lines: " + ", ".join(f"{r['name']} {r['bpc']:.3f}" for r in found["references"]), ""]
    return lines + [f"- {c}" for c in found["crossovers"]] + ["", found["sentence"]]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/out/compare"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="neural training budget")
    parser.add_argument("--max-flops", type=float, help="neural training budget in FLOPs (instead of seconds)")
    parser.add_argument("--seeds", type=int, default=1, help="train each neural model this many times")
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
    models: dict[str, Any] = dict(train_all(corpus, args.out / "models", seed=args.seed, seeds=args.seeds,
                                            max_seconds=args.max_seconds, max_flops=args.max_flops))
    extra = pretrained_entry()
    if extra is not None:
        models[extra[0]] = extra[1]
    reports = []
    for i in range(args.repeats):
        started = time.perf_counter()
        reports.append(compare(models, corpus, [DEMO_PROMPT], samples=args.samples, temperatures=args.temperatures,
                               max_tokens=args.max_tokens,
                               seed=args.seed, max_score_chars=args.max_score_chars, out=args.out / "report",
                               reuse_measurements=False, seeds=args.seeds))
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
