"""Reusing the held-out figure a model recorded, instead of scoring the whole split again.

``training["val_bpc"]`` is the whole validation split scored by `Generator.score`, the same
code path `compare` would run, so when the model was trained on the same text (checksum),
with the same split and by the same toolkit version, scoring again would only repeat it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..api import corpus_key
from ..data.corpora import Corpus
from ..modeldir import fingerprint
from .results import ModelResult, TemperatureResult


def split_of(corpus: Corpus) -> dict[str, Any]:
    """The split a manifest records for this corpus (``training["corpus"]["split"]``, from `api.corpus_key`)."""
    return corpus_key(corpus)["split"]


def recorded_bpc(training: dict[str, Any], corpus: Corpus) -> tuple[float, int] | None:
    """(val_bpc, val_chars) the model recorded for ``corpus``'s whole validation split, or None.

    None unless the corpus checksum, split and toolkit version all match and the figure is there.
    """
    recorded = training.get("corpus")
    if not isinstance(recorded, dict) or not corpus.sha256:
        return None
    same = (recorded.get("sha256") == corpus.sha256 and recorded.get("split") == split_of(corpus)
            and training.get("toolkit_version") == __version__)
    bpc, chars = training.get("val_bpc"), training.get("val_chars")
    if not same or not isinstance(bpc, float) or chars != len(corpus.val):
        return None
    return bpc, chars


#: The run parameters a previous report's measurements must share to be reused.
SAME_RUN = ("corpus", "prompts", "samples", "temperatures", "max_tokens", "max_chars", "seed", "max_score_chars")


def previous_results(path: str | Path, parameters: dict[str, Any]) -> dict[str, ModelResult]:
    """Measurements of a previous report at ``path`` that this run would repeat, by model source.

    A model's result is reused when the run's parameters (`SAME_RUN`) and the toolkit version
    are the same and its files are those measured then (`fingerprint`): sampling is seeded,
    so measuring again would only give the same figures and new timings.
    """
    try:
        old = json.loads((Path(path) / "report.json").read_text(encoding="utf-8"))
        same = all(old["parameters"].get(k) == parameters[k] for k in SAME_RUN)
        same = same and old["versions"].get("textgen-toolkit") == __version__
        found = {}
        for m in old["models"] if same else []:
            if m.get("fingerprint") and m["fingerprint"] == fingerprint(m["source"]):
                temps = [TemperatureResult(**t) for t in m.pop("temperatures")]
                found[m["source"]] = ModelResult(**m, temperatures=temps)
        return found
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
