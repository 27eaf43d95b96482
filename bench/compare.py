"""Compare benchmark: the demo's models side by side on Tiny Shakespeare.

Trains (or reuses, by manifest) the demo's models in ``--out/models`` with the demo's
budgets, then runs the same comparison ``--repeats`` times with one seed: bits per
character on the whole validation split, distinct-2 and copying at T = 0.8, and sampling
speed. Samples and metrics must be identical across repeats (checked); speeds are the
median of the repeats, with each model's ratio to the first one (the anchor, the
character Markov chain), measured in the same run. Run it under the shared lock::

    flock /tmp/textgen-bench.lock python bench/compare.py --repeats 3 --docs docs
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

from toolkit.comparison import TABLE_TEMPERATURE, compare, size_text, stable
from toolkit.corpora import load_corpus
from toolkit.demo import DEFAULT_MAX_SECONDS, DEMO_PROMPT, RECIPES, pretrained_entry, train_or_reuse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/out/compare"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="neural training budget")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--max-score-chars", type=int, help="default: the whole validation split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", type=Path, help="also copy the PNG plots here (e.g. docs)")
    args = parser.parse_args()

    os.environ.setdefault("TEXTGEN_CORPORA", "/work/shared/corpora")
    corpus = load_corpus("tinyshakespeare")
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
        reports.append(compare(models, corpus, [DEMO_PROMPT], samples=args.samples, max_tokens=args.max_tokens,
                               seed=args.seed, max_score_chars=args.max_score_chars,
                               out=args.out / "report" if i == args.repeats - 1 else None))
        print(f"repeat {i + 1}/{args.repeats}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    first = stable(reports[0].to_json())
    identical = all(stable(r.to_json()) == first for r in reports[1:])

    last = reports[-1]
    speeds = {m.label: statistics.median(r.models[j].speed["tokens_per_second"] for r in reports)
              for j, m in enumerate(last.models)}
    chars = {m.label: statistics.median(r.models[j].speed["chars_per_second"] for r in reports)
             for j, m in enumerate(last.models)}
    anchor = last.models[0].label
    t = TABLE_TEMPERATURE
    print(f"\n{time.strftime('%Y-%m-%d')}, CPU box ({os.cpu_count()}-core, Python {platform.python_version()}); "
          f"{args.repeats} repeats, samples and metrics identical across repeats: {identical}\n")
    print(f"| model | size | train s | bits/char (val, {last.models[0].scored_chars:,} chars) | distinct-2 @T={t} "
          f"| copy rate @T={t} (train 4-grams) | longest copy @T={t} | markovify rejects @T={t} "
          f"| tokens/s (median) | chars/s | tokens/s vs {anchor} |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for m in last.models:
        r = m.at(t)
        train = m.speed["train_seconds"]
        overlap = "-" if r.ngram_overlap is None else f"{r.ngram_overlap:.3f}"
        print(f"| {m.label} | {size_text(m.info)} | {'-' if train is None else f'{train:.1f}'} | {m.bpc:.3f} "
              f"| {r.distinct_2:.3f} | {overlap} | {r.longest_copy} | {r.markovify_reject_rate:.0%} "
              f"| {speeds[m.label]:,.0f} | {chars[m.label]:,.0f} | {speeds[m.label] / speeds[anchor]:.4f} |")
    if args.docs:
        for name in ("bpc", "diversity", "speed"):
            shutil.copyfile(args.out / "report" / f"compare-{name}.png", args.docs / f"compare-{name}.png")
        print(f"\ncopied the plots to {args.docs}", file=sys.stderr)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
