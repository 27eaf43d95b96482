"""The sidebar: which models the page shows, quick-training a new one, and the settings every column shares.

The models come from directories under the models folder, pretrained sources, and models
quick-trained from any installed plugin; folders that cannot be loaded are named with why.
`sidebar` draws it all and returns the chosen sources and the raw shared settings.
"""

from __future__ import annotations

import os
import re
import tempfile
from html import escape
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.forms import RunOptions, option_inputs
from dashboard.models import find_models, preselect, quick_train
from toolkit import registry
from toolkit.cli.dashboard import MODELS_ENV
from toolkit.data.corpora import NAMED
from toolkit.errors import TextgenError
from toolkit.generation.sampling import SamplingOptions
from toolkit.modeldir import without_manifest
from toolkit.options import parse_options


def sidebar() -> tuple[dict[str, str], tuple[dict[str, Any], dict[str, Any]]]:
    """The chosen sources (each with its label) and the raw shared settings, as drawn in the sidebar."""
    folder = models_folder()
    sources = choose_models(folder)
    quick_train_form(folder)
    return sources, shared_settings()


def models_folder() -> Path | None:
    text = st.sidebar.text_input("Models folder", value=os.environ.get(MODELS_ENV, ""), key="models_folder",
                                 help="Searched for model directories (folders holding textgen.json).")
    if not text.strip():
        return None
    folder = Path(text.strip()).expanduser()
    if not folder.is_dir():
        st.sidebar.error(f"models folder {str(folder)!r} is not a folder")
    return folder


def choose_models(folder: Path | None) -> dict[str, str]:
    """The chosen sources (directories or PLUGIN:SOURCE), each with a short label."""
    sidebar = st.sidebar
    found = find_models(folder) if folder else []
    failed: dict[str, str] = st.session_state.setdefault("load_failures", {})
    labels = {str(f.path): f.label for f in found}
    for path in st.session_state.setdefault("trained", []):
        labels.setdefault(path, f"{Path(path).name} · new")
    if "picked" not in st.session_state:
        st.session_state.picked = preselect(found)
    newly = st.session_state.pop("select_next", None)
    if newly:
        st.session_state.picked = [*st.session_state.picked, newly]
    st.session_state.picked = [p for p in st.session_state.picked if p in labels]
    picked = sidebar.multiselect("Model directories", list(labels), format_func=labels.get, key="picked")
    unloadable = {str(f.path): (f.label, f.error) for f in found if f.error}
    unloadable.update({s: (labels.get(s, s), why) for s, why in failed.items() if s in labels})
    folder_notes(folder, bool(labels), unloadable)
    pretrained = sidebar.text_input(
        "Pretrained sources", key="pretrained", placeholder="gpt2:distilgpt2, /path/to/hf-model",
        help="Comma-separated PLUGIN:SOURCE names or model folders, loaded with toolkit.load.")
    chosen = {p: labels[p] for p in picked}
    for source in filter(None, (s.strip() for s in re.split(r"[,\n]", pretrained))):
        chosen.setdefault(source, source)
    sidebar.caption(f"Installed plugins: {', '.join(registry.plugins()) or 'none'}")
    return chosen


def folder_notes(folder: Path | None, any_found: bool, unloadable: dict[str, tuple[str, str | None]]) -> None:
    """What the models folder holds besides loadable models: unloadable ones with why, folders without a manifest."""
    if not folder:
        return
    sidebar = st.sidebar
    if not any_found:
        sidebar.caption("No model directories found there yet: quick-train one below.")
    if unloadable:
        with sidebar.container(key="unloadable"):
            st.warning(f"{len(unloadable)} model folder(s) cannot be loaded (not preselected):\n\n"
                       + "\n".join(f"- **{escape(label)}**: {escape(why or '')}" for label, why in unloadable.values()))
    empty = without_manifest(folder)
    if empty:
        shown = ", ".join(empty[:6]) + (", …" if len(empty) > 6 else "")
        sidebar.caption(f"{len(empty)} folder(s) skipped, no textgen.json in them: {shown}. A model directory "
                        "holds the textgen.json manifest that `textgen train` writes.",
                        help="Train into a new folder with textgen train ... --out, or quick-train below.")


def quick_train_form(folder: Path | None) -> None:
    """Train a small model from any installed plugin; its typed options become inputs."""
    with st.sidebar.expander("Quick-train a model"):
        message = st.session_state.pop("trained_message", None)
        if message:
            st.success(message)
        names = list(registry.plugins())
        if not names:
            st.info("No plugins installed.")
            return
        plugin = st.selectbox("Plugin", names, key="qt.plugin")
        try:
            options_model = registry.get(plugin).Options
        except TextgenError as exc:
            st.error(str(exc))
            return
        corpus = st.text_input("Corpus", value="tinyshakespeare", key="qt.corpus",
                               help=f"A named corpus ({', '.join(NAMED)}), a text file or a folder.")
        chars = st.number_input("Train on the first N characters (0: all)", value=200_000, min_value=0,
                                step=50_000, key="qt.chars")
        seed = st.number_input("Seed", value=0, min_value=0, step=1, key="qt.seed")
        raw = option_inputs(options_model, key=f"qt.{plugin}")
        if not st.button("Train", key="qt.train"):
            return
        out = folder if folder and folder.is_dir() else session_folder()
        try:
            options = parse_options(options_model, raw, f"{plugin} option")
            with st.spinner(f"Training {plugin} on {corpus}…"):
                path, model = quick_train(plugin, corpus, int(chars), int(seed), options.model_dump(), out)
        except (TextgenError, ValueError) as exc:
            st.error(str(exc))
            return
    st.session_state.trained.append(str(path))
    st.session_state.select_next = str(path)
    st.session_state.trained_message = (f"Trained {plugin} in {model.training['train_seconds']:.1f}s: "
                                        f"held-out {model.training['val_bpc']:.3f} bits per character.")
    st.rerun()


def session_folder() -> Path:
    """Where quick-trained models go when no models folder is set: one temp folder per session."""
    if "tmp_models" not in st.session_state:
        st.session_state.tmp_models = tempfile.mkdtemp(prefix="textgen-dashboard-")
    return Path(st.session_state.tmp_models)


def shared_settings() -> tuple[dict[str, Any], dict[str, Any]]:
    st.sidebar.header("Settings for every column")
    return (option_inputs(RunOptions, key="shared", where=st.sidebar),
            option_inputs(SamplingOptions, key="shared", where=st.sidebar))
