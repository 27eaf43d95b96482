"""textgen dashboard: generators side by side on one prompt (``textgen dashboard`` runs this).

The sidebar picks models (directories under the models folder, pretrained sources, a
model quick-trained from any installed plugin) and the shared settings. The tabs:

* Side by side: every column streams at once, then shows timing and compare metrics;
* Temperature lens: the lesson's temperature sweep, and one next-token distribution
  before and after each sampling option;
* Compare: held-out bits per character and the compare report's plots.

Containers carry stable keys (``col-0``, ``result-0``, ``sweep-0``, ...): Streamlit turns
them into ``st-key-...`` CSS classes, which the browser test waits on.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.columns import ColumnResult, generate
from dashboard.curves import curves_tab
from dashboard.forms import RunOptions, option_inputs
from dashboard.lens import SWEEP, next_token_table
from dashboard.models import find_models, load_model, quick_train, source_corpus
from dashboard.surprisal import surprisal_view
from dashboard.views import passage_html, sample_html
from dashboard.workers import DONE, Phase, run_concurrently
from toolkit import registry
from toolkit.dashboard import MODELS_ENV
from toolkit.data.corpora import NAMED
from toolkit.errors import TextgenError
from toolkit.generation.sampling import SamplingOptions
from toolkit.generator import UnknownTokensWarning
from toolkit.options import parse_options

DEFAULT_PROMPT = "ROMEO:\n"
#: How many of the models found are picked when the page first opens.
PRESELECT = 4
#: Facts a column header shows; the rest are in its tooltip and the run's JSON.
HEADLINE_FACTS = ("plugin", "level", "corpus", "val bpc", "parameters", "states")


# -- sidebar ------------------------------------------------------------------------


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
    labels = {str(f.path): f.label for f in find_models(folder)} if folder else {}
    for path in st.session_state.setdefault("trained", []):
        labels.setdefault(path, f"{Path(path).name} · new")
    if "picked" not in st.session_state:
        st.session_state.picked = list(labels)[:PRESELECT]
    newly = st.session_state.pop("select_next", None)
    if newly:
        st.session_state.picked = [*st.session_state.picked, newly]
    st.session_state.picked = [p for p in st.session_state.picked if p in labels]
    picked = sidebar.multiselect("Model directories", list(labels), format_func=labels.get, key="picked")
    if folder and not labels:
        sidebar.caption("No model directories found there yet: quick-train one below.")
    pretrained = sidebar.text_input(
        "Pretrained sources", key="pretrained", placeholder="gpt2:distilgpt2, /path/to/hf-model",
        help="Comma-separated PLUGIN:SOURCE names or model folders, loaded with toolkit.load.")
    chosen = {p: labels[p] for p in picked}
    for source in filter(None, (s.strip() for s in re.split(r"[,\n]", pretrained))):
        chosen.setdefault(source, source)
    sidebar.caption(f"Installed plugins: {', '.join(registry.plugins()) or 'none'}")
    return chosen


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


def validated(raw_run: dict[str, Any], raw_sampling: dict[str, Any]) -> tuple[RunOptions, SamplingOptions] | None:
    """Parsed settings, or None after showing what is wrong."""
    try:
        return parse_options(RunOptions, raw_run, "setting"), parse_options(SamplingOptions, raw_sampling,
                                                                               "sampling option")
    except ValueError as exc:
        st.error(str(exc))
        return None


# -- drawing results ----------------------------------------------------------------


def fmt(value: float | None, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def draw_result(result: ColumnResult) -> None:
    """A column's content: header facts, samples, timing, metrics, nearest passage."""
    if result.facts:
        shown = {k: v for k, v in result.facts.items() if k in HEADLINE_FACTS}
        st.caption(" · ".join(f"{k} {v}" for k, v in shown.items()),
                   help="  \n".join(f"{k}: {v}" for k, v in result.facts.items()))
    if result.error:
        st.error(result.error)
        return
    for notice in result.notices:
        st.caption(f"⚠ {notice}")
    if not result.done:
        st.progress(result.progress, text=f"{result.status}…")
    spans = [n.get("longest_copy_span", "") for n in result.novelty]
    for i, text in enumerate(result.samples):
        span = spans[i] if i < len(spans) else ""
        st.html(sample_html(result.prompt, text, span, cursor=result.status == "generating"))
    if result.first_token_seconds is not None:
        tps = result.tokens_per_second
        st.caption(f"first token {result.first_token_seconds:.2f}s · "
                   + (f"{tps:.0f} tokens/s · {result.tokens} tokens in {result.seconds:.2f}s" if tps else "…"))
    if result.metrics:
        st.markdown("\n".join(["| metric | value |", "|---|---|"]
                              + [f"| {k} | {fmt(v, '.3g')} |" for k, v in result.metrics.items()]))
    if result.novelty:
        draw_nearest(result.novelty[0])


