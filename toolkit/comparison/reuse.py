"""Reusing the held-out figure a model recorded, instead of scoring the whole split again.

``training["val_bpc"]`` is the whole validation split scored by `Generator.score`, the same
code path `compare` would run, so when the model was trained on the same text (checksum),
with the same split and by the same toolkit version, scoring again would only repeat it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..corpora import Corpus
from ..generator import MANIFEST
from .report import ModelResult, TemperatureResult


def split_of(corpus: Corpus) -> Any:
    """The split a manifest records (``training["corpus"]["split"]``) for this corpus."""
    described = corpus.describe()
    return described.get("split", {"val_fraction": corpus.val_fraction, "split_at": corpus.split_at})


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
SAME_RUN = ("corpus", "prompts", "samples", "temperatures", "max_tokens", "seed", "max_score_chars")


def manifest_sha256(source: str) -> str | None:
    """Checksum of a model directory's manifest (it changes with every save), else None."""
    try:
        return hashlib.sha256((Path(source) / MANIFEST).read_bytes()).hexdigest()
    except OSError:
        return None


def previous_results(path: str | Path, parameters: dict[str, Any]) -> dict[str, ModelResult]:
    """Measurements of a previous report at ``path`` that this run would repeat, by model source.

    A model's result is reused when the run's parameters (`SAME_RUN`) and the toolkit version
    are the same and its manifest is byte for byte the one measured then: sampling is seeded,
    so measuring again would only give the same figures and new timings.
    """
    try:
        old = json.loads((Path(path) / "report.json").read_text(encoding="utf-8"))
        same = all(old["parameters"].get(k) == parameters[k] for k in SAME_RUN)
        same = same and old["versions"].get("textgen-toolkit") == __version__
        found = {}
        for m in old["models"] if same else []:
            if m.get("manifest_sha256") and m["manifest_sha256"] == manifest_sha256(m["source"]):
                temps = [TemperatureResult(**t) for t in m.pop("temperatures")]
                found[m["source"]] = ModelResult(**m, temperatures=temps)
        return found
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
