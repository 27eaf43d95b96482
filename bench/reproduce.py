"""Comparisons that reproduce (issue 23): compute budgets, a slower machine, seeds, and what counting costs.

Six checks, each selectable with ``--check`` (default: all) and scaled with ``--budget-scale``:

* ``repeat``: the char LSTM and char GPT-2, each trained twice under the same FLOP budget, seed and
  thread count, make the same steps and reach the same ``val_bpc`` (to 1e-9); twice under a seconds
  budget, to show the spread a clock budget gives.
* ``threads``: ``TEXTGEN_THREADS=1`` stands in for a machine half as fast. Under the same FLOP budget
  the one- and two-thread runs end within 0.02 bits/char, rank the families (and the Markov chain,
  a point at its counting cost) the same, and cross over at the same places in FLOPs.
* ``sizing``: under a seconds budget on one thread (213 s and 600 s), the sizing rule's choice is
  within 0.02 nats/char of the best of its CPU rows, each trained for that time on one thread.
* ``longer``: on one thread, the defaults at 60, 85, 150 and 300 s never get worse (within 0.005 nats).
* ``seeds``: 3 seeds per neural model at the demo's budget in FLOPs: mean and 95% interval of
  ``val_bpc``, their widths, and which orderings hold (intervals that separate) and which do not.
* ``cost``: the overhead of counting FLOPs and of the sizing rule's work before training (its probe,
  where it measures one): at most 2% of a 70 s training.

On a quiet machine, nothing else running, under the benchmark lock::

    flock /tmp/textgen-bench.lock python bench/reproduce.py --record
    python bench/reproduce.py --record --lock /tmp/textgen-bench.lock       # the lock around each run only
    python bench/reproduce.py --check repeat,threads --budget-scale 0.25 --record --lock /tmp/textgen-bench.lock
    python bench/reproduce.py --quick          # 60k-char corpus, budgets / 50: checks the script, measures nothing

At scale 1 the checks train about: repeat 2 x (2 x 70 s + 2 x 70 s), threads 2 x 2 x 70 s,
sizing 2 x 4 x (213 + 600) s, longer 2 x 595 s, seeds 2 x 3 x 70 s, cost 2 x 2 x 70 s: some
2 hours 40 minutes, plus scoring; ``--families lstm`` halves it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance import QUICK_CHARS, provenance, record, target, tiny_shakespeare
from scaling import held

import toolkit
from toolkit.comparison.intervals import seed_interval
from toolkit.data.corpora import Corpus

CHECKS = ("repeat", "threads", "sizing", "longer", "seeds", "cost")
#: The demo's seconds budget, and a FLOP budget of about the same work: the char LSTM's default row
#: (4.3M training FLOPs per token) at the ~42k tokens/s of the README's machine for 70 s.
DEMO_SECONDS = 70.0
DEMO_FLOPS = 1.2e13
SIZING_SECONDS = (213.0, 600.0)
LONGER_SECONDS = (60.0, 85.0, 150.0, 300.0)
SAME_BPC = 1e-9  #: bits/char two runs under one compute budget may differ by
THREADS_BPC = 0.02  #: bits/char between one and two threads under one compute budget
SIZING_NATS = 0.02  #: nats/char the rule's choice may trail the best row by
LONGER_NATS = 0.005  #: nats/char a longer budget may lose to noise
COST_SHARE = 0.02  #: share of a 70 s training that counting FLOPs and the sizing probe may cost

Verdict = tuple[str, bool | None, str]  # (target, met or None when not measured, figures or the reason)


@dataclass
class Bench:
    """What every check needs: the corpus, the families, the budgets (scaled), the lock, and the runs so far."""

    corpus: Corpus
    families: list[str]
    scale: float
    threads: int
    seeds: int
    lock: Path | None
    runs: list[dict[str, Any]] = field(default_factory=list)

    def seconds(self, budget: float) -> float:
        return budget * self.scale

    @property
    def flops(self) -> float:
        return DEMO_FLOPS * self.scale

    def train(self, family: str, label: str, *, threads: int, seed: int = 0, **options: Any) -> dict[str, Any]:
        """Train one model on ``threads`` torch threads (as ``TEXTGEN_THREADS``), under the lock; its figures."""
        with held(self.lock), thread_count(threads):
            load = provenance()["load_average"]
            level = {"level": "char"}
            model = toolkit.train(family, self.corpus, seed=seed, **level, **options,
                                  **({"progress": False, "device": "cpu"} if family != "markov" else {}))
        run = figures(model, family, label, threads, seed, load)
        self.runs.append(run)
        print(" ".join(f"{k}={v}" for k, v in run.items() if k != "curve"), file=sys.stderr, flush=True)
        return run


@contextlib.contextmanager
def thread_count(threads: int) -> Iterator[None]:
    """``TEXTGEN_THREADS`` for the runs inside: what a user sets, and what the toolkit's rule reads."""
    before = os.environ.get("TEXTGEN_THREADS")
    os.environ["TEXTGEN_THREADS"] = str(threads)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TEXTGEN_THREADS", None)
        else:
            os.environ["TEXTGEN_THREADS"] = before