def draw_nearest(first: dict[str, Any]) -> None:
    """The training passage nearest a column's first sample, its longest copied span marked."""
    with st.expander(f"Nearest training passage (similarity {first['nearest_similarity']:.2f})"):
        st.caption(f"longest copied span: {first['longest_copy']} chars (marked) · "
                   f"markovify would {'refuse' if first['markovify_reject'] else 'accept'} it")
        st.html(passage_html(first["nearest_passage"], first["longest_copy_span"]))


def stream_into(slots: dict[str, Any], results: dict[str, ColumnResult], corpus: str | None = None,
                final_key: str = "result") -> dict[str, ColumnResult]:
    """Run every column's job at once, redrawing each slot as its snapshots arrive."""
    latest = dict(results)
    phase = Phase(len(results))  # every column generates before any measures
    jobs = {key: (lambda r=result: generate(r, corpus, phase)) for key, result in results.items()}
    for batch in run_concurrently(jobs):
        changed = set()
        for key, item in batch:
            if item is DONE:
                if not latest[key].done:
                    latest[key].status = "done"
            elif isinstance(item, BaseException):
                latest[key].error = f"{type(item).__name__}: {item}"
                latest[key].status = "failed"
            else:
                latest[key] = item
            changed.add(key)
        for key in changed:
            with slots[key].container():
                draw_result(latest[key])
    for i, key in enumerate(results):
        with slots[key].container(key=f"{final_key}-{i}"):
            draw_result(latest[key])
    return latest


Settings = tuple[RunOptions, SamplingOptions]


def side_by_side(sources: dict[str, str], prompt: str, raw: tuple[dict[str, Any], dict[str, Any]],
                 shared: Settings | None, go: bool) -> None:
    stored: dict[str, ColumnResult] = st.session_state.get("results", {})
    plans: dict[str, ColumnResult] = {}
    slots: dict[str, Any] = {}
    for i, (column, (source, label)) in enumerate(zip(st.columns(len(sources)), sources.items(), strict=True)):
        with column, st.container(key=f"col-{i}"):
            st.markdown(f"**{label}**")
            with st.expander("Column settings"):
                own = st.checkbox("Own settings", key=f"own:{source}",
                                  help="Override the sidebar's settings for this column only.")
                if own:
                    own_raw = (option_inputs(RunOptions, key=f"own:{source}", defaults=raw[0]),
                               option_inputs(SamplingOptions, key=f"own:{source}", defaults=raw[1]))
            settings = validated(*own_raw) if own else shared
            slots[source] = st.empty()
            if settings:
                plans[source] = ColumnResult(source=source, prompt=prompt, run=settings[0], sampling=settings[1])
    if go and plans:
        runnable = {s: plans[s] for s in sources if s in plans}
        st.session_state.results = {**stored, **stream_into({s: slots[s] for s in runnable}, runnable)}
        st.session_state.run_prompt = prompt
    elif stored:
        for i, source in enumerate(sources):
            if source in stored:
                with slots[source].container(key=f"result-{i}"):
                    draw_result(stored[source])
    results = st.session_state.get("results", {})
    if any(s in results for s in sources):
        record = {"prompt": st.session_state.get("run_prompt", prompt),
                  "columns": [results[s].to_json() for s in sources if s in results]}
        st.download_button("Download this run (JSON)", json.dumps(record, indent=2, default=str),
                           file_name="textgen-run.json", mime="application/json", key="download-run")


