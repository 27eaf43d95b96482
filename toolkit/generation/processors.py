"""Logits processors: one signature, one ordered list, used by every caller that samples.

A processor takes ``(logits, ids, histories)`` and returns processed logits:

* ``logits``: float64 ``(batch, k)`` scores, changed in place where that is cheaper;
* ``ids``: the token id of each column for sparse `Candidates`, or None for a dense row
  whose column index is the token id;
* ``histories``: each row's prompt plus generated tokens so far (grown in place by the run).

`SamplingOptions.processors` builds the list in transformers' order (repetition penalty,
no-repeat-n-gram, then temperature, top-k, top-p, min-p, typical-p); a plugin's own
processors (`Generator.logits_processors`, a vocabulary mask say) run before them. The
sampler, `toolkit.generation.sampling.distribution` and the dashboard's next-token lens all apply
that one list, so the order is written once, here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np


class Processor(Protocol):
    """Anything with this call signature and a ``label`` (shown by the dashboard's lens)."""

    label: str

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray: ...


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax that tolerates -inf entries (they get probability 0)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def token_ids(logits: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
    """The token id of every column: ``ids`` for candidates, the column index for dense rows."""
    return ids if ids is not None else np.broadcast_to(np.arange(logits.shape[1]), logits.shape)


def apply(processors: Iterable[Processor], logits: np.ndarray, ids: np.ndarray | None,
          histories: Sequence[Sequence[int]]) -> np.ndarray:
    """Run ``processors`` in order."""
    for processor in processors:
        logits = processor(logits, ids, histories)
    return logits


class _RowMemory:
    """Per-row state that follows a history as it grows, and rebuilds when it was rewound.

    Subclasses fold each new token in with `add`; the cost per step is the new tokens only.
    """

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}

    def follow(self, row: int, history: Sequence[int]) -> None:
        start = self.seen.get(row, 0)
        if len(history) < start:  # the history was rewound (a refused segment): rebuild
            self.reset(row)
            start = 0
        for i in range(start, len(history)):
            self.add(row, history, i)
        self.seen[row] = len(history)

    def reset(self, row: int) -> None:
        raise NotImplementedError

    def add(self, row: int, history: Sequence[int], i: int) -> None:
        raise NotImplementedError


class SuppressTokens:
    """Never produce these ids (a plugin's ``<unk>``, say)."""

    def __init__(self, suppress: Sequence[int]) -> None:
        self.suppress = np.array(sorted(set(suppress)), dtype=np.int64)
        self.label = f"suppress {len(self.suppress)} token(s)"

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        if ids is None:
            logits[:, self.suppress[(self.suppress >= 0) & (self.suppress < logits.shape[1])]] = -np.inf
        else:
            logits[np.isin(ids, self.suppress)] = -np.inf
        return logits


class RepetitionPenalty(_RowMemory):
    """CTRL's rule as in transformers: divide positive, multiply negative scores of seen tokens."""

    def __init__(self, penalty: float) -> None:
        super().__init__()
        self.penalty = penalty
        self.label = f"repetition penalty {penalty:g}"
        self.tokens: dict[int, set[int]] = {}

    def reset(self, row: int) -> None:
        self.tokens[row] = set()

    def add(self, row: int, history: Sequence[int], i: int) -> None:
        self.tokens.setdefault(row, set()).add(int(history[i]))

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        columns = token_ids(logits, ids)
        for b, history in enumerate(histories):
            self.follow(b, history)
            seen_tokens = self.tokens.get(b)
            if not seen_tokens:
                continue
            seen = np.isin(columns[b], np.fromiter(seen_tokens, dtype=np.int64, count=len(seen_tokens)))
            row = logits[b]
            row[seen] = np.where(row[seen] < 0, row[seen] * self.penalty, row[seen] / self.penalty)
        return logits


class NoRepeatNgram(_RowMemory):
    """Forbid any token that would complete an n-gram already in the text.

    A row whose every possible token would repeat an n-gram keeps its scores: the ban
    cannot be honoured there, so it is the option that gives way, not the model.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.label = f"no repeat {size}-gram"
        self.tables: dict[int, dict[tuple[int, ...], set[int]]] = {}

    def reset(self, row: int) -> None:
        self.tables[row] = {}

    def add(self, row: int, history: Sequence[int], i: int) -> None:
        n = self.size
        if i >= n - 1:
            prefix = tuple(history[i - n + 1 : i])
            self.tables.setdefault(row, {}).setdefault(prefix, set()).add(int(history[i]))

    def banned(self, row: int, history: Sequence[int]) -> set[int]:
        """Tokens that would repeat an n-gram after ``history`` (row ``row``'s text)."""
        self.follow(row, history)
        n = self.size
        if len(history) < n - 1:
            return set()
        return self.tables.get(row, {}).get(tuple(history[len(history) - n + 1 :]), set())

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        columns = token_ids(logits, ids)
        for b, history in enumerate(histories):
            banned = self.banned(b, history)
            if not banned:
                continue
            ban = np.isin(columns[b], np.fromiter(banned, dtype=np.int64, count=len(banned)))
            if np.isfinite(logits[b, ~ban]).any():
                logits[b, ban] = -np.inf
        return logits


class Temperature:
    """Sharpen (T < 1) or flatten (T > 1) the distribution."""

    def __init__(self, t: float) -> None:
        self.t, self.label = t, f"temperature {t:g}"

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        return logits / self.t


class Greedy:
    """Temperature 0: keep only each row's likeliest token (the first of equal ones)."""

    label = "temperature 0 (greedy)"

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        best = logits.argmax(axis=1)
        kept = np.full_like(logits, -np.inf)
        rows = np.arange(len(logits))
        kept[rows, best] = logits[rows, best]
        return kept


class TopK:
    """Keep the k highest scores per row (ties at the k-th score are kept, as in transformers)."""

    def __init__(self, k: int) -> None:
        self.k, self.label = k, f"top-k {k}"

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        width = logits.shape[1]
        if self.k >= width:
            return logits
        kth = np.partition(logits, width - self.k, axis=1)[:, width - self.k : width - self.k + 1]
        logits[logits < kth] = -np.inf
        return logits


class TopP:
    """Nucleus: keep the smallest set of likeliest tokens whose probability mass reaches p."""

    def __init__(self, p: float) -> None:
        self.p, self.label = p, f"top-p {p:g}"

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        width = logits.shape[1]
        alive = int(np.isfinite(logits).sum(axis=1).max())
        if alive < width // 4:  # after top-k: sort only each row's candidates, kept in id order for equal ties
            columns = np.sort(np.argpartition(logits, width - alive, axis=1)[:, width - alive :], axis=1)
            np.put_along_axis(logits, columns, self._cut(np.take_along_axis(logits, columns, axis=1)), axis=1)
            return logits
        return self._cut(logits)

    def _cut(self, logits: np.ndarray) -> np.ndarray:
        order = np.argsort(-logits, axis=1, kind="stable")
        probs = np.take_along_axis(softmax(logits), order, axis=1)
        mass_before = np.cumsum(probs, axis=1) - probs
        remove = mass_before >= self.p
        remove[:, 0] = False
        _remove_in_order(logits, order, remove)
        return logits


class MinP:
    """Drop tokens whose probability is below p times the row's largest probability."""

    def __init__(self, p: float) -> None:
        self.p, self.label = p, f"min-p {p:g}"

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        probs = softmax(logits)
        logits[probs < self.p * probs.max(axis=1, keepdims=True)] = -np.inf
        return logits


class TypicalP:
    """Locally typical sampling (Meister et al.), following transformers' TypicalLogitsWarper."""

    def __init__(self, mass: float) -> None:
        self.mass, self.label = mass, f"typical-p {mass:g}"

    def __call__(self, logits: np.ndarray, ids: np.ndarray | None,
                 histories: Sequence[Sequence[int]]) -> np.ndarray:
        probs = softmax(logits)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_probs = np.log(probs)
            entropy = -np.nansum(np.where(probs > 0, log_probs * probs, 0.0), axis=1, keepdims=True)
            shifted = np.abs(-log_probs - entropy)
        order = np.argsort(shifted, axis=1, kind="stable")
        sorted_shifted = np.take_along_axis(shifted, order, axis=1)
        cumulative = np.cumsum(np.take_along_axis(probs, order, axis=1), axis=1)
        last = np.minimum((cumulative < self.mass).sum(axis=1), logits.shape[1] - 1)
        remove = sorted_shifted > np.take_along_axis(sorted_shifted, last[:, None], axis=1)
        remove[:, 0] = False
        _remove_in_order(logits, order, remove)
        return logits


def _remove_in_order(logits: np.ndarray, order: np.ndarray, remove: np.ndarray) -> None:
    """Set to -inf the entries ``remove`` marks, where ``remove`` is in the row order ``order``."""
    np.put_along_axis(logits, order, np.where(remove, -np.inf, np.take_along_axis(logits, order, axis=1)), axis=1)
