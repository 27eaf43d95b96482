"""Incremental text decoding: each new token costs O(1), whatever the length of the output.

Decoding a row's whole output at every step (to stream it or to look for stop strings)
makes generation quadratic. `IncrementalDecoder` decodes only a short window: the tokens
since the last committed piece plus the token before them, as context (a word
tokenizer's space, a BPE merge). It holds back the window while its text ends in an
unfinished UTF-8 character (U+FFFD) or while the context's own text changed (a partial
word), and commits it once it is stable. The committed pieces joined equal
``decode(tokens)`` for any decoder whose text of a token depends on at most the token
before it; the contract kit checks this for every plugin (`check_stream`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

Decode = Callable[[Sequence[int]], str]


class Mark(NamedTuple):
    """A decoder's position, to rewind to (a refused segment)."""

    tokens: int
    prefix: int
    read: int
    pieces: int
    length: int
    tail: str


class IncrementalDecoder:
    """Committed text of ``ids[start:]``, a list the caller grows in place.

    ``keep`` is how many characters `before` keeps from ahead of the latest piece (the
    longest stop string less one), so a stop string is searched in the new text plus those.
    """

    def __init__(self, decode: Decode, ids: list[int], start: int, keep: int = 0) -> None:
        self.decode, self.ids, self.keep = decode, ids, keep
        self.prefix = self.read = start
        self.pieces: list[str] = []
        self.length = 0
        self.tail = ""  # the last `keep` committed characters
        self.before = ""  # the last `keep` characters ahead of the latest piece

    def step(self) -> str:
        """Commit what the tokens appended since the last call add; '' while held back."""
        prefix_text = self.decode(self.ids[self.prefix : self.read]) if self.read > self.prefix else ""
        window = self.decode(self.ids[self.prefix :])
        if len(window) <= len(prefix_text) or window.endswith("\ufffd") or not window.startswith(prefix_text):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return self._commit(window[len(prefix_text) :])

    def flush(self) -> str:
        """Commit whatever is still held back (the output ended)."""
        prefix_text = self.decode(self.ids[self.prefix : self.read]) if self.read > self.prefix else ""
        window = self.decode(self.ids[self.prefix :])
        self.prefix = self.read = len(self.ids)
        return self._commit(window[len(prefix_text) :])

    def _commit(self, piece: str) -> str:
        if piece:
            self.pieces.append(piece)
            self.length += len(piece)
            self.before = self.tail
            if self.keep:
                self.tail = (self.tail + piece)[-self.keep :]
        return piece

    def text(self) -> str:
        return "".join(self.pieces)

    def mark(self) -> Mark:
        return Mark(len(self.ids), self.prefix, self.read, len(self.pieces), self.length, self.tail)

    def rewind(self, mark: Mark) -> None:
        """Go back to ``mark``; the caller has cut ``ids`` back to ``mark.tokens`` already."""
        self.prefix, self.read, self.length, self.tail = mark.prefix, mark.read, mark.length, mark.tail
        self.before = self.tail
        del self.pieces[mark.pieces :]
