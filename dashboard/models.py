"""Which models the dashboard can show, loading them once, and quick-training new ones."""

from __future__ import annotations

import gc
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

import toolkit
from toolkit import modeldir, registry
from toolkit.data.corpora import Corpus
from toolkit.errors import TextgenError
from toolkit.generator import Generator
from toolkit.modeldir import MANIFEST, read_manifest

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

    Each is checked as far as is possible without loading it (`toolkit.modeldir.inspect`),
    so a broken folder is named (with its reason) before the user runs it instead of after.
    """
    installed, found = registry.plugins(), []
    for path in modeldir.find(folder):
        relative = path.relative_to(folder)
        name = str(relative) if relative.parts else path.name
        plugin, error = modeldir.inspect(path, installed)
        found.append(Found(path, f"{name} · {plugin}" if plugin else f"{name} (unreadable)", plugin, error))
    return found


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
