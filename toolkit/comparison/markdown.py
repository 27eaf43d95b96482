"""The report as Markdown: the summary table, reference lines, crossovers, diversity, samples."""

from __future__ import annotations

import math
from typing import Any

from .curves import budget_sentence, flops_text
from .intervals import BOOTSTRAP_METHOD, SEED_METHOD, plus_minus
from .results import CompareResults, ModelResult, TemperatureResult
from .sweep import NGRAM

HEADER = ("| model | plugin | size | disk | train s | train FLOPs | bits/char | chars/s | tokens/s | first token ms "
          f"| distinct-2 | self-BLEU | repetition | train {NGRAM}-gram overlap | longest copy | markovify rejects "
          "| memory MB |")


def human(n: float | None, unit: str = "") -> str:
    if n is None:
        return "-"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{suffix}{unit}"
    return f"{n:.0f}{unit}"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def size_text(info: dict[str, Any]) -> str:
    """Parameters, or states and transitions of a chain, from ``model.info()``."""
    if "parameters" in info:
        return f"{human(info['parameters'])} params"
    parts = [f"{human(info[k])} {k}" for k in ("states", "transitions") if k in info]
    return ", ".join(parts) or "-"


def cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell (a bare ``|`` would end the cell)."""
    return text.replace("|", "\\|")


def scored_text(parameters: dict[str, Any]) -> str:
    """What the bits per character were measured on: the whole split, or the named slice."""
    cap = parameters["max_score_chars"]
    return "the whole validation split" if cap is None else f"a slice: the first {cap:,} validation characters"


def length_text(parameters: dict[str, Any]) -> str:
    """``200 characters (or 200 tokens)``: the samples' length budget."""
    chars = parameters.get("max_chars")
    tokens = f"{parameters['max_tokens']} tokens"
    return tokens if chars is None else f"{chars} characters (or {tokens})"


def _ranged(r: TemperatureResult, metric: str) -> str:
    """A sample metric with its bootstrap interval, ``0.984 [0.962, 0.995]``, when it has one."""
    value = getattr(r, metric)
    return plus_minus(r.intervals[metric]) if metric in r.intervals and value is not None else _fmt(value)


def _row(m: ModelResult, t: float) -> str:
    r = m.at(t)
    assert r is not None
    peak, first = m.memory["added_rss_bytes"], m.speed["first_token_seconds"]
    mark = {"scored": "", "recorded": " (recorded)"}.get(m.bpc_source, "")
    bpc = f"{plus_minus(m.intervals.get('bpc') or {'mean': m.bpc})}{mark}" if math.isfinite(m.bpc) else "—"
    seeds = f" ({m.seeds} seeds)" if m.seeds > 1 else ""
    compute = m.training.get("compute") or {}
    flops = compute.get("flops")
    counting = " (counting)" if compute.get("kind") == "counting" else ""
    return (f"| {m.label}{seeds} | {m.plugin} | {size_text(m.info)} | {human(m.disk_bytes, 'B')} "
            f"| {_fmt(m.speed['train_seconds'], 1)} | {'-' if flops is None else flops_text(flops) + counting} "
            f"| {bpc} | {human(m.speed['chars_per_second'])} "
            f"| {human(m.speed['tokens_per_second'])} | {_fmt(None if first is None else first * 1000, 1)} "
            f"| {_ranged(r, 'distinct_2')} | {_ranged(r, 'self_bleu')} | {r.repetition_rate:.3f} "
            f"| {_ranged(r, 'ngram_overlap')} "
            f"| {r.longest_copy} | {r.markovify_reject_rate:.0%} | {_fmt(None if peak is None else peak / 1e6, 1)} |")


def _uncertainty(report: CompareResults) -> str:
    """How the intervals were made, and what one run cannot tell."""
    seeds = report.parameters.get("seeds", 1)
    runs = (f"Models trained with several seeds: {seeds} seeds each, bits/char as the {SEED_METHOD}"
            if any(m.seeds > 1 for m in report.models) else
            "One run per model: the spread over training seeds is unknown (`--seeds 3` measures it)")
    return (f"{runs}; a Markov chain's count is exact. Distinct-2, self-BLEU and copying in brackets: "
            f"{BOOTSTRAP_METHOD}.")


def _summary(report: CompareResults) -> list[str]:
    t, p = report.table_temperature, report.parameters
    lines = [
        f"Corpus `{p['corpus']['name']}`: bits per character on {scored_text(p)} "
        "(\"recorded\": the model's own whole-split `val_bpc`, same corpus checksum, split and toolkit version); "
        f"{p['samples']} sample(s) per prompt of up to {length_text(p)}, seed {p['seed']}, "
        f"prompts {', '.join(repr(x) for x in p['prompts'])}. Diversity and novelty at T = {t}; "
        "speed over all temperatures.", "", _uncertainty(report), "", HEADER, "|---|---|---|---|" + "--:|" * 13]
    lines += [_row(m, t) for m in report.models]
    lines += [f"| {f.label} | error: {cell(f.error)} |" + " |" * 15 for f in report.failed]
    reused = sorted({m.reused_from for m in report.models if m.reused_from})
    if reused:
        lines += ["", "Measurements of unchanged models reused from " + ", ".join(reused) + "."]
    return lines


def _references(report: CompareResults) -> list[str]:
    if not report.references:
        return []
    lines = ["", "Reference lines on the same split (no family owns them):", "", "| reference | bits/char | how |",
             "|---|--:|---|"]
    return lines + [f"| {r['name']} | {r['bpc']:.3f} | {cell(r['how'])} |" for r in report.references]


def _crossovers(report: CompareResults) -> list[str]:
    lines = ["", "Crossovers (from the recorded learning curves; training FLOPs hold on any machine, seconds on the "
             "machine named; \"passes\" only where the 95% intervals separate):", ""]
    lines += [f"- {c['text']}." for c in report.crossovers] or ["- none: no curve passes another figure."]
    return [*lines, "", budget_sentence(report.models, report.crossovers)]


def _diversity(report: CompareResults) -> list[str]:
    temps = report.parameters["temperatures"]
    lines = ["", "Distinct-2 by temperature:", "", "| model | " + " | ".join(f"T={x}" for x in temps) + " |",
             "|---|" + "--:|" * len(temps)]
    return lines + [f"| {m.label} | " + " | ".join(f"{r.distinct_2:.3f}" for r in m.temperatures) + " |"
                    for m in report.models]


def _samples(report: CompareResults) -> list[str]:
    t = report.table_temperature
    lines = ["", f"First sample at T = {t}:", ""]
    for m in report.models:
        r = m.at(t)
        assert r is not None
        sample = r.samples[0]
        lines.append(f"- **{m.label}**: " + (sample["prompt"] + sample["text"])[:300].replace("\n", " / "))
    return lines


def table(report: CompareResults) -> str:
    """The summary table and the reference lines, ended by the one sentence about training budgets."""
    lines = [*_summary(report), *_references(report), "", budget_sentence(report.models, report.crossovers)]
    return "\n".join(lines) + "\n"


def markdown(report: CompareResults) -> str:
    """The summary table (one row per model, an error row per failed one), references, crossovers,
    distinct-2 by temperature, and one sample per model."""
    parts = [_summary(report), _references(report), _crossovers(report), _diversity(report), _samples(report)]
    return "\n".join(line for part in parts for line in part) + "\n"
