"""One dashboard column: load a model, stream its samples, then measure them.

`generate` is a job for `workers.run_concurrently`: it runs in a worker thread and
yields snapshots of a `ColumnResult`, which the script thread draws. A column's samples
stream as one batch (one model call per step for all of them). The first text is shown
as soon as it exists, later snapshots at most every `REDRAW_EVERY` seconds: copying and
redrawing a column for every piece cost the models most of their speed when several
columns ran at once.

Columns run at once take turns at the machine (`workers.Turns`): each shows its first
text as soon as it can, then waits its turn ("queued") and generates the rest at full
speed. A column's state is one of `STATES`. Its timing keeps loading apart from
generating: ``load_seconds`` is what loading the model took (about 0 once it is loaded),
and the first-token time and characters per second count the column's own turns only,
the figures ``textgen generate`` prints for the same model and settings run alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from toolkit.evaluation.metrics import distinct_n, repetition_rate, self_bleu
from toolkit.generation.sampling import SamplingOptions
from toolkit.generator import Generator

from .forms import RunOptions
from .models import load_model, model_facts, training_corpus, training_index
from .workers import Phase, Turns

#: Seconds between two snapshots of a streaming column (the page redraws no faster).
REDRAW_EVERY = 0.2
#: What a column can be doing, in the order a run goes through them, and how the page names it.
STATES = {"loading": "loading the model", "queued": "waiting its turn", "streaming": "streaming",
          "waiting": "waiting for the other columns",
          "measuring": "measuring", "done": "done", "error": "error", "stopped": "stopped"}
#: The metrics every column lists, in this order (a missing one shows as "–", so the tables line up).
METRICS = ("distinct-1", "distinct-2", "repetition", "self-BLEU", "4-gram overlap", "longest copy (chars)")


@dataclass
class ColumnResult:
    """What a column shows, filled in as its job goes."""

    source: str
    prompt: str
    run: RunOptions
    sampling: SamplingOptions
    facts: dict[str, Any] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    status: str = "loading"
    notices: list[str] = field(default_factory=list)
    load_seconds: float | None = None
    first_token_seconds: float | None = None  #: from the start of generation, loading excluded
    seconds: float = 0.0  #: generating only: the column's own turns
    tokens: int = 0
    metrics: dict[str, float | None] = field(default_factory=dict)
    novelty: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def done(self) -> bool:
        """Finished one way or another: nothing will change it any more."""
        return self.status in ("done", "error", "stopped")

    @property
    def chars(self) -> int:
        return sum(map(len, self.samples))

    @property
    def progress(self) -> float:
        """How far the samples are through their character budget: 1.0 only once generation ended."""
        if self.status in ("loading", "queued", "streaming"):
            return min(0.99, self.chars / (self.run.max_chars * self.run.num_samples))
        return 1.0

    @property
    def chars_per_second(self) -> float | None:
        return self.chars / self.seconds if self.seconds > 0 else None

    @property
    def tokens_per_second(self) -> float | None:
        return self.tokens / self.seconds if self.seconds > 0 and self.tokens else None

    def finished(self, i: int) -> bool:
        """Whether sample ``i`` has ended (its budget is spent, or the whole column is past streaming)."""
        return self.status not in ("queued", "streaming") or len(self.samples[i]) >= self.run.max_chars

    def settings(self) -> dict[str, Any]:
        """Everything that decides this column's text: prompt, run and sampling options."""
        return {"prompt": self.prompt, **self.run.model_dump(), **self.sampling.model_dump()}

    def snapshot(self) -> ColumnResult:
        """A copy the script thread can keep while the worker goes on changing this one."""
        return dataclasses.replace(self, samples=list(self.samples), notices=list(self.notices),
                                   metrics=dict(self.metrics), novelty=list(self.novelty), facts=dict(self.facts))

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "facts": self.facts, "prompt": self.prompt, "status": self.status,
                "options": {**self.run.model_dump(), **self.sampling.model_dump()}, "samples": self.samples,
                "load_seconds": self.load_seconds, "first_token_seconds": self.first_token_seconds,
                "seconds": self.seconds, "chars": self.chars, "chars_per_second": self.chars_per_second,
                "tokens": self.tokens, "tokens_per_second": self.tokens_per_second, "metrics": self.metrics,
                "novelty": self.novelty, "notices": self.notices, "error": self.error}


