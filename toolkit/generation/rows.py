"""One sample of a batch as the run loop and the stopping criteria see it.

Its own module so that `run` (which steps rows) and `stopping` (which judges them) both
stand on it, instead of importing each other.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .decoding import IncrementalDecoder, Mark


class RowMark(NamedTuple):
    """Where a row was: its history length, and its decoder's mark when text is watched."""

    tokens: int
    text: Mark | None


class Row:
    """One sample of a batch: its history (prompt, then generated tokens), text and progress."""

    def __init__(self, index: int, prompt: list[int], decoder: Any | None, streaming: bool) -> None:
        self.index = index
        self.history = list(prompt)  # grows in place: the processors and the model read it
        self.start = len(prompt)
        self.steps = 0
        self.done = False
        self.final = False  # done, and its text flushed: streaming may show all of it
        self.cut: int | None = None
        self.decoder: IncrementalDecoder | None = None
        if decoder is not None:
            self.decoder = IncrementalDecoder(decoder, self.history, self.start, keep=0)
        self.pending = "" if streaming else None  # committed text not yet shown
        self.shown = 0

    @property
    def length(self) -> int:
        return self.decoder.length if self.decoder else 0

    @property
    def tokens(self) -> list[int]:
        return self.history[self.start :]

    def mark(self) -> RowMark:
        return RowMark(len(self.history), self.decoder.mark() if self.decoder else None)

    def mark_start(self) -> RowMark:
        """The mark from before the token just appended (whose text is not decoded yet)."""
        return RowMark(len(self.history) - 1, self.decoder.mark() if self.decoder else None)

    def rewind(self, mark: RowMark) -> None:
        del self.history[mark.tokens :]
        if self.decoder and mark.text:
            self.decoder.rewind(mark.text)
            if self.pending is not None:
                self.pending = self.pending[: max(0, mark.text.length - self.shown)]

    def text(self) -> str:
        text = self.decoder.text() if self.decoder else ""
        return text if self.cut is None else text[: self.cut]
