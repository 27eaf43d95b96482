"""Measuring one loaded model: its held-out figure, the sampling sweep, speed and size."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import registry
from ..data.corpora import Corpus
from ..evaluation.metrics import TrainingIndex
from ..generator import Generator
from ..modeldir import fingerprint
from .memory import UNKNOWN
from .results import ModelResult, TemperatureResult
from .reuse import recorded_bpc
from .sweep import Length, sample_temperature


def disk_bytes(path: Path) -> int | None:
    """Total size of the files under a model directory, or None for a source that is not one."""
    if not path.is_dir():
        return None
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def held_out(model: Generator, label: str, corpus: Corpus, max_score_chars: int | None,
             progress: Callable[[str], None]) -> tuple[float, int, int | None, list[str], str]:
    """(bpc, chars, tokens, unknown pieces, source): the recorded whole-split figure, or a score now."""
    recorded = recorded_bpc(model.training, corpus) if max_score_chars is None else None
    if recorded is not None:
        progress(f"{label}: reusing the recorded val_bpc {recorded[0]:.4f} (same corpus checksum, split and "
                 "toolkit version)")
        return recorded[0], recorded[1], None, [], "recorded"
    text = corpus.val if max_score_chars is None else corpus.val[:max_score_chars]
    progress(f"{label}: scoring {len(text):,} held-out characters")
    score = model.score(text)
    return score.bpc, score.chars, score.tokens, score.unknown[:50], "scored"


def _speed(runs: Sequence[TemperatureResult], train_seconds: float | None) -> dict[str, float | None]:
    seconds = sum(r.timing["seconds"] for r in runs)
    return {"chars_per_second": sum(r.timing["chars"] for r in runs) / seconds if seconds else None,
            "tokens_per_second": sum(r.timing["tokens"] for r in runs) / seconds if seconds else None,
            "first_token_seconds": statistics.median(r.timing["first_token_seconds"] for r in runs),
            "sample_seconds": seconds, "train_seconds": train_seconds}


def evaluate(model: Generator, *, label: str, source: str, corpus: Corpus, index: TrainingIndex,
             prompts: Sequence[str], temperatures: Sequence[float], samples: int, length: Length, seed: int,
             max_score_chars: int | None, progress: Callable[[str], None] = lambda _: None) -> ModelResult:
    """Measure one loaded model; `compare` calls it for each model."""
    bpc, chars, tokens, unknown, how = held_out(model, label, corpus, max_score_chars, progress)
    model.complete(prompts[0], max_tokens=2, seed=seed)  # warm-up, so lazy set-up is not timed
    runs = []
    for temperature in temperatures:
        progress(f"{label}: sampling {samples} x {len(prompts)} at temperature {temperature}")
        runs.append(sample_temperature(model, index, prompts, temperature, samples, length, seed))
    distribution, version = registry.plugin_version(model.name, type(model))
    return ModelResult(
        label=label, source=source, plugin=model.name, distribution=distribution, plugin_version=version,
        info=model.info(), disk_bytes=disk_bytes(Path(source)), training=dict(model.training),
        bpc=bpc, scored_chars=chars, scored_tokens=tokens, unknown=unknown, temperatures=runs,
        speed=_speed(runs, model.training.get("train_seconds")), memory=dict(UNKNOWN), bpc_source=how,
        fingerprint=fingerprint(source),
    )
