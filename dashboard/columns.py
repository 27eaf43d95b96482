"""One dashboard column: load a model, stream its samples, then measure them.

`generate` is a job for `workers.run_concurrently`: it runs in a worker thread and
yields snapshots of a `ColumnResult`, which the script thread draws. A column's samples
stream as one batch (one model call per step for all of them), and a snapshot is taken
at most every `REDRAW_EVERY` seconds: copying and redrawing a column for every piece
cost the models most of their speed when several columns ran at once.
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
from .workers import Phase

#: Seconds between two snapshots of a streaming column (the page redraws no faster).
REDRAW_EVERY = 0.2


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
    first_token_seconds: float | None = None
    seconds: float = 0.0
    tokens: int = 0
    steps: int = 0  #: generation steps so far (each gives every sample one token)
    metrics: dict[str, float | None] = field(default_factory=dict)
    novelty: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def progress(self) -> float:
        """How far the column is, 0 to 1, for its progress bar."""
        if self.status == "generating":
            return min(1.0, self.steps / max(1, self.run.max_tokens))
        return 1.0 if self.status == "measuring" else 0.0

    @property
    def tokens_per_second(self) -> float | None:
        return self.tokens / self.seconds if self.seconds > 0 else None

    def snapshot(self) -> ColumnResult:
        """A copy the script thread can keep while the worker goes on changing this one."""
        return dataclasses.replace(self, samples=list(self.samples), notices=list(self.notices),
                                   metrics=dict(self.metrics), novelty=list(self.novelty), facts=dict(self.facts))

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "facts": self.facts, "prompt": self.prompt,
                "options": {**self.run.model_dump(), **self.sampling.model_dump()}, "samples": self.samples,
                "first_token_seconds": self.first_token_seconds, "seconds": self.seconds, "tokens": self.tokens,
                "tokens_per_second": self.tokens_per_second, "metrics": self.metrics, "novelty": self.novelty,
                "notices": self.notices, "error": self.error}


def diversity(texts: list[str]) -> dict[str, float | None]:
    """Distinct-1/2, repetition and (for several samples) self-BLEU of one column's samples."""
    found: dict[str, float | None] = {"distinct-1": distinct_n(texts, 1), "distinct-2": distinct_n(texts, 2),
             "repetition": repetition_rate(texts)}
    if len(texts) > 1:
        found["self-BLEU"] = self_bleu(texts)
    return found


def generate(result: ColumnResult, corpus: str | None = None, phase: Phase | None = None) -> Iterator[ColumnResult]:
    """Load the model, stream every sample, then add metrics; yields a snapshot after each step.

    Novelty is measured against ``corpus``, else the model's own training corpus. With
    ``phase`` (shared by the columns running at once) measuring waits until every column
    has generated.
    """
    try:
        model = load_model(result.source)
        result.facts = model_facts(model)
        unknown = model.unknowns(result.prompt)
        if unknown:
            result.notices.append(f"prompt pieces outside the vocabulary: {', '.join(map(repr, unknown[:8]))}")
        result.status = "generating"
        result.samples = [""] * result.run.num_samples
        yield result.snapshot()
        yield from _stream(model, result)
    finally:
        if phase:  # a failed or dropped column must not hold the others back
            phase.leave()
    result.tokens = sum(len(model.encode(text)) for text in result.samples)
    result.status = "measuring"
    yield result.snapshot()
    if phase:
        phase.wait()
    result.metrics = diversity(result.samples)
    corpus = corpus or training_corpus(model.training)
    if corpus is None:
        result.notices.append("no training corpus recorded: novelty not measured")
    else:
        try:
            result.novelty = training_index(corpus).novelties(result.samples)
        except (OSError, ValueError) as exc:
            result.notices.append(f"novelty not measured: {exc}")
        else:
            result.metrics["4-gram overlap"] = _mean([n["ngram_overlap"] for n in result.novelty])
            result.metrics["longest copy (chars)"] = max(n["longest_copy"] for n in result.novelty)
    result.status = "done"
    yield result.snapshot()


def _stream(model: Generator, result: ColumnResult) -> Iterator[ColumnResult]:
    """Stream every sample as one batch into ``result``, with a snapshot at most every `REDRAW_EVERY` s."""
    started = last = time.perf_counter()
    parts: list[list[str]] = [[] for _ in result.samples]
    run = result.run
    for pieces in model.stream_batch(result.prompt, max_tokens=run.max_tokens, num_samples=run.num_samples,
                                     seed=run.seed, options=result.sampling):
        now = time.perf_counter()
        result.steps += 1
        if result.first_token_seconds is None:
            result.first_token_seconds = now - started
        for part, piece in zip(parts, pieces, strict=True):
            if piece:
                part.append(piece)
        if now - last >= REDRAW_EVERY:
            last = now
            result.samples, result.seconds = ["".join(p) for p in parts], now - started
            yield result.snapshot()
    result.samples, result.seconds = ["".join(p) for p in parts], time.perf_counter() - started


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None  # None, not NaN: the run's JSON stays valid
