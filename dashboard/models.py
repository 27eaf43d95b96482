"""Which models the dashboard can show, loading them once, and quick-training new ones."""

from __future__ import annotations

import gc
import hashlib
import json
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

import toolkit
from toolkit import registry
from toolkit.api import read_manifest
from toolkit.data.corpora import Corpus
from toolkit.errors import TextgenError
from toolkit.generator import MANIFEST, Generator

#: How many of the models found are picked when the page first opens.
PRESELECT = 4


@dataclass(frozen=True)
class Found:
    """A model directory under the models folder, described from its manifest alone."""

    path: Path
    label: str
    plugin: str | None
    error: str | None = None  #: why it cannot be loaded, found before anything runs

    @property
    def loadable(self) -> bool:
        return self.error is None


def find_models(folder: Path) -> list[Found]:
    """Model directories at or under ``folder`` (skipping hidden and half-written ones).

    Each is checked as far as is possible without loading it: a readable manifest, an
    installed plugin, and whole safetensors files, so a broken folder is named (with its
    reason) before the user runs it instead of after.
    """
    if not folder.is_dir():
        return []
    installed = registry.plugins()
    found = []
    for manifest in sorted(folder.rglob(MANIFEST)):
        path = manifest.parent
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        name = str(relative) if relative.parts else path.name
        try:
            plugin = read_manifest(path)["plugin"]
        except TextgenError as exc:
            found.append(Found(path, f"{name} (unreadable)", None, str(exc)))
            continue
        error = None if plugin in installed else f"plugin {plugin!r} is not installed"
        found.append(Found(path, f"{name} · {plugin}", plugin, error or broken_tensors(path)))
    return found


def broken_tensors(path: Path) -> str | None:
    """Why a safetensors file in ``path`` is unreadable (bad header, truncated), or None.

    Reads 8 bytes and the JSON header of each file: every built-in family stores its
    weights or chain this way, and a truncated or overwritten file is the common breakage.
    """
    for file in sorted(path.glob("*.safetensors")):
        size = file.stat().st_size
        needed = _tensor_bytes(file, size)
        if needed is None:
            return f"{file.name} is not a safetensors file (unreadable header)"
        if needed > size:
            return f"{file.name} is truncated ({size:,} bytes; its header describes {needed:,})"
    return None


def _tensor_bytes(file: Path, size: int) -> int | None:
    """The file length a safetensors header describes, or None if the header is unreadable."""
    try:
        with file.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length)) if length <= size else None
    except (OSError, struct.error, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    offsets = [v.get("data_offsets") for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    if not all(isinstance(o, list) and len(o) == 2 and isinstance(o[1], int) for o in offsets):
        return None
    return 8 + length + max((o[1] for o in offsets), default=0)


def without_manifest(folder: Path) -> list[str]:
    """Folders directly in ``folder`` with no model manifest at or under them (not shown as models)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and next(p.rglob(MANIFEST), None) is None)


def preselect(found: list[Found], limit: int = PRESELECT) -> list[str]:
    """Loadable models to show first: one of each family (in name order), then the rest, up to ``limit``."""
    loadable = [f for f in found if f.loadable]
    first: dict[str | None, Found] = {}
    for f in loadable:
        first.setdefault(f.plugin, f)
    ordered = [*first.values(), *(f for f in loadable if f not in first.values())]
    return [str(f.path) for f in ordered[:limit]]


@st.cache_resource(show_spinner=False, max_entries=16)
def load_model(source: str) -> Generator:
    """A model by path or ``PLUGIN:SOURCE``, loaded once per dashboard process.

    What loading brought in (the model, torch, transformers) lives as long as the process,
    so it is moved out of the garbage collector's sight (`gc.freeze`): a full collection
    then looks at the page's own garbage only, instead of stopping whichever column is
    generating for a good part of a second.
    """
    model = toolkit.load(source)
    gc.collect()
    gc.freeze()
    return model


def training_corpus(training: dict[str, Any]) -> str | None:
    """What a model was trained on (its ``training`` record), as `toolkit.load_corpus` takes it."""
    corpus = training.get("corpus") or {}
    source, name = corpus.get("source"), corpus.get("name")
    if source and Path(source).exists():
        return str(source)
    return name or None


def source_corpus(source: str) -> str | None:
    """The training corpus of a model directory, from its manifest: no need to load the model."""
    path = Path(source).expanduser()
    if not (path / MANIFEST).is_file():
        return None
    try:
        return training_corpus(read_manifest(path).get("training") or {})
    except TextgenError:
        return None


@st.cache_resource(show_spinner=False, max_entries=4)
def training_index(corpus: str) -> Any:
    """The novelty index of a corpus's training split, built once."""
    from toolkit.evaluation.metrics import TrainingIndex

    return TrainingIndex.build(toolkit.load_corpus(corpus).train)


def model_facts(model: Generator) -> dict[str, Any]:
    """The few facts a column header shows: family, corpus, held-out bpc, size."""
    facts: dict[str, Any] = {"plugin": model.name}
    training = model.training
    if training.get("corpus"):
        facts["corpus"] = training["corpus"].get("name")
    if training.get("val_bpc") is not None:
        facts["val bpc"] = round(float(training["val_bpc"]), 3)
    facts.update(model.info())
    return facts


def head(corpus: Corpus, chars: int) -> Corpus:
    """The first ``chars`` characters of a corpus (0: all), for training in seconds."""
    if not chars or chars >= len(corpus.text):
        return corpus
    text = corpus.text[:chars]
    return Corpus(name=f"{corpus.name}[:{chars}]", text=text, val_fraction=corpus.val_fraction,
                  source=corpus.source, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def quick_train(plugin: str, corpus: str, chars: int, seed: int, options: dict[str, Any],
                folder: Path) -> tuple[Path, Generator]:
    """Train ``plugin`` on the head of a corpus; save it as a new directory in ``folder``."""
    data = head(toolkit.load_corpus(corpus), chars)
    out = folder / f"{plugin}-{data.name.split('[')[0]}-{time.strftime('%Y%m%d-%H%M%S')}"
    return out, toolkit.train(plugin, data, out=out, seed=seed, **options)
