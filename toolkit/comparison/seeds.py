"""One model trained with several seeds: where its runs are, and their measurements as one result.

A trained model's figure moves with its seed (initial weights, batch order), so one run
cannot say whether a difference between two models is more than that spread. ``compare``
takes such a model as a group of runs:

* a folder holding ``seed-N`` subfolders, each a model trained with seed N (what
  ``textgen demo --seeds K`` and ``bench/compare.py --seeds K`` write: ``models/lstm-char/seed-0``,
  ``seed-1``, ...); ``seeds=K`` uses its K lowest seeds and refuses a folder with fewer;
* or, from Python, a list of model sources (the first K are used).

Any other source is one run. `combine` turns the runs' measurements into one `ModelResult`:
the mean held-out figure with its Student t interval over seeds, the seeds' mean sample
metrics with bootstrap intervals over samples, and each run in ``runs``.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..generator import Generator
from ..modeldir import is_model_dir
from .curves import bpc_interval
from .intervals import sample_intervals, seed_interval
from .results import ModelResult, TemperatureResult

SEED_FOLDER = re.compile(r"seed-(\d+)")
#: Sample metrics averaged over seeds (the longest copy is the longest of any seed's).
AVERAGED = ("distinct_1", "distinct_2", "distinct_3", "self_bleu", "repetition_rate", "ngram_overlap",
            "longest_copy_mean", "markovify_reject_rate", "nearest_similarity")


def seed_folder(seed: int) -> str:
    """The subfolder a run with ``seed`` is trained into: ``seed-3``."""
    return f"seed-{seed}"


def seed_runs(path: Path) -> list[Path]:
    """A folder's ``seed-N`` model subfolders, lowest seed first; none for a model folder or anything else."""
    if not path.is_dir() or is_model_dir(path):
        return []
    found = [(int(match.group(1)), child) for child in path.iterdir()
             if child.is_dir() and (match := SEED_FOLDER.fullmatch(child.name))]
    return [child for _, child in sorted(found)]


def runs_of(entry: Any, seeds: int) -> list[str | Path | Generator]:
    """The runs ``compare`` measures for one entry: its first ``seeds`` seeds' models, or the entry itself.

    Raises ValueError naming ``seeds`` when a group holds fewer runs than asked for.
    """
    if isinstance(entry, list | tuple):
        runs: list[Any] = list(entry)
        where = f"the group {[str(e) for e in runs]}"
    else:
        runs = [] if isinstance(entry, Generator) else seed_runs(Path(str(entry)).expanduser())
        where = f"{entry} (its seed-N folders)"
        if not runs:
            return [entry]
    if len(runs) < seeds:
        raise ValueError(f"seeds={seeds}, but {where} holds {len(runs)} run(s): train {seeds} seeds first")
    return runs[:seeds]


def _mean(values: Sequence[Any]) -> Any:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _pooled(runs: Sequence[TemperatureResult]) -> TemperatureResult:
    """The seeds' results at one temperature as one: their mean metrics, bootstrap intervals, every sample."""
    first = runs[0]
    averaged = {name: _mean([getattr(r, name) for r in runs]) for name in AVERAGED}
    samples = [{**row, "run": i} for i, r in enumerate(runs) for row in r.samples]
    return replace(first, **averaged, samples=samples, longest_copy=max(r.longest_copy for r in runs),
                   intervals=sample_intervals([r.samples for r in runs]))


def with_sample_intervals(result: TemperatureResult) -> TemperatureResult:
    return replace(result, intervals=sample_intervals([result.samples]))


def combine(label: str, results: Sequence[ModelResult]) -> ModelResult:
    """One result for a model's runs (see the module): a single run gets its intervals, several are pooled."""
    first = results[0]
    if len(results) == 1:
        temps = [with_sample_intervals(t) for t in first.temperatures]
        return replace(first, label=label, temperatures=temps, intervals={"bpc": bpc_interval(first)})
    runs = [{"seed": r.training.get("seed"), "source": r.source, "bpc": r.bpc, "bpc_source": r.bpc_source,
             "training": r.training} for r in results]
    interval = seed_interval([r.bpc for r in results])
    temps = [_pooled(list(at)) for at in zip(*(r.temperatures for r in results), strict=True)]
    return replace(first, label=label, bpc=interval["mean"], runs=runs, temperatures=temps,
                   intervals={"bpc": interval}, fingerprint=None)

