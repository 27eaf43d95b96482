"""The report's PNG plots: learning curves, bits per character, diversity and speed."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import atomic
from .curves import Point, seed_curves
from .markdown import human
from .results import CompareResults

REFERENCE_STYLE = {"color": "0.45", "linestyle": ":", "linewidth": 1}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    _pyplot().close(fig)
    atomic.write_bytes(path, buffer.getvalue())


def _references(ax: Any, references: Sequence[dict[str, Any]], horizontal: bool) -> None:
    for r in references:
        (ax.axhline if horizontal else ax.axvline)(r["bpc"], **REFERENCE_STYLE)
        if horizontal:
            ax.annotate(r["name"], (1.0, r["bpc"]), xycoords=("axes fraction", "data"), fontsize="x-small",
                        color="0.35", ha="right", va="bottom")


AXES = (("seconds", "training seconds on the machine that ran it (log scale)"),
        ("chars", "training characters seen (log scale)"),
        ("flops", "training FLOPs, the same on any machine (log scale)"))


def _style(points: Sequence[Point], label: str | None, color: Any) -> dict[str, Any]:
    if len(points) > 1:
        return {"marker": "o", "markersize": 3, "label": label, "color": color}
    return {"marker": "s", "linestyle": "none", "markersize": 8, "label": label, "color": color}


def curves_figure(series: Sequence[tuple[str, Sequence[Point]]], references: Sequence[dict[str, Any]],
                  corpus: str) -> Any:
    """Held-out bits per character against training seconds, characters seen and FLOPs (log x), with references.

    ``series`` is each model's label and curve (`curves.curve`), a label once per seed for a model
    trained with several (one colour, one legend entry). A point without FLOPs (a record from before
    compute was counted) is left off the FLOPs axis; a one-point series is drawn as a square: a count
    model (Markov) at its counting cost, or a model with no recorded curve. The dashboard's
    learning-curves tab draws the same figure from the models' manifests.
    """
    fig, axes = _pyplot().subplots(1, 3, figsize=(15, 4.2), sharey=True)
    colors: dict[str, Any] = {}
    for label, points in series:
        first = label not in colors
        colors.setdefault(label, f"C{len(colors) % 10}")
        for ax, (axis, _) in zip(axes, AXES, strict=True):
            shown = [p for p in points if getattr(p, axis)] if axis != "seconds" else list(points)
            if shown:
                drawn = first and not any(line.get_label() == label for line in ax.lines)
                ax.plot([max(getattr(p, axis), 1e-3) for p in shown], [p.bpc for p in shown],
                        **_style(shown, label if drawn else None, colors[label]))
    for ax, (_, xlabel) in zip(axes, AXES, strict=True):
        _references(ax, references, horizontal=True)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("held-out bits per character (lower is better)")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"Learning curves on {corpus}; dotted: reference lines; a square: one point "
                 "(a Markov chain at its counting cost)")
    return fig


def plot_curves(report: CompareResults, path: Path) -> None:
    series = [(m.label, points) for m in report.models for points in seed_curves(m)]
    _save(curves_figure(series, report.references, report.parameters["corpus"]["name"]), path)


def plot_bpc(report: CompareResults, path: Path) -> None:
    fig, ax = _pyplot().subplots(figsize=(6.4, 1.0 + 0.45 * len(report.models)))
    bars = ax.barh([m.label for m in report.models], [m.bpc for m in report.models], color="tab:blue")
    ax.bar_label(bars, fmt="%.3f", padding=3)
    _references(ax, report.references, horizontal=False)
    for r in report.references:
        ax.annotate(r["name"], (r["bpc"], 1.0), xycoords=("data", "axes fraction"), fontsize="x-small",
                    color="0.35", rotation=90, ha="right", va="top")
    ax.invert_yaxis()
    ax.set_xlabel("bits per character on held-out text (lower is better); dotted: reference lines")
    ax.set_title(f"Quality on {report.parameters['corpus']['name']}")
    ax.margins(x=0.15)
    _save(fig, path)


def plot_diversity(report: CompareResults, path: Path) -> None:
    fig, ax = _pyplot().subplots(figsize=(6.4, 4.0))
    for m in report.models:
        ax.plot([r.temperature for r in m.temperatures], [r.distinct_2 for r in m.temperatures], marker="o",
                label=m.label)
    ax.set_xlabel("temperature")
    ax.set_ylabel("distinct-2 (unique word bigrams / all)")
    ax.set_title("Diversity against temperature")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def plot_speed(report: CompareResults, path: Path) -> None:
    """Characters per second lead (tokens mix words with characters); tokens/s in the bar labels."""
    fig, ax = _pyplot().subplots(figsize=(6.4, 1.0 + 0.45 * len(report.models)))
    chars = [m.speed["chars_per_second"] or 0.0 for m in report.models]
    tokens = [m.speed["tokens_per_second"] for m in report.models]
    bars = ax.barh([m.label for m in report.models], chars, color="tab:green")
    ax.bar_label(bars, labels=[f"{human(c)} chars/s ({human(t)} tokens/s)" for c, t in zip(chars, tokens,
                                                                                             strict=True)],
                 padding=3, fontsize="small")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(_pyplot().NullFormatter())  # minor labels within one decade overlap
    ax.xaxis.set_major_formatter(_pyplot().FuncFormatter(lambda x, _: human(x)))
    ax.set_xlabel(f"characters per second, batch of {report.parameters['samples']} (log scale)")
    ax.set_title("Sampling speed")
    ax.margins(x=0.4)
    _save(fig, path)


PLOTS = {"curves": plot_curves, "bpc": plot_bpc, "diversity": plot_diversity, "speed": plot_speed}


def plot(report: CompareResults, out: Path) -> dict[str, Path]:
    """Every plot as ``out/compare-NAME.png``; their paths by name (none when no model was measured)."""
    out.mkdir(parents=True, exist_ok=True)
    if not report.models:
        return {}
    paths = {name: out / f"compare-{name}.png" for name in PLOTS}
    for name, draw in PLOTS.items():
        draw(report, paths[name])
    return paths
