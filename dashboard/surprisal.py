"""Where each model is surprised: one text, once per model, each character coloured by its bits.

The bits come from `Generator.surprisal`, which spreads the very code length `score`
adds up, so the bits per character under each column is the number `textgen score`
prints for the same text. All columns share one colour scale (the legend above them),
so a darker character is one a model found harder, whichever model it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
import streamlit as st

from dashboard.models import load_model
from dashboard.views import BOX
from toolkit.generator import Surprisal

#: Longest text the view colours (a span per character per model).
MAX_CHARS = 4000
PASTE = "Paste any text"
#: The text area's key, and the session-state key of the prompt it last followed (`follow_prompt`).
TEXT_KEY, FOLLOWED = "surprisal.text", "surprisal.followed"
#: The colour scale, from no surprise to the scale's top: (fraction, RGB).
STOPS = ((0.0, (255, 255, 255)), (0.2, (255, 237, 160)), (0.45, (254, 178, 76)), (0.7, (240, 59, 32)),
         (1.0, (128, 0, 38)))
#: Above this fraction of the scale the text is drawn white.
DARK = 0.6
NEWLINE = '<span style="opacity: 0.45">⏎</span>'


def colour(fraction: float) -> str:
    """The scale's colour at ``fraction`` (0 to 1, clipped), as CSS ``rgb(...)``."""
    at = min(max(fraction, 0.0), 1.0)
    xs = [x for x, _ in STOPS]
    channels = (round(float(np.interp(at, xs, [rgb[i] for _, rgb in STOPS]))) for i in range(3))
    return "rgb({}, {}, {})".format(*channels)


def scale_top(found: Sequence[Surprisal]) -> float:
    """The top of the shared scale: the 99th percentile of every column's bits, at least 1 bit.

    One unknown character costs about 20 bits; scaling to the maximum would wash every
    other character out, so those above the top are drawn in its colour (the legend says ≥).
    """
    bits = np.concatenate([np.asarray(s.bits) for s in found]) if found else np.zeros(1)
    return max(1.0, float(np.percentile(bits, 99)))


def text_html(found: Surprisal, top: float) -> str:
    """The text, each character on its colour; newlines shown as ⏎ and kept; bits in each tooltip."""
    parts = []
    for char, bits in zip(found.text, found.bits, strict=True):
        fraction = bits / top
        ink = "#fff" if fraction > DARK else "#000"
        shown = NEWLINE + "\n" if char == "\n" else escape(char)
        parts.append(f'<span style="background: {colour(fraction)}; color: {ink}" '
                     f'title="{escape(repr(char))}: {bits:.2f} bits">{shown}</span>')
    return f'<div style="{BOX}">{"".join(parts)}</div>'


def legend_html(top: float) -> str:
    """The shared scale as a gradient bar from 0 bits to ≥ ``top`` bits."""
    gradient = ", ".join(f"{colour(x)} {x * 100:.0f}%" for x, _ in STOPS)
    return ('<div style="display: flex; align-items: center; gap: 0.5rem; font-size: 0.8rem">'
            "<span>0 bits</span>"
            f'<span style="flex: 0 0 16rem; height: 0.9rem; border: 1px solid rgba(128,128,128,0.5); '
            f'background: linear-gradient(to right, {gradient})"></span>'
            f"<span>≥ {top:.1f} bits per character (one scale for every model; hover a character for its bits)</span>"
            "</div>")


def total_caption(found: Surprisal) -> str:
    """The column's total: bits per character as `textgen score` prints it, and the bits it adds up."""
    score = found.score
    return (f"{found.bpc:.4f} bits/char · {found.total_bits:,.1f} bits over {score.chars:,} characters "
            f"({score.tokens:,} tokens)")


@st.cache_data(show_spinner=False, max_entries=64)
def surprisal_of(source: str, text: str) -> Surprisal:
    """A model's surprisal on a text, computed once per model and text."""
    return load_model(source).surprisal(text)


def generated_texts(sources: dict[str, str]) -> dict[str, str]:
    """The prompt plus each sample of the last Generate run, by a label naming its model and sample."""
    texts = {}
    for source, result in st.session_state.get("results", {}).items():
        for i, sample in enumerate(getattr(result, "samples", None) or []):
            if sample:
                texts[f"{sources.get(source, source)} · sample {i + 1}"] = getattr(result, "prompt", "") + sample
    return texts


