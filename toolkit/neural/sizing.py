"""The sizing rule: model size, dropout, batch and learning rate from the budget, corpus and device.

A neural plugin whose user sets no size asks `choose` for a row of its own `Table`, as
nanoGPT keeps one configuration per setting, and fills every option the user left
unset (None) from it; what the user set wins. The row is the larger of what the budget
affords (seconds, or steps when no seconds are given) and what the corpus can feed
without being memorised, so a small corpus gets a small model with more dropout.

Under a seconds budget what the seconds buy depends on the machine (four-fold between two
2-core boxes), so a row with a reference speed has a threshold in training tokens
(`Row.max_tokens`), and the rule asks the plugin's `Measure` how fast each row trains here
(`toolkit.neural.speeds`: a short timed probe, cached per machine), row by row from the
smallest, until the tokens the budget buys at a row stay under its threshold. A slower
machine so gets the smaller model it can train; a step budget never looks at the clock.

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
#: Share of a seconds budget spent in training steps: the rest validates (at most 5% by design,
#: `toolkit.neural.trainer.EVAL_SHARE`). A probe times steps alone; the reference speeds are whole runs.
TRAINING_SHARE = 0.95

__all__ = [
    "DEFAULT_PATIENCE", "DEFAULT_STEPS", "MEDIUM_CORPUS", "MIN_WINDOWS_PER_STREAM", "SMALL_CORPUS", "TINY_CORPUS",
    "TRAINING_SHARE", "Measure", "Measured", "Row", "Sizing", "Speed", "Table", "apply", "budget_row", "budget_steps",
    "choose",
    "corpus_row", "fit_to_corpus", "gpu_row", "next_size_up", "plateau_hint", "table_markdown",
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
    #: budget rows: training tokens/s on the machine ``max_seconds`` was set on (the table says where it comes from)
    reference_speed: float | None = None

    @property
    def max_tokens(self) -> float | None:
        """Under a seconds budget: used while the budget buys fewer training tokens than this on this machine.

        ``max_seconds`` at the reference speed, so the reference machine picks the row it picked by seconds.
        """
        if self.max_seconds is None or self.reference_speed is None:
            return None
        return self.max_seconds * self.reference_speed


@dataclass(frozen=True)
class Speed:
    """How fast a row's model trains on this machine: a `Measure`'s answer."""

    tokens_per_second: float  #: training tokens per second of its training steps
    source: str  #: "probe" (timed now) or "cache" (timed by an earlier run on this machine)
    seconds: float = 0.0  #: what finding it cost: the probe's wall-clock seconds, 0 from the cache


#: The training speed on this machine of a model with these option values (`toolkit.neural.speeds.measured`).
Measure = Callable[[dict[str, Any]], Speed]


@dataclass(frozen=True)
class Measured:
    """One row the rule measured: its speed, and the tokens the seconds budget buys at it."""

    row: str
    speed: Speed
    tokens: float  #: training tokens the budget buys at this row on this machine
    max_tokens: float  #: the row's threshold

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "tokens_per_second": round(self.speed.tokens_per_second, 1),
                "source": self.speed.source, "probe_seconds": round(self.speed.seconds, 3),
                "tokens": round(self.tokens), "max_tokens": round(self.max_tokens)}


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
    measured: list[Measured] = field(default_factory=list)  #: rows timed on this machine, smallest first

    def summary(self) -> str:
        """The training summary's line, e.g. ``sizes (rule row cpu-long: 600 s budget ...): hidden_size=640 ...``."""
        chosen = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.chosen.items())
        yours = f"; yours: {', '.join(self.set_by_user)}" if self.set_by_user else ""
        return f"sizes (rule row {self.row}: {self.reason}): {chosen or 'none chosen'}{yours}"

    def to_json(self) -> dict[str, Any]:
        """``training["sizing"]``: ``measured`` lists the rows timed (empty when the rule did not look at speed)."""
        return {"row": self.row, "reason": self.reason, "chosen": self.chosen, "set_by_user": self.set_by_user,
                "measured": [m.to_json() for m in self.measured],
                "probe_seconds": round(sum(m.speed.seconds for m in self.measured), 3), "summary": self.summary()}


def corpus_row(name: str, chars: int, when: str, **values: Any) -> Row:
    """A row that caps the model for training splits under ``chars`` characters."""
    return Row(name, when, values, max_corpus=chars)


def budget_row(name: str, when: str, seconds: float | None, steps: int | None, *,
               reference_speed: float | None = None, **values: Any) -> Row:
    """A CPU row for budgets under ``seconds`` (or ``steps``); None for both: the longest budgets.

    With ``reference_speed`` (training tokens/s where ``seconds`` was set) the row's seconds threshold
    becomes one in tokens, and the rule measures what a seconds budget buys on this machine.
    """
    return Row(name, when, values, max_seconds=seconds, max_steps=steps, reference_speed=reference_speed)


