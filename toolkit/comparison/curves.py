"""Learning curves from the manifests, and the crossovers between them written out in words.

A row of a table is one budget; the honest comparison of families is a curve. Each model
recorded ``training["curve"]``: points of training seconds, characters seen and held-out
bits per character on a fixed slice. A model without one (a Markov chain's build) is one
point, its final ``val_bpc`` at its training time. A crossover is the first time a curve
goes below another model's final figure or a reference line, interpolated in log time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .results import ModelResult


@dataclass(frozen=True)
class Point:
    """One point of a learning curve."""

    seconds: float
    chars: int | None
    bpc: float


def curve(model: ModelResult) -> list[Point]:
    """The model's recorded curve, or its final figure as one point."""
    return training_curve(model.training, model.bpc)


def training_curve(training: dict[str, Any], bpc: float) -> list[Point]:
    """The curve a manifest's ``training`` record holds, or ``bpc`` at its training time as one point."""
    points = []
    for p in training.get("curve") or []:
        try:
            point = Point(float(p["seconds"]), p.get("chars"), float(p["val_bpc_estimate"]))
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(point.bpc) and point.seconds >= 0:
            points.append(point)
    if points:
        return points
    seconds = training.get("train_seconds")
    return [Point(float(seconds) if isinstance(seconds, int | float) else 0.0, training.get("train_chars"), bpc)]


def _crossing(points: Sequence[Point], level: float) -> float | None:
    """Training seconds at which the curve first goes below ``level`` (log-time interpolation), else None."""
    for before, after in itertools.pairwise(points):
        if after.bpc < level <= before.bpc:
            if before.seconds <= 0 or after.bpc == before.bpc:
                return after.seconds
            share = (before.bpc - level) / (before.bpc - after.bpc)
            return math.exp(math.log(before.seconds) + share * (math.log(after.seconds) - math.log(before.seconds)))
    return None


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def crossovers(models: Sequence[ModelResult], references: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each model with a curve, when it passes each other model and reference line it starts above.

    Each crossover is a dict with ``model``, ``target``, ``target_bpc``, ``seconds`` (None when it
    does not pass within its run), ``within`` (its training seconds) and ``text``, the sentence.
    """
    targets = [(m.label, m.bpc) for m in models] + [(r["name"], r["bpc"]) for r in references]
    found = []
    for m in models:
        points = curve(m)
        if len(points) < 2:
            continue
        within = points[-1].seconds
        for name, level in targets:
            if name == m.label or level is None or points[0].bpc <= level:
                continue
            seconds = _crossing(points, level)
            text = (f"{m.label} passes {name} ({level:.3f} bits/char) after {_seconds(seconds)} of training"
                    if seconds is not None else
                    f"{m.label} does not pass {name} ({level:.3f} bits/char) within its {_seconds(within)}")
            found.append({"model": m.label, "target": name, "target_bpc": level, "seconds": seconds,
                          "within": within, "text": text})
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
