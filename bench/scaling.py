"""Scaling benchmark: the char LSTM and char GPT-2 at the sizing rule's sizes, budget by budget.

Each run trains with no size set, so the sizing rule (`toolkit.neural.sizing`) picks the row for
its budget, corpus and device, then scores the whole validation split (`training["val_bpc"]`, the path `textgen score`
takes). Printed and recorded: held-out nats/char per (corpus, family, budget), the row chosen,
each run's stop line (a budget spent, or held-out stopped improving: the early stop, on by
default), the targets of issue 17 met or missed (never worse compares every pair of budgets per
corpus and family), and a plot of held-out nats against the budget (log x) with each run's
learning curve and the bz2 line. ``sherlock-50k`` (the first 50,000 characters)
checks that a small corpus is not memorised: its 60 s figure must be no worse than its 15 s one.
On a quiet machine, nothing else running::

    flock /tmp/textgen-bench.lock python bench/scaling.py --record
    python bench/scaling.py --record --lock /tmp/textgen-bench.lock   # the lock around each run only
    flock /tmp/textgen-bench.lock python bench/scaling.py --budgets tinyshakespeare:85,600 --families lstm --record
    python bench/scaling.py --quick        # tiny corpus, 2 and 4 s: checks the script, measures nothing

The full default run trains 2 families x (60+85+150+300+600 + 60+300 + 15+60) s, about 55
minutes plus scoring.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import fcntl
import json
import math
import sys
from pathlib import Path
from typing import Any

from provenance import provenance

import toolkit
from toolkit.data.corpora import Corpus, load_corpus
from toolkit.machine import DEVICES

HERE = Path(__file__).resolve().parent
DEFAULT_BUDGETS = ["tinyshakespeare:60,85,150,300,600", "sherlock:60,300", "sherlock-50k:15,60"]
QUICK_BUDGETS = ["tinyshakespeare-60k:2,4"]
TOLERANCE = 0.005  #: nats/char a longer budget may lose to noise and still count as "never worse"
#: Issue 17's targets on Tiny Shakespeare, nats/char: within 600 s, and no regression at 85 s.
TARGET_600 = {"lstm": 1.40, "gpt2": 1.40}
TARGET_85 = {"lstm": 1.473, "gpt2": 1.70}


def parse_budgets(items: list[str]) -> dict[str, list[float]]:
    """``["tinyshakespeare:60,300"]`` -> ``{"tinyshakespeare": [60.0, 300.0]}``."""
    budgets: dict[str, list[float]] = {}
    for item in items:
        name, sep, seconds = item.partition(":")
        if not sep or not seconds:
            raise SystemExit(f"--budgets {item!r}: expected CORPUS:SECONDS[,SECONDS...]")
        budgets.setdefault(name, []).extend(float(s) for s in seconds.split(","))
    return {k: sorted(set(v)) for k, v in budgets.items()}


def get_corpus(name: str) -> Corpus:
    """A shared corpus by name; ``NAME-50k`` is its first 50,000 characters (a small corpus, item 3)."""
    base, _, size = name.rpartition("-")
    if base and size.endswith("k") and size[:-1].isdigit():
        return Corpus(name, load_corpus(base).text[: int(size[:-1]) * 1000])
    return load_corpus(name)


def bz2_nats(corpus: Corpus) -> float:
    """bz2 -9's code length of the validation text given the training text, nats/char."""
    train, both = corpus.train.encode(), (corpus.train + corpus.val).encode()
    bits = 8 * (len(bz2.compress(both, 9)) - len(bz2.compress(train, 9)))
    return bits / len(corpus.val) * math.log(2)