def gpu_row(when: str, **values: Any) -> Row:
    """The CUDA row (``gpu``), for any budget."""
    return Row("gpu", when, values, device="cuda")


def _candidates(rows: tuple[Row, ...], device: str) -> list[int]:
    """Indices of the budget rows for ``device``, smallest model first."""
    kind = "cuda" if device == "cuda" else "cpu"
    return [i for i, r in enumerate(rows) if r.max_corpus is None and r.device == kind]


def budget_steps(table: Table, values: dict[str, Any], *, steps: int | None = None, tokens: int | None = None,
                 flops: float | None = None) -> int:
    """The steps a step, token or FLOP budget buys a row (the tightest; none given: `DEFAULT_STEPS`).

    Tokens per step are the row's batch x window; FLOPs per token the rough 6 x ``table.weights`` (the
    plugin's exact count decides the run itself), so the rule's steps rows apply to every unit.
    """
    per_step = values.get("batch_size", 1) * values.get("seq_len", values.get("context", 1))
    limits = [steps] if steps else []
    if tokens:
        limits.append(tokens // per_step)
    if flops:
        limits.append(int(flops // (per_step * 6 * table.weights(values))))
    return min(limits) if limits else DEFAULT_STEPS


def _budget_row(rows: tuple[Row, ...], candidates: list[int], seconds: float | None,
                steps: Callable[[dict[str, Any]], int]) -> int:
    """Index of the row the budget affords: the first whose limit it is under, else the last."""
    for i in candidates:
        limit = rows[i].max_seconds if seconds is not None else rows[i].max_steps
        if limit is not None and (seconds if seconds is not None else steps(rows[i].values)) < limit:
            return i
    return candidates[-1]


def _by_speed(rows: tuple[Row, ...], candidates: list[int], seconds: float,
              measure: Measure) -> tuple[int, list[Measured]]:
    """Index of the first row at which ``seconds`` buy fewer tokens than its threshold, and the rows measured.

    Rows are measured only as far as needed (the last candidate never is); a row without a token threshold
    is judged by its seconds, as without measurement.
    """
    found: list[Measured] = []
    for i in candidates[:-1]:
        row = rows[i]
        if row.max_tokens is None:
            if row.max_seconds is not None and seconds < row.max_seconds:
                return i, found
            continue
        speed = measure(row.values)
        found.append(Measured(row.name, speed, seconds * TRAINING_SHARE * speed.tokens_per_second, row.max_tokens))
        if found[-1].tokens < row.max_tokens:
            return i, found
    return candidates[-1], found


def _say_measured(seconds: float, found: list[Measured]) -> str:
    """``measured 10.9k tokens/s for cpu-short: 213 s buys 2.2M tokens at cpu-short (under its 6.4M)``."""
    speeds = ", ".join(f"{_k(m.speed.tokens_per_second)} tokens/s for {m.row}"
                       + (f" ({m.speed.source})" if m.speed.source != "probe" else "") for m in found)
    buys = ", ".join(f"{_m(m.tokens)} tokens at {m.row} ({'under' if m.tokens < m.max_tokens else 'over'} its "
                     f"{_m(m.max_tokens)})" for m in found)
    return f"measured {speeds}: {seconds:g} s buys {buys}"


def _k(value: float) -> str:
    return f"{value / 1e3:.1f}k"


def _m(value: float) -> str:
    """A token count in words: ``6.4M``, ``950k``, ``80``."""
    return f"{value / 1e6:.1f}M" if value >= 1e6 else f"{value / 1e3:.0f}k" if value >= 1e3 else f"{value:.0f}"


def _corpus_row(rows: tuple[Row, ...], corpus_chars: int) -> int | None:
    """Index of the corpus row that caps a training split of ``corpus_chars`` characters, if any."""
    for i, row in enumerate(rows):
        if row.max_corpus is not None and corpus_chars < row.max_corpus:
            return i
    return None


def choose(table: Table, *, seconds: float | None, steps: int | None, corpus_chars: int, device: str,
           tokens: int | None = None, flops: float | None = None,
           measure: Measure | None = None) -> tuple[Row, str]:
    """The row of ``table`` for a run, and the reason in words.

    ``seconds`` wins over ``steps`` when both are given (the wall clock is the hard limit);
    a ``tokens`` or ``flops`` budget counts as the steps it buys each row (`budget_steps`);
    with none the plugins' default of 2,000 steps applies. With ``measure`` (a row's values ->
    its `Speed` here) a seconds budget picks the row by the tokens it buys at each row's measured
    speed (`Row.max_tokens`).
    """
    budget = {"steps": steps, "tokens": tokens, "flops": flops}
    row, reason, _ = _choose(table, seconds, budget, corpus_chars=corpus_chars, device=device, measure=measure)
    return row, reason


def _choose(table: Table, seconds: float | None, budget: dict[str, Any], *, corpus_chars: int, device: str,
            measure: Measure | None) -> tuple[Row, str, list[Measured]]:
    """`choose`, and the rows it measured. A corpus cap below every budget row needs no measurement."""
    rows, candidates = table.rows, _candidates(table.rows, device)

    def afford(values: dict[str, Any]) -> int:
        return budget_steps(table, values, **budget)

    cap = _corpus_row(rows, corpus_chars)
    found: list[Measured] = []
    if seconds is not None and measure is not None and (cap is None or cap > candidates[0]):
        at, found = _by_speed(rows, candidates, seconds, measure)
    else:
        at = _budget_row(rows, candidates, seconds, afford)
    said = _say_budget(seconds, budget, afford(rows[at].values))
    reason = f"{said} on {device}, {corpus_chars:,}-char training split"
    if found:
        reason = f"{reason}; {_say_measured(seconds or 0.0, found)}"
    if cap is not None and cap < at:
        return rows[cap], f"{reason}, capped for the small corpus", found
    return rows[at], reason, found


def _say_budget(seconds: float | None, budget: dict[str, Any], steps: int) -> str:
    """``85 s budget``, ``2000 step budget`` or ``100 step budget (max_tokens=204800)``."""
    if seconds is not None:
        return f"{seconds:g} s budget"
    unit = "flops" if budget["flops"] else "tokens" if budget["tokens"] else None
    return f"{steps} step budget" + (f" (max_{unit}={budget[unit]:g})" if unit else "")


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


def _as_trained(measure: Measure, tokens: int, sizes: dict[str, Any]) -> Measure:
    """A row's speed as its model would train here: fitted to the corpus, with the sizes the user set."""
    return lambda values: measure({**fit_to_corpus(values, tokens), **sizes})


def apply(table: Table, options: M, *, corpus_chars: int, device: str, tokens: int | None = None,
          skip: bool = False, why_skipped: str = "", measure: Measure | None = None) -> tuple[M, Sizing]:
    """``options`` with every unset sized field filled from the row of ``table``, and the `Sizing` to record.

    The row follows the corpus's characters; batch and context are fitted to its ``tokens``
    (fewer than characters at word or BPE level; default: the characters). An unset ``patience``
    (training options) becomes `DEFAULT_PATIENCE`, so training stops early by default. With
    ``skip`` (a preset or a pretrained source names the shape) no size is chosen and the `Sizing`
    says why. ``measure`` (the plugin's probe) times a row's model as it would train, the user's
    sizes in it; it is asked only under a seconds budget, and not when the user set every size.
    """
    tokens = corpus_chars if tokens is None else tokens
    sizes = {k: getattr(options, k) for k in table.rows[0].values if getattr(options, k) is not None}
    timed = None if measure is None or skip or len(sizes) == len(table.rows[0].values) else \
        _as_trained(measure, tokens, sizes)
    budget = {unit: getattr(options, f"max_{unit}", None) for unit in ("steps", "tokens", "flops")}
    row, reason, found = _choose(table, getattr(options, "max_seconds", None), budget, corpus_chars=corpus_chars,
                                 device=device, measure=timed)
    stopping = {"patience": DEFAULT_PATIENCE} if "patience" in type(options).model_fields else {}
    values = {**fit_to_corpus(row.values, tokens), **stopping}
    yours = [k for k in values if getattr(options, k) is not None]
    if skip:  # a preset or a source names the shape; when to stop early is still the rule's
        values, row, reason = stopping, Row("none", why_skipped, {}), why_skipped
    chosen = {k: v for k, v in values.items() if k not in yours}
    return options.model_copy(update=chosen), Sizing(row.name, reason, chosen, yours, found)


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
    """The table's rows as Markdown (docs/sizing.md holds the in-tree ones; a test keeps them equal).

    Rows with a token threshold add a column: ``6.4M (150 s x 42.4k/s)``.
    """
    names = list(table.rows[0].values)
    by_speed = any(row.max_tokens is not None for row in table.rows)
    heads = ["row", "for", *(["tokens under (seconds budget)"] if by_speed else []), *names]
    lines = [f"| {' | '.join(heads)} |", "|" + " --- |" * len(heads)]
    for row in table.rows:
        cells = [f"{row.values[n]:g}" if isinstance(row.values[n], float) else str(row.values[n]) for n in names]
        if by_speed:
            cells.insert(0, "" if row.max_tokens is None else
                         f"{_m(row.max_tokens)} ({row.max_seconds:g} s x {_k(row.reference_speed or 0)}/s)")
        lines.append(f"| {row.name} | {row.when} | {' | '.join(cells)} |")
    return "\n".join(lines)