def follow_prompt(prompt: str) -> str:
    """Set the text area to ``prompt`` unless the user has edited it; the prompt it last followed.

    A keyed widget keeps its value when its ``value`` argument changes, so the area would keep
    the first prompt, and its difference from a newly edited prompt would pass for the user's own
    text (and load and score every model unasked). The area follows the prompt through the
    session state instead, for as long as it still holds the prompt it was last set to.
    """
    state = st.session_state
    if state.get(TEXT_KEY, state.get(FOLLOWED)) == state.get(FOLLOWED):
        state[TEXT_KEY] = state[FOLLOWED] = prompt
    return state[FOLLOWED]


def pick_text(sources: dict[str, str], prompt: str) -> tuple[str, bool]:
    """The text to look at (the prompt plus a generated sample, or any pasted text), and whether the user
    chose it: a sample of a run or an edited text, as opposed to the prompt the area follows."""
    generated = generated_texts(sources)
    # keyed by the run's samples, so a new run starts at its first sample, not at the last choice
    choice = st.selectbox("Text", [*generated, PASTE], key=f"surprisal.choice:{hash(tuple(generated.values()))}",
                          help="The prompt plus a sample from the last Generate run, or a text of your own.")
    if choice in generated:
        text = chosen = generated[choice]
        st.html(f'<div style="{BOX}; opacity: 0.8">{escape(text)}</div>')
    else:
        followed = follow_prompt(prompt)
        text = st.text_area("Text to look at", key=TEXT_KEY, height=110)
        chosen = text if text != followed else ""
    if len(text) > MAX_CHARS:
        st.caption(f"Showing the first {MAX_CHARS:,} of {len(text):,} characters.")
        text = text[:MAX_CHARS]
    return text, bool(chosen)


def surprisal_view(sources: dict[str, str], prompt: str) -> None:
    """The text once per chosen model, side by side, coloured on one scale, each with its total."""
    st.markdown("**Where each model is surprised**: each character's colour is its surprisal in bits under "
                "that model (a word or BPE token's bits spread evenly over its characters). The total under "
                "each column is the model's bits per character on this text, as `textgen score` gives it.")
    text, picked = pick_text(sources, prompt)
    chosen = st.multiselect("Models", list(sources), default=list(sources), format_func=sources.get,
                            key="surprisal.models")
    if not text or not chosen:
        st.info("Pick a text and at least one model.")
        return
    # Streamlit draws every tab on every rerun: scoring the opening prompt unasked would load every model
    # at page open. A sample, an edited text or this button asks for it (and it stays asked).
    asked = st.button("Score this text under each model", key="surprisal.go") or picked
    st.session_state["surprisal.asked"] = asked = asked or st.session_state.get("surprisal.asked", False)
    if not asked:
        st.caption("Generate, paste a text, or press the button: the models load and score it then.")
        return
    found: dict[str, Surprisal | str] = {}
    with st.spinner("Scoring…"):
        for source in chosen:
            try:
                found[source] = surprisal_of(source, text)
            except Exception as exc:  # a broken model is shown in its column, not raised
                found[source] = f"{type(exc).__name__}: {exc}"
    top = scale_top([s for s in found.values() if isinstance(s, Surprisal)])
    with st.container(key="surprisal"):
        st.html(legend_html(top))
        for i, (column, source) in enumerate(zip(st.columns(len(chosen)), chosen, strict=True)):
            with column, st.container(key=f"surprisal-{i}"):
                draw_column(sources[source], found[source], top)


def draw_column(label: str, found: Surprisal | str, top: float) -> None:
    st.markdown(f"**{label}**")
    if isinstance(found, str):
        st.error(found)
        return
    st.caption(total_caption(found))
    if found.score.unknown:
        shown = ", ".join(repr(u) for u in found.score.unknown[:5])
        st.caption(f"⚠ {len(found.score.unknown)} piece(s) outside the vocabulary, each charged its spelling: "
                   f"{shown}")
    st.html(text_html(found, top))