@contextlib.contextmanager
def held(lock: Path | None) -> Any:
    """The benchmark lock around one run (``--lock``), so other work on the machine waits between runs only."""
    if lock is None:
        yield
        return
    with lock.open("a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for the benchmark lock {lock}: another process holds it (if that is an outer "
                  f"`flock {lock}` around this script, this waits forever: use --lock or the outer flock, "
                  "not both)", file=sys.stderr, flush=True)
            fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def run_one(family: str, corpus: Corpus, seconds: float, device: str, seed: int,
            lock: Path | None = None) -> dict[str, Any]:
    with held(lock):
        load = provenance()["load_average"]
        model = toolkit.train(family, corpus, seed=seed, level="char", max_seconds=seconds, device=device,
                              progress=False)
    return describe(model, family, corpus, seconds, load)


def describe(model: toolkit.Generator, family: str, corpus: Corpus, seconds: float, load: str) -> dict[str, Any]:
    """One run's figures (and its learning curve) for the table, the verdicts and the plot."""
    training = model.training
    curve = training.get("curve") or [{"seconds": h["seconds"], "val_bpc_estimate": h.get("val_bpc_estimate",
                                                                                          h.get("val_bpc"))}
                                      for h in training.get("history", [])]
    run = {"family": family, "corpus": corpus.name, "budget": seconds, "load": load,
           "nats": training["val_bpc"] * math.log(2), "bpc": training["val_bpc"],
           "train_seconds": training["train_seconds"], "steps": training["fit"]["steps"],
           "tokens_per_second": training["fit"]["tokens_per_second"], "row": training["sizing"]["row"],
           "chosen": training["sizing"]["chosen"], "parameters": model.info()["parameters"],
           "stopped_by": training["fit"]["stopped"], "stop_line": training["stopped"], "curve": curve}
    print(json.dumps({k: v for k, v in run.items() if k != "curve"}), file=sys.stderr, flush=True)
    return run


