"""The sizing rule: model size, dropout, batch and learning rate from the budget, corpus and device.

A neural plugin whose user sets no size asks `choose` for a row of its own `Table`, as
nanoGPT keeps one configuration per setting, and fills every option the user left
unset (None) from it; what the user set wins. The row is the larger of what the budget
affords (seconds, or steps when no seconds are given) and what the corpus can feed
without being memorised, so a small corpus gets a small model with more dropout.

The rule is here; each plugin owns its table (its rows, and how to count and grow its
models), so a new neural plugin brings a table and calls `apply`: docs/sizing.md shows how.
Pure data and arithmetic, no torch: ``textgen options`` and the docs read the tables
without loading a model. The in-tree tables' CPU thresholds were set on a 2-core x86 box
(the machine `bench/RESULTS.md` measures on).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from ..options import DEFAULT_PATIENCE, DEFAULT_STEPS

M = TypeVar("M", bound=BaseModel)

#: Below this many training characters a corpus counts as tiny / small / medium (KB-sized notes, poems...).
TINY_CORPUS, SMALL_CORPUS, MEDIUM_CORPUS = 20_000, 150_000, 500_000
#: Each stream of a contiguous batch should hold at least this many windows of the corpus.
MIN_WINDOWS_PER_STREAM = 8

__all__ = [
    "DEFAULT_PATIENCE", "DEFAULT_STEPS", "MEDIUM_CORPUS", "MIN_WINDOWS_PER_STREAM", "SMALL_CORPUS", "TINY_CORPUS",
    "Row", "Sizing", "Table", "apply", "budget_row", "choose", "corpus_row", "fit_to_corpus", "gpu_row",
    "next_size_up", "plateau_hint", "table_markdown",
]


@dataclass(frozen=True)
class Row:
    """One configuration: where it applies and the option values it sets."""

    name: str
    when: str  #: the setting it is for, in words (the docs table's first column)
    values: dict[str, Any]
    max_seconds: float | None = None  #: budget rows: used for budgets below this (CPU seconds) ...
    max_steps: int | None = None  #: ... or below this many steps
    max_corpus: int | None = None  #: corpus rows: used for training splits below this many characters
    device: str = "cpu"  #: budget rows: "cpu" (also MPS) or "cuda"


@dataclass(frozen=True)
class Table:
    """A plugin's rows, smallest model first, and what the rule needs to know about its models.

    Corpus rows cap the model, budget rows grow it, a ``cuda`` row is the GPU's. Every row sets
    the same options (the first row's are the docs table's columns).
    """

    rows: tuple[Row, ...]
    size_keys: tuple[str, ...]  #: the options that make a model larger, as the stop line's advice names them
    weights: Callable[[Mapping[str, Any]], int]  #: rough weight count of a model of these sizes, to order them
    width: str  #: the size option grown past the largest row
    width_divisor: str | None = None  #: an option the grown width must be a multiple of (attention heads)


@dataclass(frozen=True)
class Sizing:
    """The rule's answer for one training run: the values it chose and why."""

    row: str
    reason: str
    chosen: dict[str, Any] = field(default_factory=dict)  #: values the rule filled in
    set_by_user: list[str] = field(default_factory=list)  #: sized options the user set (they win)

    def summary(self) -> str:
        """The training summary's line, e.g. ``sizes (rule row cpu-long: 600 s budget ...): hidden_size=640 ...``."""
        chosen = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.chosen.items())
        yours = f"; yours: {', '.join(self.set_by_user)}" if self.set_by_user else ""
        return f"sizes (rule row {self.row}: {self.reason}): {chosen or 'none chosen'}{yours}"

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "reason": self.reason, "chosen": self.chosen, "set_by_user": self.set_by_user,
                "summary": self.summary()}


def corpus_row(name: str, chars: int, when: str, **values: Any) -> Row:
    """A row that caps the model for training splits under ``chars`` characters."""
    return Row(name, when, values, max_corpus=chars)


def budget_row(name: str, when: str, seconds: float | None, steps: int | None, **values: Any) -> Row:
    """A CPU row for budgets under ``seconds`` (or ``steps``); None for both: the longest budgets."""
    return Row(name, when, values, max_seconds=seconds, max_steps=steps)


def gpu_row(when: str, **values: Any) -> Row:
    """The CUDA row (``gpu``), for any budget."""
    return Row("gpu", when, values, device="cuda")


def _budget_row(rows: tuple[Row, ...], seconds: float | None, steps: int, device: str) -> int:
    """Index of the row the budget affords on ``device``: the first whose limit it is under, else the last."""
    kind = "cuda" if device == "cuda" else "cpu"
    candidates = [i for i, r in enumerate(rows) if r.max_corpus is None and r.device == kind]
    for i in candidates:
        limit = rows[i].max_seconds if seconds is not None else rows[i].max_steps
        if limit is not None and (seconds if seconds is not None else steps) < limit:
            return i
    return candidates[-1]


def _corpus_row(rows: tuple[Row, ...], corpus_chars: int) -> int | None:
    """Index of the corpus row that caps a training split of ``corpus_chars`` characters, if any."""
    for i, row in enumerate(rows):
        if row.max_corpus is not None and corpus_chars < row.max_corpus:
            return i
    return None


