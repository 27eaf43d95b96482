"""The sizing rule: model size, dropout, batch and learning rate from the budget, corpus and device.

A neural plugin whose user sets no size asks `choose` for a row of `TABLES`, as
nanoGPT keeps one configuration per setting, and fills every option the user left
unset (None) from it; what the user set wins. The row is the larger of what the budget
affords (seconds, or steps when no seconds are given) and what the corpus can feed
without being memorised, so a small corpus gets a small model with more dropout.

Pure data and arithmetic, no torch: ``textgen options`` and the docs table read it
without loading a model. The CPU thresholds were set on a 2-core x86 box (the machine
`bench/RESULTS.md` measures on); see docs/sizing.md for the table and where each row
comes from.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field

M = TypeVar("M", bound=BaseModel)

#: Below this many training characters a corpus counts as tiny / small / medium (KB-sized notes, poems...).
TINY_CORPUS, SMALL_CORPUS, MEDIUM_CORPUS = 20_000, 150_000, 500_000
#: Each stream of a contiguous (LSTM) batch should hold at least this many windows of the corpus.
MIN_WINDOWS_PER_STREAM = 8
#: What a budget means when neither seconds nor steps are set (the plugins' own default).
DEFAULT_STEPS = 2000
#: Validations without a new best before training stops early (``patience``; 0 never stops early). The
#: trainer spreads its validations over the budget (`toolkit.neural.trainer.EVALUATIONS`, 20), so 5 in a row
#: without a new best is a quarter of the budget on a plateau, not noise.
DEFAULT_PATIENCE = 5
#: The options that make a family's model larger, as the stop line's "a larger model (...)" names them.
SIZE_KEYS = {"lstm": ("hidden_size", "layers"), "gpt2": ("layers", "heads", "width")}


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


def _corpus(name: str, chars: int, when: str, **values: Any) -> Row:
    return Row(name, when, values, max_corpus=chars)


def _budget(name: str, when: str, seconds: float | None, steps: int | None, **values: Any) -> Row:
    return Row(name, when, values, max_seconds=seconds, max_steps=steps, device="cuda" if name == "gpu" else "cpu")


#: Rows per family, smallest model first. Corpus rows cap the model; budget rows grow it; ``gpu`` is CUDA's.
TABLES: dict[str, list[Row]] = {
    "lstm": [
        _corpus("tiny-corpus", TINY_CORPUS, "corpus under 20k chars", embedding_size=32, hidden_size=128,
                layers=1, dropout=0.4, batch_size=16, seq_len=64, lr=5e-3),
        _corpus("small-corpus", SMALL_CORPUS, "corpus under 150k chars", embedding_size=48, hidden_size=256,
                layers=1, dropout=0.3, batch_size=32, seq_len=64, lr=5e-3),
        _corpus("medium-corpus", MEDIUM_CORPUS, "corpus under 500k chars", embedding_size=64, hidden_size=384,
                layers=1, dropout=0.2, batch_size=32, seq_len=64, lr=5e-3),
        _budget("cpu-short", "CPU, under 150 s or 2,500 steps", 150, 2500, embedding_size=64, hidden_size=384,
                layers=1, dropout=0.0, batch_size=32, seq_len=64, lr=5e-3),
        _budget("cpu-medium", "CPU, under 400 s or 6,000 steps", 400, 6000, embedding_size=64, hidden_size=512,
                layers=1, dropout=0.1, batch_size=32, seq_len=64, lr=4e-3),
        _budget("cpu-long", "CPU, longer", None, None, embedding_size=96, hidden_size=640, layers=1,
                dropout=0.2, batch_size=32, seq_len=96, lr=3e-3),
        _budget("gpu", "CUDA GPU, any budget", None, None, embedding_size=128, hidden_size=1024, layers=2,
                dropout=0.2, batch_size=128, seq_len=128, lr=3e-3),
    ],
    "gpt2": [
        _corpus("tiny-corpus", TINY_CORPUS, "corpus under 20k chars", layers=2, heads=2, width=64, context=64,
                dropout=0.3, batch_size=12, lr=3e-3),
        _corpus("small-corpus", SMALL_CORPUS, "corpus under 150k chars", layers=3, heads=4, width=96, context=64,
                dropout=0.2, batch_size=12, lr=3e-3),
        _corpus("medium-corpus", MEDIUM_CORPUS, "corpus under 500k chars", layers=3, heads=4, width=128,
                context=64, dropout=0.15, batch_size=12, lr=3e-3),
        _budget("cpu-short", "CPU, under 150 s or 1,500 steps", 150, 1500, layers=3, heads=4, width=128,
                context=64, dropout=0.0, batch_size=12, lr=4e-3),
        _budget("cpu-medium", "CPU, under 400 s or 5,000 steps (the baby preset)", 400, 5000, layers=4,
                heads=4, width=128, context=64, dropout=0.0, batch_size=12, lr=3e-3),
        # 6 x 4 x 128 with dropout 0.1 here reached only 1.579 nats/char in 600 s against baby's 1.481-1.489
        # (bench/RESULTS.md, scaling): on 2 CPU cores no deeper shape pays off within 600 s, so baby stays.
        _budget("cpu-long", "CPU, longer (the baby preset: a deeper model trained worse in 600 s)", None, None,
                layers=4, heads=4, width=128, context=64, dropout=0.0, batch_size=12, lr=3e-3),
        _budget("gpu", "CUDA GPU, any budget (nanoGPT shakespeare_char)", None, None, layers=6, heads=6,
                width=384, context=256, dropout=0.2, batch_size=64, lr=1e-3),
    ],
}


def auto(description: str, how: str = "from the budget, corpus and device", **constraints: Any) -> Any:
    """A pydantic field the rule fills when the user leaves it unset; ``textgen options`` marks it auto."""
    return Field(None, description=f"{description}; auto: {how} (docs/sizing.md).",
                 json_schema_extra={"auto": True}, **constraints)


def budget_steps(family: str, values: dict[str, Any], *, steps: int | None = None, tokens: int | None = None,
                 flops: float | None = None) -> int:
    """The steps a step, token or FLOP budget buys a row (the tightest; none given: `DEFAULT_STEPS`).

    Tokens per step are the row's batch x window; FLOPs per token the rough 6 x `weights` (the
    plugin's exact count decides the run itself), so the rule's steps rows apply to every unit.
    """
    per_step = values["batch_size"] * values.get("seq_len", values.get("context", 1))
    limits = [steps] if steps else []
    if tokens:
        limits.append(tokens // per_step)
    if flops:
        limits.append(int(flops // (per_step * 6 * weights(family, values))))
    return min(limits) if limits else DEFAULT_STEPS


def _budget_row(rows: list[Row], seconds: float | None, steps: Callable[[dict[str, Any]], int], device: str) -> int:
    """Index of the row the budget affords on ``device``: the first whose limit it is under, else the last."""
    kind = "cuda" if device == "cuda" else "cpu"
    candidates = [i for i, r in enumerate(rows) if r.max_corpus is None and r.device == kind]
    for i in candidates:
        limit = rows[i].max_seconds if seconds is not None else rows[i].max_steps
        if limit is not None and (seconds if seconds is not None else steps(rows[i].values)) < limit:
            return i
    return candidates[-1]


def _corpus_row(rows: list[Row], corpus_chars: int) -> int | None:
    """Index of the corpus row that caps a training split of ``corpus_chars`` characters, if any."""
    for i, row in enumerate(rows):
        if row.max_corpus is not None and corpus_chars < row.max_corpus:
            return i
    return None


def choose(family: str, *, seconds: float | None, steps: int | None, corpus_chars: int,
           device: str, tokens: int | None = None, flops: float | None = None) -> tuple[Row, str]:
    """The row for a run of ``family`` (``lstm`` or ``gpt2``) and the reason in words.

    ``seconds`` wins over ``steps`` when both are given (the wall clock is the hard limit);
    a ``tokens`` or ``flops`` budget counts as the steps it buys each row (`budget_steps`);
    with none the plugins' default of 2,000 steps applies.
    """
    rows = TABLES[family]

    def afford(values: dict[str, Any]) -> int:
        return budget_steps(family, values, steps=steps, tokens=tokens, flops=flops)

    at = _budget_row(rows, seconds, afford, device)
    cap = _corpus_row(rows, corpus_chars)
    compute = f" ({'max_flops' if flops else 'max_tokens'}={flops or tokens:g})" if flops or tokens else ""
    budget = f"{seconds:g} s budget" if seconds is not None else f"{afford(rows[at].values)} step budget{compute}"
    reason = f"{budget} on {device}, {corpus_chars:,}-char training split"
    if cap is not None and cap < at:
        return rows[cap], f"{reason}, capped for the small corpus"
    return rows[at], reason


def fit_to_corpus(values: dict[str, Any], tokens: int) -> dict[str, Any]:
    """Shrink a row's batch (LSTM streams) or context (GPT-2) so a very short corpus of ``tokens`` still trains."""
    fitted = dict(values)
    if "seq_len" in fitted and "batch_size" in fitted:
        streams = tokens // (fitted["seq_len"] * MIN_WINDOWS_PER_STREAM)
        fitted["batch_size"] = max(1, min(fitted["batch_size"], streams))
    if "context" in fitted:
        fitted["context"] = max(2, min(fitted["context"], tokens // 2))
    return fitted


def apply(family: str, options: M, *, corpus_chars: int, device: str, tokens: int | None = None,
          skip: bool = False, why_skipped: str = "") -> tuple[M, Sizing]:
    """``options`` with every unset sized field filled from the rule's row, and the `Sizing` to record.

    The row follows the corpus's characters; batch and context are fitted to its ``tokens``
    (fewer than characters at word or BPE level; default: the characters). An unset ``patience``
    (training options) becomes `DEFAULT_PATIENCE`, so training stops early by default. With
    ``skip`` (a preset or a pretrained source names the shape) no size is chosen and the `Sizing`
    says why.
    """
    steps = getattr(options, "max_steps", None)
    seconds = getattr(options, "max_seconds", None)
    row, reason = choose(family, seconds=seconds, steps=steps, corpus_chars=corpus_chars, device=device,
                         tokens=getattr(options, "max_tokens", None), flops=getattr(options, "max_flops", None))
    stopping = {"patience": DEFAULT_PATIENCE} if "patience" in type(options).model_fields else {}
    values = {**fit_to_corpus(row.values, corpus_chars if tokens is None else tokens), **stopping}
    mine = [k for k in values if getattr(options, k) is not None]
    if skip:  # a preset or a source names the shape; when to stop early is still the rule's
        values, row, reason = stopping, Row("none", why_skipped, {}), why_skipped
    chosen = {k: v for k, v in values.items() if k not in mine}
    return options.model_copy(update=chosen), Sizing(row.name, reason, chosen, mine)


def weights(family: str, values: dict[str, Any]) -> int:
    """Rough weight count of a model of these sizes (LSTM gates, or GPT-2's 12 x layers x width squared)."""
    if family == "lstm":
        return 4 * values["hidden_size"] * (values["hidden_size"] + values["embedding_size"]) * values["layers"]
    return 12 * values["layers"] * values["width"] ** 2


def next_size_up(family: str, model: dict[str, int], device: str) -> dict[str, int]:
    """The size options (`SIZE_KEYS`) of the smallest row for ``device`` larger than ``model``.

    Past the table's largest row: the width (LSTM hidden_size, GPT-2 width) grown 1.2x, rounded up to a
    multiple of 64 that GPT-2's heads divide.
    """
    kind = "cuda" if device == "cuda" else "cpu"
    rows = [r.values for r in TABLES[family] if r.max_corpus is not None or r.device == kind]
    larger = [v for v in rows if weights(family, v) > weights(family, model)]
    keys = SIZE_KEYS[family]
    if larger:
        up = min(larger, key=lambda v: weights(family, v))
        return {k: up[k] for k in keys if up[k] != model[k]}
    width = "hidden_size" if family == "lstm" else "width"
    step = math.lcm(64, model.get("heads", 1))
    return {width: math.ceil(model[width] * 1.2 / step) * step}


def plateau_hint(family: str, sizing: Sizing, model: dict[str, int], device: str) -> str:
    """The stop line's advice when the held-out figure stopped improving before the budget ended.

    A model the corpus capped (a corpus row) stopped because the text ran out, so a larger model would
    memorise it sooner: the advice is more text. Otherwise the next size up from the table.
    """
    capped = next((r for r in TABLES[family] if r.name == sizing.row and r.max_corpus is not None), None)
    if capped is not None:
        return "the corpus, not the budget, limits this model: more text would use the rest of the budget"
    options = " ".join(f"-o {k}={v}" for k, v in next_size_up(family, model, device).items())
    return f"a larger model ({options}) could use the rest of the budget"


def table_markdown(family: str) -> str:
    """The family's rows as a Markdown table (docs/sizing.md holds these; a test keeps them equal)."""
    rows = TABLES[family]
    names = list(rows[0].values)
    lines = [f"| row | for | {' | '.join(names)} |", "|" + " --- |" * (len(names) + 2)]
    for row in rows:
        cells = " | ".join(f"{row.values[n]:g}" if isinstance(row.values[n], float) else str(row.values[n])
                           for n in names)
        lines.append(f"| {row.name} | {row.when} | {cells} |")
    return "\n".join(lines)