# -- temperature lens ---------------------------------------------------------------


def temperature_lens(sources: dict[str, str], prompt: str, settings: Settings | None) -> None:
    source = st.selectbox("Model", list(sources), format_func=sources.get, key="lens.model")
    st.markdown(f"**The lesson's sweep**: T = {', '.join(map(str, SWEEP))}, same seed, other settings "
                "from the sidebar.")
    go = st.button("Run the sweep", key="lens.sweep", disabled=settings is None)
    slots = {}
    for i, (column, t) in enumerate(zip(st.columns(len(SWEEP)), SWEEP, strict=True)):
        with column, st.container(key=f"sweep-col-{i}"):
            st.markdown(f"**T = {t}**")
            slots[f"T={t}"] = st.empty()
    stored = st.session_state.get("sweep", {})
    if go and settings:
        run = settings[0].model_copy(update={"num_samples": 1})
        plans = {f"T={t}": ColumnResult(source=source, prompt=prompt, run=run,
                                        sampling=settings[1].model_copy(update={"temperature": t}))
                 for t in SWEEP}
        st.session_state.sweep = stored = {"source": source, "results": stream_into(slots, plans, final_key="sweep")}
    elif stored.get("source") == source:
        for i, (key, result) in enumerate(stored["results"].items()):
            with slots[key].container(key=f"sweep-{i}"):
                draw_result(result)
    next_token_chart(source, prompt)


def next_token_chart(source: str, prompt: str) -> None:
    st.subheader("Next-token distribution")
    try:
        with st.spinner("Loading the model…"):
            model = load_model(source)
    except Exception as exc:  # a broken model is shown, not raised
        st.error(f"{type(exc).__name__}: {exc}")
        return
    generated = st.session_state.get("results", {}).get(source)
    default = prompt + (generated.samples[0] if generated and generated.samples else "")
    text = st.text_area("Text to look inside", value=default, key=f"lens.text:{hash(default)}", height=90)
    ids = model.encode(text)
    if not ids:
        st.info("Type some text to see the distribution after it.")
        return
    start = min(len(ids), len(model.encode(prompt))) if prompt else 0
    pos = st.slider("Position (tokens of context)", 0, len(ids), value=start, key=f"lens.pos:{hash(default)}")
    before, after = model.decode(ids[:pos]), model.decode(ids[pos : pos + 1])
    st.html(sample_html(before[-300:], after, after, cursor=not after))
    columns = st.columns(4)
    raw = {"temperature": columns[0].slider("temperature", 0.0, 2.0, 0.8, 0.05, key="lens.t"),
           "top_k": columns[1].slider("top-k (0: off)", 0, 100, 0, key="lens.k"),
           "top_p": columns[2].slider("top-p", 0.05, 1.0, 1.0, 0.05, key="lens.p"),
           "min_p": columns[3].slider("min-p (0: off)", 0.0, 0.5, 0.0, 0.01, key="lens.minp")}
    try:
        labels, table = next_token_table(model, ids[:pos], parse_options(SamplingOptions, raw, "sampling option"))
    except Exception as exc:  # a plugin's failure is shown, not raised
        st.error(f"{type(exc).__name__}: {exc}")
        return
    data = pd.DataFrame([{"token": label, "stage": stage, "probability": float(p)}
                         for stage, probs in table.items() for label, p in zip(labels, probs, strict=True)])
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("token:N", sort=labels, title="next token (the model's likeliest first)"),
        xOffset=alt.XOffset("stage:N", sort=list(table)),
        y=alt.Y("probability:Q"), color=alt.Color("stage:N", sort=list(table)),
        tooltip=["token", "stage", alt.Tooltip("probability:Q", format=".3f")])
    st.altair_chart(chart, width="stretch")
    st.caption("Each stage adds one option in the order the sampler applies them: temperature reshapes, "
               "top-k and top-p cut the tail, min-p drops tokens far below the likeliest.")


