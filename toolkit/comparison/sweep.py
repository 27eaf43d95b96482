"""The sampling sweep: samples at one temperature, and their diversity, novelty and speed."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from ..evaluation.metrics import TrainingIndex, distinct_n, repetition_rate, self_bleu
from ..generator import Generator
from .results import TemperatureResult

#: Word n-gram size for overlap with training and for the repetition rate.
NGRAM = 4
#: A sample's length budget, as `Generator.complete` takes it: ``{"max_tokens": N, "max_chars": M}``
#: (characters by default, so a word model and a character model write samples of the same length).
Length = Mapping[str, int | None]


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _draw(model: Generator, prompts: Sequence[str], temperature: float, samples: int, length: Length,
          seed: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Sample every prompt; the rows (prompt, text, tokens) and the timing totals."""
    rows: list[dict[str, Any]] = []
    seconds = 0.0
    tokens = chars = 0
    firsts = []
    for i, prompt in enumerate(prompts):
        # one seed per prompt: with a shared seed, prompts that lead to similar states draw coupled samples
        completion = model.complete(prompt, **length, num_samples=samples, seed=seed + i, temperature=temperature)
        seconds += completion.seconds
        firsts.append(completion.first_token_seconds)
        tokens += completion.num_tokens
        chars += sum(len(t) for t in completion.texts)
        rows.extend({"prompt": prompt, "text": t, "tokens": len(ids)}
                    for t, ids in zip(completion.texts, completion.tokens, strict=True))
    timing = {"seconds": seconds, "first_token_seconds": statistics.median(firsts), "tokens": tokens,
              "chars": chars, "chars_per_second": chars / seconds if seconds > 0 else math.inf,
              "tokens_per_second": tokens / seconds if seconds > 0 else math.inf}
    return rows, timing


def sample_temperature(model: Generator, index: TrainingIndex, prompts: Sequence[str], temperature: float,
                       samples: int, length: Length, seed: int) -> TemperatureResult:
    """``samples`` samples per prompt at ``temperature``, measured against the training index."""
    rows, timing = _draw(model, prompts, temperature, samples, length, seed)
    texts = [row["text"] for row in rows]
    novelty = index.novelties(texts)
    for row, found in zip(rows, novelty, strict=True):
        row.update(found)
    copies = [n["longest_copy"] for n in novelty]
    return TemperatureResult(
        temperature=temperature, samples=rows,
        distinct_1=distinct_n(texts, 1), distinct_2=distinct_n(texts, 2), distinct_3=distinct_n(texts, 3),
        self_bleu=self_bleu(texts) if len(texts) > 1 else None, repetition_rate=repetition_rate(texts, NGRAM),
        ngram_overlap=_mean([n["ngram_overlap"] for n in novelty]),
        longest_copy=max(copies), longest_copy_mean=sum(copies) / len(copies),
        markovify_reject_rate=sum(n["markovify_reject"] for n in novelty) / len(novelty),
        nearest_similarity=sum(n["nearest_similarity"] for n in novelty) / len(novelty),
        timing=timing,
    )
