"""The fixed evaluation slice: held-out text that stands for the whole validation split, cheaply.

Training estimates (the learning curve, the choice of best weights, early stopping)
score this slice instead of the whole split, because they run many times. Taking the
split's first characters would judge every model on one scene of one play; instead the
slice is ``PIECES`` windows of equal length starting at evenly spaced offsets, so the
start, the middle and the end of the split all count. When the split is no longer than
the slice asked for, the pieces tile the whole split. The same text gives the same
slice in every run, for every plugin, so curves share one scale.

Estimates on the slice are named ``val_bpc_estimate``; ``val_bpc`` is always the whole
split scored by `Generator.score`. Unknown characters are charged as ``score`` does.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Protocol

#: Windows in a slice (fewer when the text is short: each holds at least ``MIN_PIECE`` characters).
PIECES = 16
MIN_PIECE = 256
#: Slice size for a model that trains in one go (a chain); the neural plugins size it by their ``eval_tokens``.
SLICE_CHARS = 32768
HOW = "{pieces} windows of {length:,} characters at evenly spaced offsets across the validation split"


class TextCoder(Protocol):
    """What a slice needs of a tokenizer: ids, and the extra cost of characters it does not know."""

    def encode(self, text: str) -> list[int]: ...

    def unknown_nats(self, text: str) -> float: ...


class Scored(Protocol):
    """What a slice reads of a `toolkit.Score`."""

    nats: float
    chars: int


class Scorer(Protocol):
    """What a slice needs of a model that trains in one go: `Generator.score` (the data names no model class)."""

    def score(self, text: str) -> Scored: ...


def spans(length: int, chars: int | None) -> list[tuple[int, int]]:
    """``(start, end)`` of each window for a text of ``length`` characters and a slice of ``chars``."""
    if length <= 0:
        return []
    if chars is None or chars >= length:
        n = max(1, min(PIECES, length // MIN_PIECE))
        cuts = [round(i * length / n) for i in range(n + 1)]
        return list(itertools.pairwise(cuts))
    n = max(1, min(PIECES, chars // MIN_PIECE))
    size = max(1, chars // n)
    if n == 1:
        start = (length - size) // 2
        return [(start, start + size)]
    return [(s, s + size) for s in (round(i * (length - size) / (n - 1)) for i in range(n))]


@dataclass(frozen=True)
class HeldOut:
    """The slice as token ids per window, with what it takes to report bits per character."""

    windows: list[list[int]]
    chars: int  #: characters the windows spell
    tokens: int  #: tokens the windows hold
    unknown_nats: float  #: spelling cost of the characters the tokenizer does not know
    how: str

    @classmethod
    def from_text(cls, text: str, coder: TextCoder, tokens: int | None) -> HeldOut:
        """The slice of ``text`` holding about ``tokens`` tokens (None: the whole text)."""
        ids = coder.encode(text)
        chars = None if tokens is None else math.ceil(tokens * len(text) / max(1, len(ids)))
        pieces = [text[a:b] for a, b in spans(len(text), chars)]
        windows = [coder.encode(p) for p in pieces]
        return cls(windows, sum(map(len, pieces)), sum(map(len, windows)),
                   sum(coder.unknown_nats(p) for p in pieces), _how(pieces, len(text)))

    @classmethod
    def from_ids(cls, ids: list[int], tokens: int | None, chars_per_token: float = 1.0) -> HeldOut:
        """For a plugin that hands the loop ids only: windows over the ids, nothing unknown."""
        windows = [ids[a:b] for a, b in spans(len(ids), tokens)]
        count = sum(map(len, windows))
        return cls(windows, round(count * chars_per_token), count, 0.0,
                   f"{len(windows)} windows of token ids at evenly spaced offsets across the validation ids")

    def describe(self) -> dict[str, Any]:
        """``training["curve_slice"]``."""
        return {"chars": self.chars, "tokens": self.tokens, "pieces": len(self.windows), "how": self.how}


def _how(pieces: list[str], length: int) -> str:
    if sum(map(len, pieces)) >= length:
        return f"the whole validation split, in {len(pieces)} consecutive windows"
    return HOW.format(pieces=len(pieces), length=len(pieces[0]))


def slice_bpc(model: Scorer, text: str, chars: int | None) -> tuple[float, dict[str, Any]]:
    """``val_bpc_estimate`` of a model that trains in one go (a chain): `score` summed over the windows."""
    pieces = [text[a:b] for a, b in spans(len(text), chars)]
    scores = [model.score(p) for p in pieces]
    total = sum(s.chars for s in scores)
    described = {"chars": total, "pieces": len(pieces), "how": _how(pieces, len(text))}
    return sum(s.nats for s in scores) / total / math.log(2), described
