"""Compare models on the same corpus and prompts: quality, diversity, novelty, speed and size.

For each model, `compare` measures

* quality: bits per character of the corpus's whole validation split (``model.score``),
  exact for every family whatever its tokens, or the ``val_bpc`` its manifest recorded
  for the same corpus checksum, split and toolkit version (`reuse`);
* the learning curve the model recorded, against training seconds and characters seen,
  beside reference lines no family owns (`toolkit.evaluation.references`), with the crossovers
  in words (`curves`);
* diversity of the samples at each temperature: distinct-1/2/3, self-BLEU, repetition;
* novelty against the training split (`toolkit.evaluation.metrics.TrainingIndex`);
* speed: characters/s and tokens/s while sampling, time to first token, training time;
* size: parameters or chain states (``model.info()``), bytes on disk, resident memory.

One file per job: `results` (the records), `report` (the records with their Markdown and
files), `memory` (the fresh-process probe), `versions`, `sweep` (sampling at each
temperature), `measure` (one model), `run` (`compare` itself; its sources are checked first
by `toolkit.api.resolve`), `reuse`, `curves`, `markdown` and `plots`. The ``textgen compare``
command is `toolkit.cli.compare`.
"""

from __future__ import annotations

from .._compat import moved_names
from ..generation.temperatures import parse_temperatures
from .curves import budget_sentence, crossovers, curve
from .markdown import markdown, size_text, table
from .memory import memory_probe
from .report import CompareReport
from .results import (
    TABLE_TEMPERATURE,
    VOLATILE_KEYS,
    CompareResults,
    FailedModel,
    ModelResult,
    TemperatureResult,
    stable,
)
from .run import DEFAULT_TEMPERATURES, compare

__all__ = [
    "DEFAULT_TEMPERATURES", "TABLE_TEMPERATURE", "VOLATILE_KEYS", "CompareReport", "CompareResults", "FailedModel",
    "ModelResult", "TemperatureResult", "budget_sentence", "compare", "crossovers", "curve", "markdown",
    "memory_probe", "parse_temperatures", "size_text", "stable", "table",
]

#: ``textgen compare``'s own functions, which moved to the CLI.
__getattr__ = moved_names(__name__, {"main": "toolkit.cli.compare:main",
                                     "read_prompts": "toolkit.cli.compare:read_prompts"})
