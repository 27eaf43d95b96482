"""Stopping criteria and segment filters: what ends a row, or sends part of it back.

The run loop asks every criterion, after each token of each row:

1. `Criterion.after_token`: on the tokens alone. `MaxTokens` stops a row; a
   `SegmentFilter` may refuse the segment that token finished and rewind the row;
2. `Criterion.after_text`: on the text the token committed (criteria with
   ``needs_text``). `StopStrings` and `MaxChars` return where the text ends;
3. `Criterion.certain` and `Criterion.hold`: streaming shows only the text no
   criterion may still change: up to where an open segment (which may still be
   refused) begins, less the last ``hold`` characters before that (a stop string may
   still begin there).

A plugin contributes its own criteria through `Generator.stopping_criteria`; a caller
passes more to `Generator.complete(criteria=...)`. Criteria keep per-row state, so
`start` is called at the beginning of each run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .rows import Row


class Verdict(Enum):
    GO = "go"
    STOP = "stop"
    REDRAW = "redraw"  # the row was rewound: the model must restart it from its history


class Criterion:
    """Base class: by default a criterion never stops anything."""

    #: Whether `after_text` needs the row's decoded text (which costs a decode per token).
    needs_text: ClassVar[bool] = False
    #: Characters before the certain text that a later token may still cut off (stop strings).
    hold: int = 0

    def start(self, rows: int) -> None:
        """A run of ``rows`` rows begins."""

    def after_token(self, row: Row) -> Verdict:
        return Verdict.GO

    def after_text(self, row: Row, new: str) -> int | None:
        """Where the row's text ends (a character position), or None to go on. ``new`` was just committed."""
        return None

    def after_step(self, row: Row) -> None:
        """The row's step is over (its text is decoded)."""

    def certain(self, row: Row) -> int:
        """Characters of the row's text that can no longer change."""
        return row.length


class MaxTokens(Criterion):
    """At most ``limit`` sampling steps per row."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def after_token(self, row: Row) -> Verdict:
        return Verdict.STOP if row.steps >= self.limit else Verdict.GO


class MaxChars(Criterion):
    """At most ``limit`` characters of text per row (the rest of the last token is cut)."""

    needs_text = True

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def after_text(self, row: Row, new: str) -> int | None:
        return self.limit if row.length >= self.limit else None


class StopStrings(Criterion):
    """End a row before the first of these strings, searched only in new text plus a short tail."""

    needs_text = True

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = list(stops)
        self.hold = max(len(s) for s in self.stops) - 1

    def after_text(self, row: Row, new: str) -> int | None:
        if not new:
            return None
        assert row.decoder is not None
        window = row.decoder.before + new  # a stop string may begin up to `hold` characters earlier
        hits = [i for i in (window.find(s) for s in self.stops) if i >= 0]
        return row.length - len(window) + min(hits) if hits else None


class SegmentFilter(Criterion):
    """Redraw a finished segment (a sentence) that ``refuse`` rejects, up to ``tries`` times a segment.

    A segment ends with a token in ``ends``; ``refuse`` gets its token ids (the end
    token included). After ``tries`` refusals the segment is kept anyway, so a model
    that can only copy still produces text. Markov's novelty rule is one of these.
    """

    def __init__(self, ends: frozenset[int], refuse: Callable[[list[int]], bool], tries: int = 10) -> None:
        self.ends, self.refuse, self.tries = ends, refuse, tries
        self.rejected = 0
        self.marks: list = []
        self.failed: list[int] = []
        self.accepted: list[bool] = []

    def start(self, rows: int) -> None:
        self.rejected = 0
        self.marks, self.failed, self.accepted = [None] * rows, [0] * rows, [False] * rows

    def after_token(self, row: Row) -> Verdict:
        b = row.index
        if self.marks[b] is None:
            self.marks[b] = row.mark_start()
        if row.history[-1] not in self.ends:
            return Verdict.GO
        if self.failed[b] < self.tries and self.refuse(row.history[self.marks[b].tokens :]):
            row.rewind(self.marks[b])
            self.failed[b] += 1
            self.rejected += 1
            return Verdict.REDRAW
        self.failed[b] = 0
        self.accepted[b] = True
        return Verdict.GO

    def after_step(self, row: Row) -> None:
        if self.accepted[row.index]:  # the next segment starts after this token's text
            self.marks[row.index] = row.mark()
            self.accepted[row.index] = False

    def certain(self, row: Row) -> int:
        mark = self.marks[row.index]
        return row.length if mark is None or mark.text is None else mark.text.length
