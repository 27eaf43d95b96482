"""Learning curves from the manifests, and the crossovers between them written out in words.

A row of a table is one budget; the honest comparison of families is a curve. Each model
recorded ``training["curve"]``: points of training seconds, characters seen, cumulative
training FLOPs (``flops``, from releases that count compute) and held-out bits per character
on a fixed slice. A model without one is one point, its final ``val_bpc`` at its training
time; a Markov chain's one point sits at its counting cost (``training["compute"]["kind"]``
is ``"counting"``: operations of a one-pass count, not gradient FLOPs).

A crossover is the first time a curve goes below another model's final figure or a reference
line, interpolated in log compute (and log time). It is stated in training FLOPs, which hold on
any machine, and in seconds on the machine that ran it, which is named. A "passes" is claimed
only when the 95% intervals of the two final figures separate (`intervals`): over K seeds,
or exact for a deterministic build or a reference line. When they overlap, the sentence
says the two are not distinguishable at K seeds. With one run of a trained model its spread
over seeds is unknown, so the sentence says where that run's curve crossed, and that one
run is not a claim that it passes.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .intervals import plus_minus, seed_interval, separated
from .results import ModelResult


@dataclass(frozen=True)
class Point:
    """One point of a learning curve; ``flops`` is None in a record from before compute was counted."""

    seconds: float
    chars: int | None
    bpc: float
    flops: float | None = None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def curve(model: ModelResult) -> list[Point]:
    """The model's (its first seed's) recorded curve, or its final figure as one point."""
    return training_curve(model.training, model.bpc)


def seed_curves(model: ModelResult) -> list[list[Point]]:
    """One curve per training seed (one for a single model)."""
    if not model.runs:
        return [curve(model)]
    return [training_curve(run["training"], run["bpc"]) for run in model.runs]


def training_curve(training: dict[str, Any], bpc: float) -> list[Point]:
    """The curve a manifest's ``training`` record holds, or ``bpc`` at its training time as one point."""
    points = []
    for p in training.get("curve") or []:
        try:
            point = Point(float(p["seconds"]), p.get("chars"), float(p["val_bpc_estimate"]), _number(p.get("flops")))
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(point.bpc) and point.seconds >= 0:
            points.append(point)
    if points:
        return points
    seconds = _number(training.get("train_seconds"))
    flops = _number((training.get("compute") or {}).get("flops"))
    return [Point(seconds or 0.0, training.get("train_chars"), bpc, flops)]


def is_counting(training: dict[str, Any]) -> bool:
    """True for a model built in one counting pass (a Markov chain): its curve is one point at its counting cost."""
    return (training.get("compute") or {}).get("kind") == "counting"


def bpc_interval(model: ModelResult) -> dict[str, Any]:
    """The model's held-out figure with its interval over seeds: recorded by `compare`, else made here.

    A model with no learning curve of two points (a count, a model from elsewhere) is one fixed
    figure that no seed changes, so its interval is exact; a trained model's single run has none.
    """
    if "bpc" in model.intervals:
        return model.intervals["bpc"]
    fixed = is_counting(model.training) or len(curve(model)) < 2
    return seed_interval([run["bpc"] for run in model.runs] or [model.bpc], exact=fixed and not model.runs)


def _crossing(points: Sequence[Point], level: float, x: Callable[[Point], float | None]) -> float | None:
    """The x (seconds or FLOPs) at which the curve first goes below ``level`` (log-x interpolation), else None."""
    for before, after in itertools.pairwise(points):
        if after.bpc < level <= before.bpc:
            x0, x1 = x(before), x(after)
            if x0 is None or x1 is None:
                return None
            if x0 <= 0 or after.bpc == before.bpc:
                return x1
            share = (before.bpc - level) / (before.bpc - after.bpc)
            return math.exp(math.log(x0) + share * (math.log(x1) - math.log(x0)))
    return None