def choose(table: Table, *, seconds: float | None, steps: int | None, corpus_chars: int,
           device: str) -> tuple[Row, str]:
    """The row of ``table`` for a run, and the reason in words.

    ``seconds`` wins over ``steps`` when both are given (the wall clock is the hard limit);
    with neither the plugins' default of 2,000 steps applies.
    """
    rows = table.rows
    steps = steps or DEFAULT_STEPS
    at = _budget_row(rows, seconds, steps, device)
    cap = _corpus_row(rows, corpus_chars)
    budget = f"{seconds:g} s budget" if seconds is not None else f"{steps} step budget"
    reason = f"{budget} on {device}, {corpus_chars:,}-char training split"
    if cap is not None and cap < at:
        return rows[cap], f"{reason}, capped for the small corpus"
    return rows[at], reason


def fit_to_corpus(values: dict[str, Any], tokens: int) -> dict[str, Any]:
    """Shrink a row's batch of contiguous streams (``seq_len``) or its ``context`` so a very short corpus of
    ``tokens`` still trains."""
    fitted = dict(values)
    if "seq_len" in fitted and "batch_size" in fitted:
        streams = tokens // (fitted["seq_len"] * MIN_WINDOWS_PER_STREAM)
        fitted["batch_size"] = max(1, min(fitted["batch_size"], streams))
    if "context" in fitted:
        fitted["context"] = max(2, min(fitted["context"], tokens // 2))
    return fitted


def apply(table: Table, options: M, *, corpus_chars: int, device: str, tokens: int | None = None,
          skip: bool = False, why_skipped: str = "") -> tuple[M, Sizing]:
    """``options`` with every unset sized field filled from the row of ``table``, and the `Sizing` to record.

    The row follows the corpus's characters; batch and context are fitted to its ``tokens``
    (fewer than characters at word or BPE level; default: the characters). An unset ``patience``
    (training options) becomes `DEFAULT_PATIENCE`, so training stops early by default. With
    ``skip`` (a preset or a pretrained source names the shape) no size is chosen and the `Sizing`
    says why.
    """
    steps = getattr(options, "max_steps", None)
    seconds = getattr(options, "max_seconds", None)
    row, reason = choose(table, seconds=seconds, steps=steps, corpus_chars=corpus_chars, device=device)
    stopping = {"patience": DEFAULT_PATIENCE} if "patience" in type(options).model_fields else {}
    values = {**fit_to_corpus(row.values, corpus_chars if tokens is None else tokens), **stopping}
    mine = [k for k in values if getattr(options, k) is not None]
    if skip:  # a preset or a source names the shape; when to stop early is still the rule's
        values, row, reason = stopping, Row("none", why_skipped, {}), why_skipped
    chosen = {k: v for k, v in values.items() if k not in mine}
    return options.model_copy(update=chosen), Sizing(row.name, reason, chosen, mine)


def next_size_up(table: Table, model: dict[str, int], device: str) -> dict[str, int]:
    """The size options (``table.size_keys``) of the smallest row for ``device`` larger than ``model``.

    Past the table's largest row: ``table.width`` grown 1.2x, rounded up to a multiple of 64 (and of
    ``table.width_divisor``'s value, e.g. the attention heads).
    """
    kind = "cuda" if device == "cuda" else "cpu"
    rows = [r.values for r in table.rows if r.max_corpus is not None or r.device == kind]
    larger = [v for v in rows if table.weights(v) > table.weights(model)]
    if larger:
        up = min(larger, key=table.weights)
        return {k: up[k] for k in table.size_keys if up[k] != model[k]}
    step = math.lcm(64, model.get(table.width_divisor, 1) if table.width_divisor else 1)
    return {table.width: math.ceil(model[table.width] * 1.2 / step) * step}


def plateau_hint(table: Table, sizing: Sizing, model: dict[str, int], device: str) -> str:
    """The stop line's advice when the held-out figure stopped improving before the budget ended.

    A model the corpus capped (a corpus row) stopped because the text ran out, so a larger model would
    memorise it sooner: the advice is more text. Otherwise the next size up from the table.
    """
    capped = next((r for r in table.rows if r.name == sizing.row and r.max_corpus is not None), None)
    if capped is not None:
        return "the corpus, not the budget, limits this model: more text would use the rest of the budget"
    options = " ".join(f"-o {k}={v}" for k, v in next_size_up(table, model, device).items())
    return f"a larger model ({options}) could use the rest of the budget"


def table_markdown(table: Table) -> str:
    """The table's rows as Markdown (docs/sizing.md holds the in-tree ones; a test keeps them equal)."""
    names = list(table.rows[0].values)
    lines = [f"| row | for | {' | '.join(names)} |", "|" + " --- |" * (len(names) + 2)]
    for row in table.rows:
        cells = " | ".join(f"{row.values[n]:g}" if isinstance(row.values[n], float) else str(row.values[n])
                           for n in names)
        lines.append(f"| {row.name} | {row.when} | {cells} |")
    return "\n".join(lines)
