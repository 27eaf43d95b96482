"""The Streamlit dashboard: generators side by side on one prompt.

`app.py` is the Streamlit script (``textgen dashboard`` runs it). The helpers beside it
hold the logic the script draws, so it can be tested without a browser:
`forms` (pydantic options as widgets), `models` (finding, loading, quick-training),
`workers` (threads streaming into the script loop), `lens` (what each sampling
option does to the next-token distribution) and `views` (text with copied spans marked).
"""
