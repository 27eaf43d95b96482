"""Learning curves of the chosen models, with the reference lines of their corpus.

Each model's manifest records ``training["curve"]``: held-out bits per character against
training seconds and characters seen. A model without one (a Markov chain's build) is
one point, its ``val_bpc`` at its training time. The figure is the compare report's own
(`toolkit.comparison.plots.curves_figure`), and the dotted lines are
`toolkit.evaluation.references` (uniform, unigram, zlib, bz2, lzma) on the same split,
so a curve can be read against what any model must beat. Only manifests are read: no
model is loaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import toolkit
from dashboard.models import training_corpus
from toolkit.comparison.curves import Point, training_curve
from toolkit.errors import TextgenError
from toolkit.modeldir import MANIFEST, read_manifest


@dataclass(frozen=True)
class Trained:
    """A chosen model's training record, from its manifest."""

    label: str
    training: dict[str, Any]

    @property
    def corpus(self) -> dict[str, Any]:
        return self.training.get("corpus") or {}

    @property
    def corpus_name(self) -> str:
        return str(self.corpus.get("name") or "unknown corpus")

    def points(self) -> list[Point]:
        return training_curve(self.training, self.training.get("val_bpc"))


def trained(sources: dict[str, str]) -> tuple[list[Trained], list[str]]:
    """The chosen model directories with a held-out figure, and the labels of the others, with why."""
    found, left_out = [], []
    for source, label in sources.items():
        path = Path(source).expanduser()
        if not (path / MANIFEST).is_file():
            left_out.append(f"{label} (no model directory)")
            continue
        try:
            training = read_manifest(path).get("training") or {}
        except TextgenError as exc:
            left_out.append(f"{label} ({exc})")
            continue
        model = Trained(label, training)
        if training.get("val_bpc") is None and len(model.points()) < 2:
            left_out.append(f"{label} (no curve and no held-out bits per character recorded)")
        else:
            found.append(model)
    return found, left_out


@st.cache_data(show_spinner=False, max_entries=8)
def references(corpus: str, val_fraction: float) -> list[dict[str, Any]]:
    """The reference lines of a corpus's split (cached on disk too, by the corpus's checksum)."""
    from toolkit.evaluation.references import reference_lines

    return [asdict(line) for line in reference_lines(toolkit.load_corpus(corpus, val_fraction=val_fraction))]


def corpus_lines(model: Trained) -> list[dict[str, Any]]:
    """Reference lines for the model's corpus and split, or none (with the reason shown) if it cannot be read."""
    corpus = training_corpus(model.training)
    if corpus is None:
        st.caption("No reference lines: the models' manifests name no corpus.")
        return []
    fraction = float(model.corpus.get("val_fraction") or (model.corpus.get("split") or {}).get("val_fraction", 0.1))
    try:
        with st.spinner(f"Reference lines for {model.corpus_name}…"):
            return references(corpus, fraction)
    except (TextgenError, OSError, ValueError) as exc:
        st.caption(f"No reference lines: {exc}")
        return []


def curves_tab(sources: dict[str, str]) -> None:
    """The chosen models' learning curves on one figure, per corpus, with the reference lines."""
    models, left_out = trained(sources)
    if left_out:
        st.caption("Not drawn: " + "; ".join(left_out))
    if not models:
        st.info("None of the chosen models recorded a learning curve or a held-out figure.")
        return
    names = sorted({m.corpus_name for m in models})
    name = st.selectbox("Corpus", names, key="curves.corpus") if len(names) > 1 else names[0]
    shown = [m for m in models if m.corpus_name == name]
    lines = corpus_lines(shown[0])
    import matplotlib.pyplot as plt

    from toolkit.comparison.plots import curves_figure

    with st.container(key="curves"):
        figure = curves_figure([(m.label, m.points()) for m in shown], lines, name)
        st.pyplot(figure)
        plt.close(figure)
        rows = [{"model": m.label, "points": len(m.points()), "training seconds": m.points()[-1].seconds,
                 "last estimate, bits/char": m.points()[-1].bpc, "whole held-out split, bits/char":
                 m.training.get("val_bpc")} for m in shown]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        if lines:
            st.caption("Reference lines (dotted), bits/char on the same split: "
                       + ", ".join(f"{line['name']} {line['bpc']:.3f}" for line in lines))