def seconds_text(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def flops_text(value: float) -> str:
    """``2.4e13``: two significant figures, an exponent a reader can compare at a glance."""
    if value <= 0:
        return "0"
    exponent = math.floor(math.log10(value))
    mantissa = value / 10**exponent
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e{exponent}"


def machine_text(training: dict[str, Any]) -> str | None:
    """``AMD EPYC 7B13, 2 threads``: the machine a run's seconds were measured on, from its compute record."""
    machine = (training.get("compute") or {}).get("machine") or {}
    if not machine.get("cpu"):
        return None
    threads = machine.get("threads")
    text = str(machine["cpu"]) + (f", {threads} thread{'s' if threads != 1 else ''}" if threads else "")
    device = machine.get("device")
    return text if device in (None, "cpu") else f"{text}, on {device}"


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _when(model: ModelResult, flops: float | None, seconds: float | None) -> str:
    """``2.4e13 training FLOPs (52 s on AMD EPYC 7B13, 2 threads)``; seconds alone for a record without FLOPs."""
    machine = machine_text(model.training)
    on = f" on {machine}" if machine else ""
    if flops is None:
        return f"{seconds_text(seconds)} of training{on}" if seconds is not None else "its training"
    return f"{flops_text(flops)} training FLOPs" + (
        f" ({seconds_text(seconds)}{on})" if seconds is not None else "")


@dataclass(frozen=True)
class _Target:
    name: str
    level: float
    interval: dict[str, Any]


def _targets(models: Sequence[ModelResult], references: Sequence[dict[str, Any]]) -> list[_Target]:
    found = [_Target(m.label, m.bpc, bpc_interval(m)) for m in models]
    return found + [_Target(r["name"], r["bpc"], seed_interval([r["bpc"]], exact=True))
                    for r in references if r.get("bpc") is not None]


def _verdict(mine: dict[str, Any], theirs: dict[str, Any], ends_below: bool) -> str:
    """``passes``/``does not pass`` (intervals separate), ``one run`` (a spread unknown), ``not distinguishable``."""
    if mine.get("low") is None or theirs.get("low") is None:
        return "one run"
    if separated(mine, theirs):
        return "passes" if ends_below else "does not pass"
    return "not distinguishable"


def _sentence(m: ModelResult, target: _Target, verdict: str, found: dict[str, Any]) -> str:
    what = f"{target.name} ({target.level:.3f} bits/char)"
    crossed = found["seconds"] is not None or found["flops"] is not None
    at = _when(m, found["flops"], found["seconds"])
    within = _when(m, found["within_flops"], found["within"])
    of_seeds = f", median of {found['crossed']} of {m.seeds} seeds" if m.seeds > 1 and crossed else ""
    if verdict == "passes":
        return f"{m.label} passes {what} after {at}{of_seeds}"
    if verdict == "does not pass":
        return f"{m.label} does not pass {what} within its {within}"
    if verdict == "not distinguishable":
        mine = plus_minus(bpc_interval(m))
        return (f"{m.label} ({mine}) and {what} are not distinguishable at {m.seeds} seed"
                f"{'s' if m.seeds > 1 else ''}: their 95% intervals overlap")
    if crossed:
        return f"{m.label} reaches {what} after {at} (one run: not a claim that it passes)"
    return f"{m.label} does not reach {what} within its {within} (one run)"


def _crossover(m: ModelResult, curves: Sequence[Sequence[Point]], target: _Target) -> dict[str, Any]:
    seconds = [_crossing(points, target.level, lambda p: p.seconds) for points in curves]
    flops = [_crossing(points, target.level, lambda p: p.flops) for points in curves]
    found = {"model": m.label, "target": target.name, "target_bpc": target.level,
             "seconds": _median(seconds), "flops": _median(flops),
             "within": _median([points[-1].seconds for points in curves]),
             "within_flops": _median([points[-1].flops for points in curves]),
             "crossed": sum(s is not None for s in seconds), "seeds": m.seeds, "machine": machine_text(m.training)}
    mine = bpc_interval(m)
    found["verdict"] = _verdict(mine, target.interval, mine["mean"] < target.level)
    found["text"] = _sentence(m, target, found["verdict"], found)
    return found


def crossovers(models: Sequence[ModelResult], references: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each model with a curve, when it passes each other model and reference line it starts above.

    Each crossover is a dict with ``model``, ``target``, ``target_bpc``, ``seconds`` and ``flops``
    (the median over seeds of where the curve went below the target, None when none did or the
    record has no FLOPs), ``within`` and ``within_flops`` (its training seconds and FLOPs),
    ``crossed`` (how many seeds' curves did), ``seeds``, ``machine`` (where the seconds were
    measured), ``verdict`` (``passes``, ``does not pass``, ``not distinguishable`` or ``one run``)
    and ``text``, the sentence.
    """
    targets = _targets(models, references)
    found = []
    for m in models:
        curves = [points for points in seed_curves(m) if len(points) >= 2]
        if not curves:
            continue
        for target in targets:
            if target.name == m.label or all(points[0].bpc <= target.level for points in curves):
                continue
            found.append(_crossover(m, curves, target))
    return found


def budget_sentence(models: Sequence[ModelResult], found: Sequence[dict[str, Any]]) -> str:
    """One sentence that keeps a reader from taking one training budget for a verdict on a family."""
    curved = [m.label for m in models if len(curve(m)) >= 2]
    if not curved:
        return ("No model here recorded a learning curve, so each row is one training budget, "
                "not a verdict on its family.")
    points = [m for m in models if m.label not in curved]
    best = min(points, key=lambda m: m.bpc).label if points else None
    clauses = [c["text"] for c in found if best is not None and c["target"] == best]
    if not clauses:  # no chain to pass: the strongest reference line each curve starts above
        clauses = [min((c for c in found if c["model"] == label), key=lambda c: c["target_bpc"])["text"]
                   for label in curved if any(c["model"] == label for c in found)]
    told = "; ".join(clauses) if clauses else "every curve starts below the other figures"
    return (f"These rows are one training budget each, not a verdict on the families: {told} "
            "(learning curves in compare-curves.png).")