def figures(model: toolkit.Generator, family: str, label: str, threads: int, seed: int, load: str) -> dict[str, Any]:
    """One run's row: budget, steps, held-out figures, speed, FLOPs, the rule's row, and its learning curve."""
    training = model.training
    fit, compute = training.get("fit", {}), training.get("compute", {})
    return {"family": family, "label": label, "threads": threads, "seed": seed, "load": load,
            "steps": fit.get("steps", 0), "bpc": training["val_bpc"], "nats": training["val_bpc"] * math.log(2),
            "train_seconds": round(training["train_seconds"], 2), "fit_seconds": round(fit.get("seconds", 0.0), 2),
            "tokens_per_second": round(compute.get("tokens_per_second", 0.0)),
            "flops": compute.get("flops", 0.0), "row": training.get("sizing", {}).get("row", "-"),
            "curve": [(p["flops"], p["val_bpc_estimate"]) for p in training.get("curve", []) if "flops" in p]}


# -- repeat ------------------------------------------------------------------------------------


def check_repeat(bench: Bench) -> list[Verdict]:
    """Twice under one FLOP budget: identical; twice under one seconds budget: the spread it replaces."""
    found: list[Verdict] = []
    for family in bench.families:
        a, b = (bench.train(family, "repeat flops", threads=bench.threads, max_flops=bench.flops) for _ in range(2))
        same = a["steps"] == b["steps"] and abs(a["bpc"] - b["bpc"]) <= SAME_BPC
        found.append((f"{family}: two runs under max_flops={bench.flops:g} on {bench.threads} threads, same steps "
                      f"and val_bpc within {SAME_BPC:g}", same,
                      f"steps {a['steps']} / {b['steps']}, val_bpc {a['bpc']:.12f} / {b['bpc']:.12f}"))
        seconds = bench.seconds(DEMO_SECONDS)
        c, d = (bench.train(family, "repeat seconds", threads=bench.threads, max_seconds=seconds) for _ in range(2))
        found.append((f"{family}: the spread under max_seconds={seconds:g} (shown, no target)", None,
                      f"steps {c['steps']} / {d['steps']}, val_bpc {c['bpc']:.4f} / {d['bpc']:.4f} "
                      f"(spread {abs(c['bpc'] - d['bpc']):.4f} bits/char), tokens/s {c['tokens_per_second']:,} / "
                      f"{d['tokens_per_second']:,}"))
    return found


# -- threads ------------------------------------------------------------------------------------


def at(curve: list[tuple[float, float]], flops: float) -> float:
    """A learning curve's held-out estimate at ``flops``, linear in log FLOPs; a one-point curve is flat."""
    if len(curve) == 1 or flops <= curve[0][0]:
        return curve[0][1]
    for (f0, y0), (f1, y1) in itertools.pairwise(curve):
        if f0 <= flops <= f1:
            return y0 + (y1 - y0) * (math.log(flops / f0) / math.log(f1 / f0) if f1 > f0 else 0.0)
    return curve[-1][1]