def diversity(texts: list[str]) -> dict[str, float | None]:
    """Distinct-1/2, repetition and (for several samples) self-BLEU of one column's samples."""
    found: dict[str, float | None] = {"distinct-1": distinct_n(texts, 1), "distinct-2": distinct_n(texts, 2),
                                      "repetition": repetition_rate(texts)}
    if len(texts) > 1:
        found["self-BLEU"] = self_bleu(texts)
    return found


def generate(result: ColumnResult, corpus: str | None = None, phase: Phase | None = None,
             turns: Turns | None = None) -> Iterator[ColumnResult]:
    """Load the model, stream every sample, then add metrics; yields snapshots as it goes.

    Novelty is measured against ``corpus``, else the model's own training corpus. With
    ``phase`` (shared by the columns running at once) measuring waits until every column
    has generated; with ``turns`` (shared too) the columns generate one at a time.
    """
    try:
        started = time.perf_counter()
        model = load_model(result.source)
        result.load_seconds = time.perf_counter() - started
        result.facts = model_facts(model)
        unknown = model.unknowns(result.prompt)
        if unknown:
            result.notices.append(f"prompt pieces outside the vocabulary: {', '.join(map(repr, unknown[:8]))}")
        result.status = "queued"
        result.samples = [""] * result.run.num_samples
        if result.load_seconds >= REDRAW_EVERY:  # a model already loaded goes straight to its first text
            yield result.snapshot()
        yield from _stream(model, result, turns or Turns())
    finally:
        if phase:  # a failed or dropped column must not hold the others back
            phase.leave()
    result.tokens = sum(len(model.encode(text)) for text in result.samples)
    result.status = "waiting"
    yield result.snapshot()
    if phase:
        phase.wait()
    result.status = "measuring"
    yield result.snapshot()
    _measure(model, result, corpus)
    result.status = "done"
    yield result.snapshot()


def _stream(model: Generator, result: ColumnResult, turns: Turns) -> Iterator[ColumnResult]:
    """Stream every sample as one batch into ``result``: its first step in a short turn, the rest in a long one.

    A snapshot goes out at the first text, then every `REDRAW_EVERY` s of the long turn;
    ``result.seconds`` counts the turns only.
    """
    run = result.run
    steps = model.stream_batch(result.prompt, max_tokens=run.max_chars, max_chars=run.max_chars,
                               num_samples=run.num_samples, seed=run.seed, options=result.sampling)
    parts: list[list[str]] = [[] for _ in result.samples]
    with turns.turn(short=True) as turn:
        _take(next(steps, [""] * len(parts)), parts)
        spent = result.first_token_seconds = turn.held()
    _show(result, parts, spent)
    yield result.snapshot()
    with turns.turn() as turn:
        result.status = "streaming"
        last = time.perf_counter()
        for pieces in steps:
            _take(pieces, parts)
            if time.perf_counter() - last >= REDRAW_EVERY:
                last = time.perf_counter()
                _show(result, parts, spent + turn.held())
                yield result.snapshot()
            turn.step_aside()
        spent += turn.held()
    _show(result, parts, spent)


def _take(pieces: Any, parts: list[list[str]]) -> None:
    for part, piece in zip(parts, pieces, strict=True):
        if piece:
            part.append(piece)


def _show(result: ColumnResult, parts: list[list[str]], seconds: float) -> None:
    result.samples, result.seconds = ["".join(p) for p in parts], seconds


def _measure(model: Generator, result: ColumnResult, corpus: str | None) -> None:
    """Diversity, and novelty against ``corpus`` (else the model's training corpus), into ``result``."""
    result.metrics = diversity(result.samples)
    corpus = corpus or training_corpus(model.training)
    if corpus is None:
        result.notices.append("no training corpus recorded: novelty not measured")
        return
    try:
        result.novelty = training_index(corpus).novelties(result.samples)
    except (OSError, ValueError) as exc:
        result.notices.append(f"novelty not measured: {exc}")
        return
    result.metrics["4-gram overlap"] = _mean([n["ngram_overlap"] for n in result.novelty])
    result.metrics["longest copy (chars)"] = max(n["longest_copy"] for n in result.novelty)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None  # None, not NaN: the run's JSON stays valid
