"""dashboard/lens.py: the next-token lens's stages and labels."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("streamlit")



import toolkit
from dashboard.lens import next_token_table, stages
from dashboard.views import token_label
from toolkit.generation.sampling import SamplingOptions


def test_lens_stages_switch_options_on_one_at_a_time(models):
    model = toolkit.load(models / "sharp")
    options = SamplingOptions(temperature=1.5, top_k=2, top_p=0.6)
    assert list(stages(options)) == ["model", "+ temperature 1.5", "+ top-k 2", "+ top-p 0.6"]
    labels, table = next_token_table(model, model.encode("First Citizen:\nBefore we p"), options, top=10)
    assert len(labels) == 10 and len(set(labels)) == 10
    raw, hot, top2 = table["model"], table["+ temperature 1.5"], table["+ top-k 2"]
    assert np.all(np.diff(raw) <= 0) and raw[0] > 0.5  # sorted; "r" of "proceed" dominates
    assert hot[0] < raw[0]  # T > 1 flattens
    assert np.count_nonzero(top2) == 2 and top2.sum() == pytest.approx(1.0)
    assert np.count_nonzero(table["+ top-p 0.6"]) == 1


def test_lens_labels_show_newlines_and_spaces():
    assert [token_label(t) for t in ("\n", " ", "a", "\t", "", "to be")] == ["⏎", "␣", "a", "⇥", "∅", "to␣be"]