def crossovers(curves: dict[str, list[tuple[float, float]]]) -> list[tuple[str, str, float]]:
    """Where one curve passes another, in FLOPs: ``(passing, passed, flops)``, in order of FLOPs.

    Compared at every point of either curve where both exist (a one-point curve, a Markov chain's
    counting cost, stands for its figure at any compute).
    """
    found = []
    for (a, ca), (b, cb) in itertools.combinations(sorted(curves.items()), 2):
        starts = [c[0][0] for c in (ca, cb) if len(c) > 1]
        ends = [c[-1][0] for c in (ca, cb) if len(c) > 1]
        grid = sorted({f for f, _ in ca + cb if max(starts, default=0) <= f <= min(ends, default=math.inf)})
        signs = [(f, at(ca, f) < at(cb, f)) for f in grid]
        found += [(a if now else b, b if now else a, f) for (_, before), (f, now) in itertools.pairwise(signs)
                  if now != before]
    return sorted(found, key=lambda c: c[2])


def check_threads(bench: Bench) -> list[Verdict]:
    """One thread against two under one FLOP budget: figures, ranking and crossovers in FLOPs agree."""
    markov = bench.train("markov", "threads (counting)", threads=1)
    by_threads: dict[int, dict[str, dict[str, Any]]] = {}
    for threads in (1, 2):
        by_threads[threads] = {f: bench.train(f, f"threads flops x{threads}", threads=threads, max_flops=bench.flops)
                               for f in bench.families}
        by_threads[threads]["markov"] = markov
    found: list[Verdict] = []
    for family in bench.families:
        one, two = by_threads[1][family]["bpc"], by_threads[2][family]["bpc"]
        found.append((f"{family}: 1 and 2 threads under max_flops={bench.flops:g} within {THREADS_BPC} bits/char",
                      abs(one - two) <= THREADS_BPC, f"{one:.4f} vs {two:.4f} ({abs(one - two):.4f})"))
    ranks = {t: sorted(runs, key=lambda f: runs[f]["bpc"]) for t, runs in by_threads.items()}
    found.append(("the same ranking on 1 and 2 threads", ranks[1] == ranks[2],
                  f"1 thread: {' < '.join(ranks[1])}; 2 threads: {' < '.join(ranks[2])}"))
    passes = {t: crossovers({f: r["curve"] for f, r in runs.items()}) for t, runs in by_threads.items()}
    said = {t: "; ".join(f"{a} passes {b} at {f:.3g} FLOPs" for a, b, f in p) or "none" for t, p in passes.items()}
    found.append(("the same crossovers in FLOPs on 1 and 2 threads",
                  [(a, b) for a, b, _ in passes[1]] == [(a, b) for a, b, _ in passes[2]],
                  f"1 thread: {said[1]}; 2 threads: {said[2]}"))
    return found


# -- sizing and longer ---------------------------------------------------------------------------


def cpu_rows(family: str) -> list[Any]:
    """The family's CPU budget rows, from its plugin's sizing table."""
    table = importlib.import_module(f"textgen_{family}.sizing").TABLE
    return [r for r in table.rows if r.max_corpus is None and r.device == "cpu"]


def _shape(row: Any) -> tuple:
    """A row's settings, so two rows that set the same model (GPT-2's cpu-medium and cpu-long) train once."""
    return tuple(sorted(row.values.items()))


def check_sizing(bench: Bench) -> list[Verdict]:
    """On one thread, the rule's choice against each CPU row trained for the same seconds."""
    found: list[Verdict] = []
    for family, budget in itertools.product(bench.families, SIZING_SECONDS):
        seconds = bench.seconds(budget)
        chosen = bench.train(family, f"sizing {budget:g} s, rule", threads=1, max_seconds=seconds)
        rows = {chosen["row"]: chosen}
        shapes = {_shape(row) for row in cpu_rows(family) if row.name == chosen["row"]}
        for row in cpu_rows(family):
            if row.name not in rows and _shape(row) not in shapes:  # a twin row trains the same model
                shapes.add(_shape(row))
                rows[row.name] = bench.train(family, f"sizing {budget:g} s, row {row.name}", threads=1,
                                             max_seconds=seconds, **row.values)
        best = min(rows, key=lambda name: rows[name]["nats"])
        found.append((f"{family} at {seconds:g} s on 1 thread: the rule's row within {SIZING_NATS} nats/char of "
                      "the best row", chosen["nats"] <= rows[best]["nats"] + SIZING_NATS,
                      f"rule chose {chosen['row']} ({chosen['nats']:.3f}); "
                      + ", ".join(f"{name} {run['nats']:.3f} ({run['steps']} steps)" for name, run in rows.items())))
    return found


