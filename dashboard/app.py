"""textgen dashboard: generators side by side on one prompt (``textgen dashboard`` runs this).

The page: the sidebar (`sidebar`) picks the models and holds the shared settings; the
prompt, Generate and Stop sit above the tabs, one module each:

* Side by side (`board`): a sortable summary, one column per model, generating in turns;
* Temperature lens (`lens_tab`): the lesson's temperature sweep, and one next-token
  distribution before and after each sampling option;
* Compare (`compare_tab`): held-out bits per character and the compare report's plots;
* Where each model is surprised (`surprisal`) and Learning curves (`curves`).

One Stop button, shown while anything runs, ends every column and Compare: pressing it
reruns the page, which closes the running loops (`workers`), and what the columns had
written so far stays on screen marked "stopped".

Containers carry stable keys (``col-0``, ``result-0``, ``summary``, ``stale``, ...):
Streamlit turns them into ``st-key-...`` CSS classes, which the browser test waits on.
"""

from __future__ import annotations

import warnings

import streamlit as st

from dashboard.board import controls, side_by_side
from dashboard.compare_tab import compare_tab
from dashboard.curves import curves_tab
from dashboard.forms import parsed
from dashboard.lens_tab import temperature_lens
from dashboard.sidebar import sidebar
from dashboard.surprisal import surprisal_view
from dashboard.views import CSS
from toolkit.generator import UnknownTokensWarning

DEFAULT_PROMPT = "ROMEO:\n"


def main() -> None:
    st.set_page_config(page_title="textgen dashboard", layout="wide")
    st.html(CSS)
    warnings.filterwarnings("ignore", category=UnknownTokensWarning)  # each column shows its own notice
    sources, raw = sidebar()
    st.title("textgen · side by side")
    prompt = st.text_area("Prompt", value=DEFAULT_PROMPT, key="prompt", height=80)
    shared, problem = parsed(*raw)
    top = st.container()
    if not sources:
        with top:
            controls(problem, runnable=False)
        st.info("Pick models in the sidebar: model directories, pretrained sources, or quick-train one.")
        return
    side, lens, compare, surprised, curves = st.tabs(
        ["Side by side", "Temperature lens", "Compare", "Where each model is surprised", "Learning curves"])
    with side:
        stop_slot = side_by_side(sources, prompt, raw, shared, problem, top)
    with lens:
        temperature_lens(sources, prompt, shared, stop_slot)
    with compare:
        compare_tab(sources, prompt, shared, stop_slot)
    with surprised:
        surprisal_view(sources, prompt)
    with curves:
        curves_tab(sources)


main()