def never_worse(runs: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """Per (corpus, family): no longer budget ends worse than a shorter one, beyond the noise tolerance."""
    verdicts = []
    for key in sorted({(r["corpus"], r["family"]) for r in runs}):
        mine = sorted((r for r in runs if (r["corpus"], r["family"]) == key), key=lambda r: r["budget"])
        worse = [f"{b['budget']:g} s {b['nats']:.3f} > {a['budget']:g} s {a['nats']:.3f}"
                 for i, b in enumerate(mine) for a in mine[:i] if b["nats"] > a["nats"] + TOLERANCE]
        figures = ", ".join(f"{r['budget']:g} s {r['nats']:.3f}" for r in mine)
        verdicts.append((f"never worse, {key[1]} on {key[0]}", not worse, "; ".join(worse) or figures))
    return verdicts


def at_most(runs: list[dict[str, Any]], family: str, limit: float, budgets: tuple[float, float],
            what: str) -> tuple[str, bool | None, str]:
    """The best Tiny Shakespeare figure of ``family`` within ``budgets`` (low, high) against ``limit``."""
    mine = [r for r in runs if r["family"] == family and r["corpus"] == "tinyshakespeare"
            and budgets[0] <= r["budget"] <= budgets[1]]
    if not mine:
        return what, None, "not run"
    best = min(mine, key=lambda r: r["nats"])
    return what, best["nats"] <= limit, f"{best['nats']:.3f} at {best['budget']:g} s (target <= {limit})"


def verdicts(runs: list[dict[str, Any]], lines: dict[str, float]) -> list[tuple[str, bool | None, str]]:
    found = never_worse(runs)
    for family in sorted({r["family"] for r in runs}):
        found.append(at_most(runs, family, TARGET_600[family], (0, 600), f"{family} within 600 s"))
        found.append(at_most(runs, family, TARGET_85[family], (85, 85), f"{family} at 85 s, no regression"))
    above = [f"{r['family']} {r['budget']:g} s on {r['corpus']}" for r in runs if r["nats"] >= lines[r["corpus"]]]
    found.append(("below bz2", not above, ", ".join(above) or "every run"))
    return found


def plot(runs: list[dict[str, Any]], lines: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for key in sorted({(r["corpus"], r["family"]) for r in runs}):
        mine = sorted((r for r in runs if (r["corpus"], r["family"]) == key), key=lambda r: r["budget"])
        line, = ax.plot([r["budget"] for r in mine], [r["nats"] for r in mine], "o-",
                        label=f"{key[1]} on {key[0]} (whole split)")
        for r in mine:
            points = [p for p in r["curve"] if p.get("seconds")]
            ax.plot([p["seconds"] for p in points], [p["val_bpc_estimate"] * math.log(2) for p in points],
                    color=line.get_color(), alpha=0.25, linewidth=1)
    for name, nats in lines.items():
        ax.axhline(nats, linestyle=":", color="grey")
        ax.text(0.01, nats, f"bz2 -9, {name}", fontsize=8, va="bottom", transform=ax.get_yaxis_transform())
    ax.set_xscale("log")
    ax.set_xlabel("training budget, seconds (faint: each run's held-out estimate during training)")
    ax.set_ylabel("held-out nats per character")
    ax.set_title("char models at the sizing rule's sizes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(runs: list[dict[str, Any]], found: list[tuple[str, bool | None, str]], lines: dict[str, float],
             where: dict[str, str], command: str, plot_path: Path) -> str:
    out = [f"\n## Scaling at the sizing rule's sizes (`bench/scaling.py`), {where['date']}\n",
           f"Machine: {where['machine']}; load average at the start {where['load_average']}, at the end "
           f"{provenance()['load_average']}. Command: `{command}`. Whole validation split, seed 0, char level, default "
           "options (early stop on: patience 5 of 20 validations spread over the budget).\n",
           "| corpus | family | budget s | trained s | stopped by | row | parameters | steps | train tok/s "
           "| nats/char | bits/char | load at start |",
           "| --- | --- | --: | --: | --- | --- | --: | --: | --: | --: | --: | --- |"]
    out += [f"| {r['corpus']} | {r['family']} | {r['budget']:g} | {r['train_seconds']:.0f} | {r['stopped_by']} | "
            f"{r['row']} | {r['parameters']:,} | {r['steps']} | {r['tokens_per_second']:,.0f} | {r['nats']:.3f} | "
            f"{r['bpc']:.3f} | {r['load']} |" for r in runs]
    out.append("\nEach run's stop line (`training[\"stopped\"]`):\n")
    out += [f"- {r['family']} on {r['corpus']}, {r['budget']:g} s: {r['stop_line']}" for r in runs]
    out.append("\nbz2 -9 on the same split: " + ", ".join(f"{k} {v:.3f} nats/char" for k, v in lines.items()) + "\n")
    out += ["| target | met | figures |", "| --- | --- | --- |"]
    out += [f"| {what} | {'not run' if ok is None else 'met' if ok else 'MISSED'} | {why} |" for what, ok, why in found]
    out.append(f"\n![scaling]({plot_path.name})\n")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", action="append", metavar="CORPUS:S,S",
                        help=f"corpus and budgets in seconds, repeatable (default: {' '.join(DEFAULT_BUDGETS)})")
    parser.add_argument("--families", default="lstm,gpt2", help="comma-separated plugins (default: lstm,gpt2)")
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="60k-char corpus, 2 and 4 s: a check of the script")
    parser.add_argument("--plot", type=Path, default=HERE / "scaling.png")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    parser.add_argument("--lock", type=Path, help="hold this lock file around each run (not the whole script), "
                                                   "so other work waits only while a run trains and scores")
    args = parser.parse_args()

    budgets = parse_budgets(args.budgets or (QUICK_BUDGETS if args.quick else DEFAULT_BUDGETS))
    where = provenance()
    runs, lines = [], {}
    for name, seconds in budgets.items():
        corpus = get_corpus(name)
        lines[corpus.name] = bz2_nats(corpus)
        runs += [run_one(family, corpus, s, args.device, args.seed, args.lock) for family in args.families.split(",")
                 for s in seconds]
    found = verdicts(runs, lines)
    plot(runs, lines, args.plot)
    report = markdown(runs, found, lines, where, " ".join(["python", *sys.argv]), args.plot)
    print(report)
    if args.record:
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as results:
            results.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
