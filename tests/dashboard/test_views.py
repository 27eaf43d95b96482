"""dashboard/views.py: text is escaped and the copied span marked."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")


from dashboard.views import marked, sample_html


def test_views_escape_text_and_mark_the_copied_span():
    assert marked("a <b> & c", "<b>") == 'a <mark style="background: #ffd54f; color: #000; border-radius: ' \
                                         '0.15rem">&lt;b&gt;</mark> &amp; c'
    assert marked("abc", "zz") == "abc"
    html = sample_html("<p>", "x*y_\n\nz")
    assert "&lt;p&gt;" in html and "x*y_\n\nz" in html and "pre-wrap" in html
    assert marked("end.\nNext", ".\n").endswith(".⏎\n</mark>Next")  # a marked newline shows
    assert "▌" in sample_html("", "ab", cursor=True) and "▌" not in sample_html("", "ab")
