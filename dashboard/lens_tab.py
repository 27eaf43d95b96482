"""The temperature lens tab: the lesson's temperature sweep, and one next-token distribution before and after
each sampling option (the logic is in `lens`)."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.column_view import draw_result
from dashboard.columns import ColumnResult
from dashboard.forms import Settings
from dashboard.lens import SWEEP, next_token_table
from dashboard.models import load_model
from dashboard.streaming import mark_interrupted, show_stop, stream_into
from dashboard.views import sample_html
from toolkit.generation.sampling import SamplingOptions
from toolkit.options import parse_options


def temperature_lens(sources: dict[str, str], prompt: str, settings: Settings | None, stop_slot: Any) -> None:
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
    mark_interrupted(stored.get("results", {}).values())
    if go and settings:
        show_stop(stop_slot)
        run = settings[0].model_copy(update={"num_samples": 1})
        plans = {f"T={t}": ColumnResult(source=source, prompt=prompt, run=run,
                                        sampling=settings[1].model_copy(update={"temperature": t}))
                 for t in SWEEP}
        st.session_state.sweep = stored = {"source": source, "results": {}}
        stream_into(slots, plans, stored["results"], final_key="sweep")
        stop_slot.empty()
    elif stored.get("source") == source:
        for i, (key, result) in enumerate(stored["results"].items()):
            with slots[key].container(key=f"sweep-{i}"):
                draw_result(result)
    next_token_chart(source, prompt, settings[1] if settings else SamplingOptions())


def next_token_chart(source: str, prompt: str, sampling: SamplingOptions) -> None:
    """One next-token distribution before and after each sampling option, starting from the sidebar's values.

    The model is loaded only once something asked for it (a run, or the button here):
    opening the page should not spend seconds loading a model for a tab not looked at.
    """
    st.subheader("Next-token distribution")
    opened = st.session_state.setdefault("lens_opened", set())
    if source not in opened and source not in st.session_state.get("results", {}) \
            and st.session_state.get("sweep", {}).get("source") != source:
        if not st.button("Look inside this model", key="lens.open"):
            return
        opened.add(source)
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
    try:
        options = parse_options(SamplingOptions, {**sampling.model_dump(), **lens_sliders(sampling)},
                                "sampling option")
        labels, table = next_token_table(model, ids[:pos], options)
    except Exception as exc:  # a plugin's failure is shown, not raised
        st.error(f"{type(exc).__name__}: {exc}")
        return
    data = pd.DataFrame([{"token": label, "stage": stage, "probability": float(p)}
                         for stage, probs in table.items() for label, p in zip(labels, probs, strict=True)])
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("token:N", sort=labels, title="next token (the model's likeliest first)",
                axis=alt.Axis(labelAngle=0, labelFontSize=13)),
        xOffset=alt.XOffset("stage:N", sort=list(table)),
        y=alt.Y("probability:Q"), color=alt.Color("stage:N", sort=list(table)),
        tooltip=["token", "stage", alt.Tooltip("probability:Q", format=".3f")])
    st.altair_chart(chart, width="stretch")
    st.caption("Each stage adds one option in the order the sampler applies them: temperature reshapes, "
               "top-k and top-p cut the tail, min-p drops tokens far below the likeliest. ⏎ is a newline, "
               "␣ a space.")


def lens_sliders(sampling: SamplingOptions) -> dict[str, float]:
    """The lens's four sliders, starting at the sidebar's values (their keys follow those values)."""
    start = {"temperature": min(2.0, sampling.temperature), "top_k": min(100, sampling.top_k),
             "top_p": max(0.05, sampling.top_p), "min_p": min(0.5, sampling.min_p)}
    columns = st.columns(4)
    return {"temperature": columns[0].slider("temperature", 0.0, 2.0, start["temperature"], 0.05,
                                             key=f"lens.t:{start['temperature']}"),
            "top_k": columns[1].slider("top-k (0: off)", 0, 100, start["top_k"], key=f"lens.k:{start['top_k']}"),
            "top_p": columns[2].slider("top-p", 0.05, 1.0, start["top_p"], 0.05, key=f"lens.p:{start['top_p']}"),
            "min_p": columns[3].slider("min-p (0: off)", 0.0, 0.5, start["min_p"], 0.01,
                                       key=f"lens.minp:{start['min_p']}")}
