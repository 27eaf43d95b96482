"""Learning curves at equal compute: the char LSTM and the baby char GPT-2 for 10 CPU minutes each.

Trains both on Tiny Shakespeare (last 10% held out) with a ``--minutes`` budget each,
builds the char and word Markov chains, computes the reference lines (uniform, unigram,
zlib, bz2, lzma) on the same split, and runs `toolkit.compare` (whole validation split;
the recorded ``val_bpc`` is reused). Prints, and with ``--record`` appends to
bench/RESULTS.md, the curve plot, the crossover sentences and the targets of issue 9:

* the char LSTM reaches 1.40 nats (2.02 bits) per character or better within 10 minutes;
* the baby GPT-2 reaches 1.60 nats or better within 10 minutes;
* every neural model ends below the lzma line.

Run it alone on a quiet 2-core machine::

    flock /tmp/textgen-bench.lock python bench/curves.py --minutes 10 --record

``--quick`` trains for 3 s each on the first 60,000 characters (models in a temporary folder), to check
that the script works.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from provenance import provenance, record, target, tiny_shakespeare

from toolkit import atomic
from toolkit.comparison import CompareReport, budget_sentence, compare
from toolkit.demo import RECIPES, Recipe, train_or_reuse

#: Whole-split targets in nats per character, by demo recipe label.
TARGETS_NATS = {"lstm-char": 1.40, "gpt2-baby-char": 1.60}
LZMA = "lzma -9e"
#: The demo's chains, the char LSTM and the baby-preset char GPT-2 (the demo's GPT-2 is sized by the budget).
CURVE_RECIPES = (*(r for r in RECIPES if r.plugin == "markov"),
                 Recipe("lstm-char", "lstm", {"level": "char"}, timed=True),
                 Recipe("gpt2-baby-char", "gpt2", {"preset": "baby", "level": "char"}, timed=True))


def targets(report: CompareReport, minutes: float) -> list[tuple[str, bool]]:
    """Each target of issue 9 with whether this run met it."""
    found = []
    by_label = {m.label: m for m in report.models}
    for label, nats in TARGETS_NATS.items():
        m = by_label.get(label)
        found.append((f"{label} reaches {nats:.2f} nats/char ({nats / math.log(2):.2f} bits) within {minutes:g} "
                      f"min (got {m.bpc * math.log(2):.3f} nats)" if m else f"{label}: not trained",
                      m is not None and m.bpc * math.log(2) <= nats))
    lzma = next(r["bpc"] for r in report.references if r["name"] == LZMA)
    neural = [by_label[label] for label in TARGETS_NATS if label in by_label]
    found.append((f"every neural model ends below lzma ({lzma:.3f} bits/char): "
                  + ", ".join(f"{m.label} {m.bpc:.3f}" for m in neural), all(m.bpc < lzma for m in neural)))
    return found


def body(report: CompareReport, found: list[tuple[str, bool]], plot: Path) -> list[str]:
    lines = ["Whole validation split, bits per character (nats in brackets):", "",
             "| model | train s | bits/char | nats/char | curve points |", "|---|--:|--:|--:|--:|"]
    lines += [f"| {m.label} | {m.speed['train_seconds'] or 0:.0f} | {m.bpc:.3f} | {m.bpc * math.log(2):.3f} "
              f"| {len(m.training.get('curve') or [])} |" for m in report.models]
    lines += ["", "| reference | bits/char |", "|---|--:|", *(f"| {r['name']} | {r['bpc']:.3f} |"
                                                             for r in report.references)]
    lines += ["", "Crossovers:", "", "| model | passes | at bits/char | after s (within s) |", "|---|---|--:|--:|"]
    for c in report.crossovers:
        after = "not within" if c["seconds"] is None else f"{c['seconds']:.0f}"
        lines.append(f"| {c['model']} | {c['target']} | {c['target_bpc']:.3f} | {after} ({c['within']:.0f}) |")
    lines += ["", budget_sentence(report.models, report.crossovers), "", f"![learning curves]({plot})", ""]
    return lines + [target(name, met) for name, met in found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget of each neural model")
    parser.add_argument("--out", type=Path, default=Path("bench/out/curves"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="append a section to bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="3 s budgets in a temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.out = 0.05, Path(tempfile.mkdtemp(prefix="textgen-bench-curves-"))
    run = provenance()
    corpus = tiny_shakespeare(args.quick)
    models = {}
    for recipe in CURVE_RECIPES:
        path = train_or_reuse(recipe, corpus, args.out / "models", seed=args.seed, max_seconds=args.minutes * 60)
        if path is not None:
            models[recipe.label] = path
    report = compare(models, corpus, ["ROMEO:"], samples=1, temperatures=[0.8], max_tokens=50, seed=args.seed,
                     out=args.out / "report", reuse_measurements=False)
    found = targets(report, args.minutes)
    plot = Path(__file__).with_name("curves.png")  # beside RESULTS.md, which links it by name
    lines = body(report, found, Path(plot.name))
    print("\n".join(lines))
    if args.record:
        atomic.write_bytes(plot, (args.out / "report" / "compare-curves.png").read_bytes())
        record(f"Learning curves (`bench/curves.py`, {args.minutes:g} min per neural model)", lines, run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