# -- compare ------------------------------------------------------------------------


def compare_tab(sources: dict[str, str], prompt: str, settings: Settings | None) -> None:
    """`toolkit.compare` on the chosen models: held-out bpc table, plots, the report's JSON."""
    corpora = [c for c in map(source_corpus, sources) if c]
    left, middle, right = st.columns(3)
    corpus = left.text_input("Held-out corpus", value=corpora[0] if corpora else "tinyshakespeare",
                             key="cmp.corpus", help="Its validation split is scored; its training split "
                             "is the novelty reference.")
    score_chars = middle.number_input("Score at most N held-out characters (0: all)", value=0,
                                      min_value=0, step=10_000, key="cmp.chars")
    temperatures = right.text_input("Temperatures", value=", ".join(map(str, SWEEP)), key="cmp.temps")
    if st.button("Run compare", key="cmp.run", disabled=settings is None) and settings:
        run_compare(sources, corpus, prompt, temperatures, int(score_chars), settings[0])
    report = st.session_state.get("compare")
    if report is None:
        return
    st.markdown(report.markdown())
    plots = [path for name, path in report.files.items() if name not in ("json", "markdown")]
    for column, path in zip(st.columns(len(plots) or 1), plots, strict=False):
        column.image(path)
    st.download_button("Download the compare report (JSON)", json.dumps(report.to_json(), indent=2),
                       file_name="textgen-compare.json", mime="application/json", key="download-compare")


def run_compare(sources: dict[str, str], corpus: str, prompt: str, temperatures: str, score_chars: int,
                run: RunOptions) -> None:
    from toolkit.comparison import compare, parse_temperatures

    models = {}
    for source, label in sources.items():
        try:
            models[label] = load_model(source)
        except Exception as exc:  # left out of the report, with the reason
            st.error(f"{label} left out: {type(exc).__name__}: {exc}")
    with st.status("Comparing…", expanded=False) as status:
        try:
            report = compare(models, corpus, [prompt], samples=run.num_samples,
                             temperatures=parse_temperatures(temperatures), max_tokens=run.max_tokens,
                             seed=run.seed, max_score_chars=score_chars or None,
                             out=Path(session_folder()) / f"compare-{time.strftime('%Y%m%d-%H%M%S')}",
                             progress=lambda message: status.update(label=message))
        except (TextgenError, ValueError) as exc:
            status.update(label="Compare failed", state="error")
            st.error(str(exc))
            return
        status.update(label=f"Compared {len(models)} models in {report.elapsed_seconds:.1f}s", state="complete")
    st.session_state.compare = report


# -- page ---------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="textgen dashboard", layout="wide")
    warnings.filterwarnings("ignore", category=UnknownTokensWarning)  # each column shows its own notice
    folder = models_folder()
    sources = choose_models(folder)
    quick_train_form(folder)
    raw = shared_settings()
    st.title("textgen · side by side")
    prompt = st.text_area("Prompt", value=DEFAULT_PROMPT, key="prompt", height=80)
    go = st.button("Generate", type="primary", key="generate", disabled=not sources)
    shared = validated(*raw)
    if not sources:
        st.info("Pick models in the sidebar: model directories, pretrained sources, or quick-train one.")
        return
    side, lens, compare, surprised, curves = st.tabs(
        ["Side by side", "Temperature lens", "Compare", "Where each model is surprised", "Learning curves"])
    with side:
        side_by_side(sources, prompt, raw, shared, go)
    with lens:
        temperature_lens(sources, prompt, shared)
    with compare:
        compare_tab(sources, prompt, shared)
    with surprised:
        surprisal_view(sources, prompt)
    with curves:
        curves_tab(sources)


main()
