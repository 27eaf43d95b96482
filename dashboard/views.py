"""HTML for generated text (the prompt dimmed, the longest copied span marked), and the page's styles.

Text goes through `html.escape` and ``white-space: pre-wrap``, never Markdown, so
generated asterisks, underscores and blank lines show as they are.
"""

from __future__ import annotations

from html import escape

BOX = ("white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 0.85rem; "
       "line-height: 1.35; padding: 0.5rem; border: 1px solid rgba(128,128,128,0.35); border-radius: 0.4rem; "
       "margin-bottom: 0.4rem")
MARK = "background: #ffd54f; color: #000; border-radius: 0.15rem"
PROMPT = "opacity: 0.55"
#: Page styles: whole labels in the model picker (its tags wrap instead of being cut off),
#: one-line column titles, each column's state as a small badge, and the column box.
CSS = """<style>
.stMultiSelect [data-baseweb="tag"] { max-width: 100%; flex-shrink: 0; height: auto; }
.stMultiSelect [data-baseweb="tag"] span { max-width: none; overflow: visible; white-space: normal; }
.stMultiSelect [data-baseweb="select"] > div { flex-wrap: wrap; max-height: none; overflow: visible; }
.tg-title { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-weight: 600; }
.tg-state { font-size: 0.8rem; padding: 0.1rem 0.5rem; border-radius: 0.6rem; display: inline-block;
            background: rgba(128,128,128,0.15); }
.tg-state-streaming, .tg-state-loading, .tg-state-queued { background: #dbeafe; color: #1e3a8a; }
.tg-state-done { background: #dcfce7; color: #14532d; }
.tg-state-error, .tg-state-stopped { background: #fee2e2; color: #7f1d1d; }
.tg-stale { background: #fef3c7; color: #78350f; }
.tg-box { overflow-y: auto; display: flex; flex-direction: column; gap: 0.35rem; }
.tg-facts { font-size: 0.8rem; opacity: 0.7; }
.tg-error { background: #fee2e2; color: #7f1d1d; padding: 0.5rem; border-radius: 0.4rem; white-space: pre-wrap; }
.tg-bar { height: 0.3rem; background: rgba(128,128,128,0.2); border-radius: 0.2rem; }
.tg-bar > div { height: 100%; background: #3b82f6; border-radius: 0.2rem; }
</style>"""


#: How a newline inside a highlight is drawn: a highlighted line break alone is invisible.
NEWLINE = "⏎"


def marked(text: str, span: str = "") -> str:
    """``text`` escaped, with the first occurrence of ``span`` wrapped in a highlight."""
    at = text.find(span) if span else -1
    if at < 0:
        return escape(text)
    end = at + len(span)
    inside = escape(span).replace("\n", f"{NEWLINE}\n")
    return f'{escape(text[:at])}<mark style="{MARK}">{inside}</mark>{escape(text[end:])}'


def sample_html(prompt: str, text: str, span: str = "", cursor: bool = False, stale: bool = False) -> str:
    """One sample as a box: the dimmed prompt, then the generated text with ``span`` marked.

    ``cursor`` ends a sample still being written with ▌; ``stale`` dims a sample whose
    settings have changed since it was generated.
    """
    tail = "▌" if cursor else ""
    dim = "; opacity: 0.45" if stale else ""
    return (f'<div class="tg-sample" style="{BOX}{dim}"><span class="tg-prompt" style="{PROMPT}">{escape(prompt)}'
            f"</span>{marked(text, span)}{tail}</div>")


def token_label(piece: str) -> str:
    """A token as a chart label people can read: ⏎ for a newline, ␣ for a space, ⇥ for a tab."""
    return piece.replace("\n", NEWLINE).replace(" ", "␣").replace("\t", "⇥") or "∅"


def passage_html(passage: str, span: str = "") -> str:
    """The nearest training passage, with the copied span marked where it occurs."""
    return f'<div style="{BOX}; opacity: 0.85">{marked(passage, span)}</div>'