def check_longer(bench: Bench) -> list[Verdict]:
    """On one thread, the defaults at longer budgets never end worse than at shorter ones."""
    found: list[Verdict] = []
    for family in bench.families:
        runs = [(bench.seconds(b), bench.train(family, f"longer {b:g} s", threads=1, max_seconds=bench.seconds(b)))
                for b in LONGER_SECONDS]
        worse = [f"{s2:g} s {r2['nats']:.3f} > {s1:g} s {r1['nats']:.3f}"
                 for (s1, r1), (s2, r2) in itertools.combinations(runs, 2) if r2["nats"] > r1["nats"] + LONGER_NATS]
        shown = ", ".join(f"{s:g} s {r['nats']:.3f} ({r['row']})" for s, r in runs)
        found.append((f"{family} on 1 thread: longer never worse within {LONGER_NATS} nats/char", not worse,
                      "; ".join(worse) or shown))
    return found


# -- seeds --------------------------------------------------------------------------------------


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% Student t interval, as compare reports it (0 for one value: a count)."""
    found = seed_interval(values, exact=len(values) < 2)
    return found["mean"], found["half_width"]


def check_seeds(bench: Bench) -> list[Verdict]:
    """K seeds per neural model at the demo's FLOP budget: intervals, and which orderings they support."""
    bands = {"markov": interval([bench.train("markov", "seeds (counting)", threads=bench.threads)["bpc"]])}
    for family in bench.families:
        bpcs = [bench.train(family, f"seeds {seed}", threads=bench.threads, seed=seed, max_flops=bench.flops)["bpc"]
                for seed in range(bench.seeds)]
        bands[family] = interval(bpcs)
    found: list[Verdict] = [(f"{name}: val_bpc over {bench.seeds if name != 'markov' else 1} seed(s) (shown)", None,
                             f"{mean:.4f} ± {half:.4f} (interval width {2 * half:.4f} bits/char)")
                            for name, (mean, half) in bands.items()]
    for a, b in itertools.combinations(sorted(bands, key=lambda n: bands[n][0]), 2):
        (ma, ha), (mb, hb) = bands[a], bands[b]
        apart = ma + ha < mb - hb
        found.append((f"{a} below {b} at {bench.seeds} seeds (a claim only when the intervals separate)", None,
                      f"{'holds' if apart else 'not distinguishable'}: {ma:.4f} ± {ha:.4f} vs {mb:.4f} ± {hb:.4f}"))
    return found


# -- cost ---------------------------------------------------------------------------------------


def counting_seconds(family: str, model: toolkit.Generator, repeats: int = 200) -> float:
    """Median seconds of counting a trained model's FLOPs per token, which a training does once (each curve
    point then costs one multiplication)."""
    if family == "lstm":
        from textgen_lstm.model import LSTMTask

        task = LSTMTask(model.module)
    else:
        from textgen_gpt2.training import CausalLMTask

        task = CausalLMTask(model.model, model.tokenizer.bos, model.info()["context"])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        task.flops_per_token()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def check_cost(bench: Bench) -> list[Verdict]:
    """Counting FLOPs and the sizing rule's work before training, against a 70 s training."""
    seconds = bench.seconds(DEMO_SECONDS)
    found: list[Verdict] = []
    for family in bench.families:
        with held(bench.lock), thread_count(bench.threads):
            # A process's first training pays its imports (transformers, torch._dynamo) before its first step; a
            # one-step run pays them here, so the two timed runs below differ by the rule's work alone.
            toolkit.train(family, bench.corpus, level="char", max_steps=1, progress=False, device="cpu")
            model = toolkit.train(family, bench.corpus, level="char", max_seconds=seconds, progress=False,
                                  device="cpu")
        rule = figures(model, family, "cost, rule", bench.threads, 0, provenance()["load_average"])
        bench.runs.append(rule)
        fixed = bench.train(family, "cost, sizes set", threads=bench.threads, max_seconds=seconds,
                            **model.training["sizing"]["chosen"])
        counting = counting_seconds(family, model)
        found.append((f"{family}: counting FLOPs at most {COST_SHARE:.0%} of a {DEMO_SECONDS:g} s training",
                      counting <= COST_SHARE * DEMO_SECONDS, f"{counting * 1e3:.3f} ms"))
        before = (rule["train_seconds"] - rule["fit_seconds"]) - (fixed["train_seconds"] - fixed["fit_seconds"])
        found.append((f"{family}: the sizing rule's work before training (its probe) at most {COST_SHARE:.0%} of a "
                      f"{DEMO_SECONDS:g} s training", before <= COST_SHARE * DEMO_SECONDS,
                      f"{before:.2f} s more before the first step than with the same sizes set "
                      f"({rule['train_seconds'] - rule['fit_seconds']:.2f} s against "
                      f"{fixed['train_seconds'] - fixed['fit_seconds']:.2f} s); the probe's own clock: "
                      f"{model.training['sizing'].get('probe_seconds', 0.0):.2f} s"))
    return found


