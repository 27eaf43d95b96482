"""The batched run loop behind `Generator.complete` and `Generator.stream`.

Each step samples one token per row, lets the stopping criteria judge each row, and
carries the model's state on; every per-row cost is O(1) amortised: histories grow in
place, text is decoded incrementally, stop strings are searched in the new text only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .rows import Row
from .stopping import Criterion, SegmentFilter, Verdict

if TYPE_CHECKING:
    from .sampling import Sampler, Scores


class Stepper(Protocol):
    """What the loop drives: the stepping methods of `toolkit.Generator`, named here because the
    interface builds on this engine, not the engine on the interface."""

    def begin(self, prompt: list[int], n: int) -> tuple[Any, Scores]: ...

    def begin_rows(self, histories: list[list[int]]) -> tuple[Any, Scores]: ...

    def advance(self, state: Any, tokens: np.ndarray) -> tuple[Any, Scores]: ...

    def decode(self, ids: Sequence[int]) -> str: ...


@dataclass
class Outcome:
    texts: list[str]
    tokens: list[list[int]]
    first_token_seconds: float
    rejected_segments: int


class Run:
    """One batched generation. Iterating yields, after each step, the text each row may show now."""

    def __init__(self, gen: Stepper, prompt: list[int], n: int, sampler: Sampler,
                 criteria: Sequence[Criterion], streaming: bool) -> None:
        self.gen, self.sampler, self.criteria, self.streaming = gen, sampler, list(criteria), streaming
        self.text_criteria = [c for c in self.criteria if c.needs_text]
        watch = bool(self.text_criteria) or streaming
        self.hold = keep = max((c.hold for c in self.criteria), default=0)
        self.rows = [Row(b, prompt, gen.decode if watch else None, streaming) for b in range(n)]
        for row in self.rows:
            if row.decoder:
                row.decoder.keep = keep
        for criterion in self.criteria:
            criterion.start(n)
        # only the criteria that override a hook are called: the loop runs once per token per row
        self.token_criteria = [c for c in self.criteria if type(c).after_token is not Criterion.after_token]
        self.step_criteria = [c for c in self.criteria if type(c).after_step is not Criterion.after_step]
        self.started = time.perf_counter()
        self.first_token = 0.0
        self.state: Any = None
        self.scores: Scores | None = None

    def __iter__(self) -> Iterator[list[str]]:
        self.state, self.scores = self.gen.begin(self.rows[0].history[:], len(self.rows))  # a copy: rows grow theirs
        while True:
            sampled = self.sampler(self.scores, [row.history for row in self.rows])
            if not self.first_token:
                self.first_token = time.perf_counter() - self.started
            redraw = self._take(sampled)
            if self.streaming:
                yield self._pieces()
            if all(row.done for row in self.rows):
                break
            if redraw:
                self.state, self.scores = self.gen.begin_rows([list(row.history) for row in self.rows])
            else:
                self.state, self.scores = self.gen.advance(self.state, sampled)
        self._finish()
        if self.streaming:
            yield self._pieces()

    def _take(self, sampled: np.ndarray) -> bool:
        """Append each live row's token and judge it; True if some row was rewound."""
        redraw = False
        for row, token in zip(self.rows, sampled.tolist(), strict=True):
            if row.done:
                continue
            row.history.append(token)
            row.steps += 1
            stop = rewound = False
            for criterion in self.token_criteria:
                verdict = criterion.after_token(row)  # compared by identity: hashing an Enum costs more
                rewound |= verdict is Verdict.REDRAW
                stop |= verdict is Verdict.STOP
            if row.decoder and not rewound:
                self._judge_text(row, row.decoder.step())
            row.done |= stop
            for criterion in self.step_criteria:
                criterion.after_step(row)
            redraw |= rewound
        return redraw

    def _judge_text(self, row: Row, new: str) -> None:
        if row.pending is not None:
            row.pending += new
        cuts = [cut for c in self.text_criteria if (cut := c.after_text(row, new)) is not None]
        if cuts:
            row.cut = min(cuts)
            row.done = True
            if row.pending is not None:
                row.pending = row.pending[: max(0, row.cut - row.shown)]

    def _finish(self) -> None:
        for row in self.rows:
            if row.decoder and row.cut is None:
                self._judge_text(row, row.decoder.flush())
            row.done = row.final = True

    def _pieces(self) -> list[str]:
        """What each row may show now: everything once it is done, else what no criterion may still change."""
        pieces = []
        for row in self.rows:
            assert row.pending is not None
            if row.cut is not None:
                end = row.cut
            elif row.final:
                end = row.length
            else:
                end = max(0, min((c.certain(row) for c in self.criteria), default=row.length) - self.hold)
            take = max(0, end - row.shown)
            pieces.append(row.pending[:take])
            row.pending = row.pending[take:]
            row.shown += take
        return pieces

    def outcome(self) -> Outcome:
        texts = [row.text() if row.decoder else self.gen.decode(row.tokens) for row in self.rows]
        rejected = sum(c.rejected for c in self.criteria if isinstance(c, SegmentFilter))
        return Outcome(texts, [row.tokens for row in self.rows], self.first_token, rejected)
