"""`compare` itself: check everything, measure each model (or reuse its measurements), assemble the report."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..api import load, resolve
from ..data.corpora import Corpus, load_corpus
from ..evaluation.metrics import MARKOVIFY_MAX_OVERLAP_RATIO, MARKOVIFY_MAX_OVERLAP_TOTAL, TrainingIndex
from ..evaluation.references import reference_lines
from ..generation.temperatures import DEFAULT_TEMPERATURES
from ..generator import Generator
from ..options import check_seed
from ..outpaths import check_report_out
from .curves import crossovers
from .intervals import BOOTSTRAP_METHOD, SEED_METHOD
from .measure import evaluate
from .memory import METHOD as MEMORY_METHOD
from .memory import memory_probe
from .report import CompareReport
from .results import FailedModel, ModelResult
from .reuse import previous_results
from .seeds import combine, runs_of
from .sweep import NGRAM
from .versions import versions

#: Sample length: characters, so word and character models write samples of the same length; the token
#: cap defaults to as many tokens as characters (a token is at least one character).
DEFAULT_MAX_CHARS = 200
DEFAULT_MAX_TOKENS = 200
Entry = str | Path | Generator
#: A model trained with several seeds: a list of its runs (or a folder of ``seed-N`` folders, see `seeds`).
Group = Entry | list[Entry] | tuple[Entry, ...]


def _labels(sources: Sequence[str]) -> list[str]:
    """Short unique names: a directory's name, or the source itself; parents added to break ties."""
    names = [Path(s).name if Path(s).is_dir() else s for s in sources]
    labels = [f"{Path(s).parent.name}/{name}" if names.count(name) > 1 and Path(s).is_dir() else name
              for s, name in zip(sources, names, strict=True)]
    return [f"{label}#{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def _whole(name: str, value: int | None, none: bool = False) -> None:
    if (value is None and none) or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return
    raise ValueError(f"{name} must be a whole number >= 1{' or None' if none else ''}, got {value!r}")


def _check(samples: int, temperatures: Sequence[float], length: dict[str, int | None], seed: int,
           max_score_chars: int | None) -> None:
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    if not temperatures or any(not (isinstance(t, int | float) and 0 <= t < math.inf) for t in temperatures):
        raise ValueError(f"temperatures must be one or more numbers >= 0, got {list(temperatures)!r}")
    _whole("max_tokens", length["max_tokens"])
    _whole("max_chars", length["max_chars"], none=True)
    check_seed(seed)
    _whole("max_score_chars", max_score_chars, none=True)


def _name(entry: Group) -> str:
    if isinstance(entry, list | tuple):  # a group of runs: named after the folder its runs share
        return Path(str(entry[0])).parent.name if entry else "?"
    return entry.name if isinstance(entry, Generator) else str(entry)


def _entries(models: Sequence[Group] | Mapping[str, Group], seeds: int) -> tuple[list[str], list[list[Entry]]]:
    """Labels and each model's runs (`seeds.runs_of`), every model source checked before any work starts."""
    if isinstance(models, Mapping):
        labels, entries = list(models), list(models.values())
    else:
        entries = list(models)
        labels = _labels([_name(m) for m in entries])
    if not entries:
        raise ValueError("give at least one model to compare")
    runs = [runs_of(entry, seeds) for entry in entries]
    for entry in (run for group in runs for run in group):
        if not isinstance(entry, Generator):
            resolve(str(entry))  # a source that would not load is named before any work starts
    return labels, runs


def _parameters(corpus: Corpus, prompts: list[str], samples: int, temperatures: list[float],
                length: dict[str, int | None], seed: int, max_score_chars: int | None, device: str,
                index_chars: int) -> dict[str, Any]:
    return {
        "corpus": corpus.describe(), "prompts": prompts, "samples": samples, "temperatures": temperatures,
        **length, "seed": seed, "prompt_seeds": [seed + i for i in range(len(prompts))],
        "max_score_chars": max_score_chars, "device": device,
        "metrics": {"words": "str.split", "ngram_overlap_n": NGRAM, "repetition_n": NGRAM, "self_bleu_max_n": 4,
                    "markovify_max_overlap_ratio": MARKOVIFY_MAX_OVERLAP_RATIO,
                    "markovify_max_overlap_total": MARKOVIFY_MAX_OVERLAP_TOTAL,
                    "nearest_passage": f"cosine, char_wb 3-gram TF-IDF, passages of <= {index_chars} chars",
                    "memory": MEMORY_METHOD},
    }


class _Run:
    """One compare run's shared state, so measuring one model is one short method."""

    def __init__(self, corpus: Corpus, index: TrainingIndex, parameters: dict[str, Any], device: str,
                 previous: dict[str, ModelResult], previous_path: str, progress: Callable[[str], None]) -> None:
        self.corpus, self.index, self.p, self.device = corpus, index, parameters, device
        self.length = {"max_tokens": parameters["max_tokens"], "max_chars": parameters["max_chars"]}
        self.previous, self.previous_path, self.progress = previous, previous_path, progress

    def measure_runs(self, label: str, runs: Sequence[Entry]) -> ModelResult:
        """Measure each run of a model (resident memory for the first only) and `combine` them into one result."""
        results = []
        for i, entry in enumerate(runs):
            if len(runs) > 1:
                self.progress(f"{label}: run {i + 1} of {len(runs)}, {entry}")
            results.append(self.measure(label, entry, memory=i == 0))
        return combine(label, results)

    def measure(self, label: str, entry: Entry, memory: bool = True) -> ModelResult:
        source = entry.name if isinstance(entry, Generator) else str(entry)
        old = None if isinstance(entry, Generator) else self.previous.get(source)
        if old is not None:
            self.progress(f"{label}: reusing its measurements from {self.previous_path} "
                          "(same model files, corpus, prompts, seed and settings)")
            old.label, old.reused_from = label, self.previous_path
            return old
        p = self.p
        model = entry if isinstance(entry, Generator) else load(entry, device=self.device)
        result = evaluate(model, label=label, source=source, corpus=self.corpus, index=self.index,
                          prompts=p["prompts"], temperatures=p["temperatures"], samples=p["samples"],
                          length=self.length, seed=p["seed"], max_score_chars=p["max_score_chars"],
                          progress=self.progress)
        del model
        gc.collect()
        if memory and not isinstance(entry, Generator):
            self.progress(f"{label}: measuring memory in a fresh process")
            result.memory = memory_probe(source, prompt=p["prompts"][0], samples=p["samples"],
                                         seed=p["seed"], device=self.device, **self.length)
        return result


def compare(models: Sequence[Group] | Mapping[str, Group], corpus: str | Path | Corpus,
            prompts: str | Sequence[str], *, samples: int = 5, temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
            max_tokens: int | None = None, max_chars: int | None = DEFAULT_MAX_CHARS, seed: int = 0,
            max_score_chars: int | None = None, device: str = "auto", out: str | Path | None = None,
            reuse_measurements: bool = True, seeds: int = 1,
            progress: Callable[[str], None] | None = None) -> CompareReport:
    """Evaluate ``models`` on ``corpus`` and ``prompts``; write the report to ``out`` if given.

    ``models`` are model directories, ``PLUGIN:SOURCE`` strings or loaded generators, or a
    mapping from label to any of those; every one is checked before any work starts. ``samples``
    samples per prompt of up to ``max_chars`` characters (None: no character cap) and ``max_tokens``
    tokens (default: as many as characters) are drawn at each temperature with ``seed``. The whole
    validation split is scored unless ``max_score_chars`` caps it (recorded and named in the report); a model's
    recorded ``val_bpc`` is reused when its corpus checksum, split and toolkit version match.
    A model that fails during the run gets an error row; the others are still measured and written.
    When ``out`` holds the report of an identical earlier run, unchanged models are not measured again
    (their samples would be the same) unless ``reuse_measurements`` is False, as a benchmark needs.

    ``seeds`` K: a model trained with several seeds (a folder of ``seed-N`` model folders, or a
    list of sources; see `seeds`) is measured K times, its K lowest seeds, and reported as one
    row: held-out bits/char as the mean with a 95% Student t interval over seeds, sample
    metrics with bootstrap intervals, crossovers claimed only when intervals separate
    (`curves`). Other models are one run each. A multi-seed model is always measured again.
    """
    started = time.perf_counter()
    progress = progress or (lambda _: None)
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not prompts:
        raise ValueError("give at least one prompt")
    temperatures = [float(t) for t in temperatures]
    length = {"max_tokens": (max_chars or DEFAULT_MAX_TOKENS) if max_tokens is None else max_tokens,
              "max_chars": max_chars}
    _check(samples, temperatures, length, seed, max_score_chars)
    _whole("seeds", seeds)
    labels, groups = _entries(models, seeds)
    if out is not None:
        check_report_out(out)
    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    index = TrainingIndex.build(corpus.train, n=NGRAM)  # lazy: never built when every model is reused
    parameters = _parameters(corpus, prompts, samples, temperatures, length, seed, max_score_chars, device,
                             index.passage_chars)
    parameters["seeds"] = seeds
    parameters["metrics"]["intervals"] = {"held_out": SEED_METHOD, "samples": BOOTSTRAP_METHOD}
    previous = previous_results(out, parameters) if out is not None and reuse_measurements else {}
    run = _Run(corpus, index, parameters, device, previous, str(out), progress)
    results, failed = _measure_all(run, labels, groups, progress)
    parameters["models"] = [_name(runs[0]) if len(runs) == 1 else [_name(r) for r in runs] for runs in groups]
    progress(f"reference lines on the same split of {corpus.name}")
    references = [asdict(r) for r in reference_lines(corpus)]
    report = CompareReport(parameters=parameters, versions=versions([r.plugin for r in results]), models=results,
                           failed=failed, references=references, crossovers=crossovers(results, references),
                           created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    report.elapsed_seconds = time.perf_counter() - started
    if out is not None:
        report.save(out)
    return report


def _measure_all(run: _Run, labels: list[str], groups: list[list[Entry]],
                 progress: Callable[[str], None]) -> tuple[list[ModelResult], list[FailedModel]]:
    """Each model in turn; one that fails gets an error row and the others are still measured."""
    results, failed = [], []
    for i, (label, runs) in enumerate(zip(labels, groups, strict=True), 1):
        progress(f"[{i}/{len(groups)}] {label}: loading")
        try:
            results.append(run.measure_runs(label, runs))
        except Exception as exc:  # one broken model must not throw away the others' work
            failed.append(FailedModel(label=label, source=_name(runs[0]), error=f"{type(exc).__name__}: {exc}"))
            progress(f"{label}: failed ({failed[-1].error}); the report gets an error row")
    return results, failed
