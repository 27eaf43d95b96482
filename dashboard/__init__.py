"""The Streamlit dashboard: generators side by side on one prompt.

`app.py` is the Streamlit script (``textgen dashboard`` runs it): a page that draws the
sidebar (`sidebar`) and one tab per module, each exposing one function: `board` (side by
side), `lens_tab`, `compare_tab`, `surprisal`, `curves`. The helpers beside them hold the
logic the tabs draw, so it can be tested without a browser: `forms` (pydantic options as
widgets), `models` (finding, loading, quick-training), `columns` (one column's job),
`column_view` and `streaming` (a column on the page, and columns run into it), `workers`
(threads streaming into the script loop), `lens` (what each sampling option does to the
next-token distribution) and `views` (text with copied spans marked, the page's styles).
"""