# -- report -------------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[Bench], list[Verdict]]] = {
    "repeat": check_repeat, "threads": check_threads, "sizing": check_sizing, "longer": check_longer,
    "seeds": check_seeds, "cost": check_cost}


def markdown(bench: Bench, verdicts: dict[str, list[Verdict]], where: dict[str, str]) -> list[str]:
    """The section's body: the settings, every run, and each target met, missed (with why) or shown."""
    lines = [f"Corpus {bench.corpus.name}, char level, seed 0 unless a row says otherwise; FLOP budget "
             f"{bench.flops:g} (max_flops), budget scale {bench.scale:g}; load average at the end "
             f"{provenance()['load_average']} (at the start {where['load_average']}).", "",
             "| check | family | threads | seed | steps | val bits/char | nats/char | tokens/s | FLOPs | row | load |",
             "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --- | --- |"]
    lines += [f"| {r['label']} | {r['family']} | {r['threads']} | {r['seed']} | {r['steps']} | {r['bpc']:.4f} | "
              f"{r['nats']:.4f} | {r['tokens_per_second']:,} | {r['flops']:.3g} | {r['row']} | {r['load']} |"
              for r in bench.runs]
    lines.append("")
    for check, found in verdicts.items():
        lines.append(f"**{check}**")
        lines += [f"{target(what, bool(met))}: {why}" if met is not None else f"- shown: {what}: {why}"
                  for what, met, why in found]
        lines.append("")
    return lines


def parse_checks(text: str) -> list[str]:
    checks = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in checks if c not in CHECKS]
    if unknown or not checks:
        raise SystemExit(f"--check {text!r}: choose from {','.join(CHECKS)}")
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", default=",".join(CHECKS), help=f"comma-separated checks (default: all: "
                                                                  f"{','.join(CHECKS)})")
    parser.add_argument("--families", default="lstm,gpt2", help="neural plugins to check (default: lstm,gpt2)")
    parser.add_argument("--budget-scale", type=float, default=1.0,
                        help="multiply every budget (seconds and FLOPs) by this, for a shorter run")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the repeat, seeds and cost runs")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per neural model in the seeds check")
    parser.add_argument("--quick", action="store_true",
                        help=f"the first {QUICK_CHARS:,} characters and budgets / 50: a check of the script only")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    parser.add_argument("--lock", type=Path, help="hold this lock file around each run (not the whole script)")
    args = parser.parse_args()
    if not args.budget_scale > 0 or args.threads < 1 or args.seeds < 1:
        raise SystemExit("--budget-scale must be > 0, --threads and --seeds >= 1")
    where = provenance()
    bench = Bench(tiny_shakespeare(args.quick), args.families.split(","),
                  args.budget_scale / (50 if args.quick else 1), args.threads, args.seeds, args.lock)
    verdicts = {check: RUNNERS[check](bench) for check in parse_checks(args.check)}
    body = markdown(bench, verdicts, where)
    print("\n".join(body))
    if args.record:
        record(f"Comparisons that reproduce (`bench/reproduce.py`), {where['date']}", body, where)
    return 0


if __name__ == "__main__":
    sys.exit(main())
