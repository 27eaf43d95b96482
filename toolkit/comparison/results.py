"""The records of a comparison: what `compare` measured, serialisable to JSON and repeatable.

The renderers (`markdown`, `plots`) read these; `report.CompareReport` adds them on top.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: The temperature the summary table reports diversity and novelty at (when it was run).
TABLE_TEMPERATURE = 0.8
#: Report keys whose values change from run to run (timings, memory, dates); the rest is repeatable.
VOLATILE_KEYS = frozenset({"timing", "speed", "memory", "created", "elapsed_seconds"})


@dataclass
class TemperatureResult:
    """Samples at one temperature and what they measure."""

    temperature: float
    samples: list[dict[str, Any]]
    distinct_1: float
    distinct_2: float
    distinct_3: float
    self_bleu: float | None
    repetition_rate: float
    ngram_overlap: float | None
    longest_copy: int
    longest_copy_mean: float
    markovify_reject_rate: float
    nearest_similarity: float
    timing: dict[str, float]
    #: bootstrap 95% intervals of the sample metrics, by field name (`intervals.sample_intervals`)
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ModelResult:
    """Everything measured for one model.

    ``bpc_source`` says where ``bpc`` comes from: ``"scored"`` now, ``"unavailable"`` (NaN: the model cannot
    score, a served one without log-probabilities), or ``"recorded"`` in the
    manifest for the same corpus checksum, split and toolkit version (then ``scored_tokens``
    is None: training did not record it). ``fingerprint`` lets a later run reuse these
    measurements (`reuse.previous_results`); ``reused_from`` names the report they came from.

    A model trained with several seeds is one result: ``runs`` holds each seed's model (its
    source, seed, held-out figure and training record), ``bpc`` is their mean, the sample
    metrics are the seeds' means, and ``intervals["bpc"]`` is the interval over seeds
    (`intervals.seed_interval`); the other fields are the first seed's model's.
    """

    label: str
    source: str
    plugin: str
    distribution: str
    plugin_version: str
    info: dict[str, Any]
    disk_bytes: int | None
    training: dict[str, Any]
    bpc: float
    scored_chars: int
    scored_tokens: int | None
    unknown: list[str]
    temperatures: list[TemperatureResult]
    speed: dict[str, float | None]
    memory: dict[str, int | None]
    bpc_source: str = "scored"
    fingerprint: str | None = None
    reused_from: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def seeds(self) -> int:
        """How many training seeds this result stands for (1 for a single model)."""
        return max(1, len(self.runs))

    def trainings(self) -> list[dict[str, Any]]:
        """Each seed's training record (one for a single model)."""
        return [run["training"] for run in self.runs] if self.runs else [self.training]

    def at(self, temperature: float) -> TemperatureResult | None:
        return next((r for r in self.temperatures if r.temperature == temperature), None)


@dataclass
class FailedModel:
    """A model that failed during the run: its error row, so the others' work is still reported."""

    label: str
    source: str
    error: str


@dataclass
class CompareResults:
    """A comparison run: parameters, versions, one `ModelResult` per model, references and crossovers."""

    parameters: dict[str, Any]
    versions: dict[str, str]
    models: list[ModelResult]
    failed: list[FailedModel] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    crossovers: list[dict[str, Any]] = field(default_factory=list)
    created: str = ""
    elapsed_seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)

    @property
    def table_temperature(self) -> float:
        temps = self.parameters["temperatures"]
        return TABLE_TEMPERATURE if TABLE_TEMPERATURE in temps else temps[len(temps) // 2]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("files")
        return _finite(data)


def stable(data: Any) -> Any:
    """A report's JSON without the `VOLATILE_KEYS`: equal for two runs with the same seed."""
    if isinstance(data, dict):
        return {k: stable(v) for k, v in data.items() if k not in VOLATILE_KEYS}
    if isinstance(data, list):
        return [stable(v) for v in data]
    return data


def _finite(data: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data
