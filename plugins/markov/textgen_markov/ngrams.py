"""N-gram counts of every order up to the state size, counted with numpy and looked up by context.

Contexts live in a suffix trie of integer ids. The context ``(a_1, ..., a_k)`` (oldest
first) has the id ``i`` such that ``context_keys[k][i] == id(a_2, ..., a_k) * radix + a_1``;
``context_keys[k]`` is sorted, so a context is found with one binary search per token,
walking back from the most recent one. The walk stops at the first unseen context:
the longest known suffix of a history, which is exactly the backoff to shorter states.

``ngram_keys[k]`` holds ``context_id * radix + next_token`` for every n-gram whose context
has length k, sorted, so the followers of a context are one contiguous slice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

#: Training positions counted per batch while streaming: bounds the working memory of a build.
BATCH = 1 << 20


def windows(tokens: np.ndarray, targets: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` tokens before each target position, oldest first: shape ``(len(targets), size)``."""
    return tokens[targets[:, None] - size + np.arange(size)]


def smallest_uint(values: np.ndarray) -> np.ndarray:
    """``values`` (all >= 0) in the narrowest unsigned dtype that holds them: what goes to disk."""
    top = int(values.max()) if len(values) else 0
    dtype = next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64) if top <= np.iinfo(d).max)
    return values.astype(dtype, copy=False)


def _packable(radix: int, width: int) -> bool:
    """Whether a row of ``width`` tokens below ``radix`` packs into one int64 (radix ** width < 2 ** 63)."""
    return width * math.log2(radix) < 63


def unique_rows(rows: np.ndarray, weights: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of token ids and their summed weights. Rows are packed into one int64 each when
    the radix allows (a 1-D sort, several times faster than ``np.unique(axis=0)``)."""
    if not len(rows):
        return rows, weights
    if not _packable(radix, rows.shape[1]):
        found, inverse = np.unique(rows, axis=0, return_inverse=True)
        return found, np.bincount(inverse.ravel(), weights=weights, minlength=len(found)).astype(np.int64)
    packed = np.zeros(len(rows), dtype=np.int64)
    for column in rows.T:
        packed = packed * radix + column
    keys, inverse = np.unique(packed, return_inverse=True)
    total = np.bincount(inverse, weights=weights, minlength=len(keys)).astype(np.int64)
    found = np.empty((len(keys), rows.shape[1]), dtype=rows.dtype)
    for j in range(rows.shape[1] - 1, -1, -1):
        found[:, j] = keys % radix
        keys //= radix
    return found, total


def count_rows(pieces: Iterable[tuple[np.ndarray, np.ndarray]], size: int, radix: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (``size`` tokens of context, next token) rows and their counts, counted piece by piece.

    Each piece is (padded tokens, positions to predict), as `windows` takes them; only one
    batch of windows and the distinct rows so far are in memory at a time, so counting a
    corpus needs little more than its table of distinct n-grams.
    """
    dtype = smallest_uint(np.array([radix]))
    seen = np.zeros((0, size + 1), dtype=dtype.dtype)
    totals = np.zeros(0, dtype=np.int64)
    for wide, targets in pieces:
        tokens = wide.astype(dtype.dtype)  # the windows in the narrow dtype: a batch is a few MB
        for at in range(0, len(targets), BATCH):
            batch = targets[at : at + BATCH]
            rows = np.column_stack([windows(tokens, batch, size), tokens[batch]])
            rows, weights = unique_rows(rows, np.ones(len(rows), dtype=np.int64), radix)
            seen, totals = unique_rows(np.concatenate([seen, rows]), np.concatenate([totals, weights]), radix)
    return seen, totals


@dataclass
class NgramCounts:
    """Raw counts of the n-grams of orders 1 .. state_size + 1 (Kneser-Ney's continuation counts on demand)."""

    radix: int
    begin_id: int
    context_keys: list[np.ndarray]
    ngram_keys: list[np.ndarray]
    counts: list[np.ndarray]

    @property
    def state_size(self) -> int:
        return len(self.ngram_keys) - 1

    @classmethod
    def build(cls, contexts: np.ndarray, targets: np.ndarray, radix: int, begin_id: int,
              weights: np.ndarray | None = None) -> NgramCounts:
        """Count ``targets`` after each row of ``contexts`` (and after every suffix of it).

        Rows may repeat (one per training position) or be unique with ``weights`` (a
        counted or saved table); both give the same counts. Columns are widened to int64
        one at a time, so ``contexts`` may stay in a narrow dtype.
        """
        rows, size = contexts.shape
        targets = targets.astype(np.int64, copy=False)
        context_id = np.zeros(rows, dtype=np.int64)
        context_keys = [np.zeros(1, dtype=np.int64)]
        ngram_keys: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for k in range(size + 1):
            if k:
                keys, context_id = np.unique(context_id * radix + contexts[:, size - k].astype(np.int64),
                                             return_inverse=True)
                context_keys.append(keys)
            keys, inverse = np.unique(context_id * radix + targets, return_inverse=True)
            ngram_keys.append(keys)
            counts.append(np.bincount(inverse, weights=weights, minlength=len(keys)).astype(np.int64))
        return cls(radix, begin_id, context_keys, ngram_keys, counts)

    @cached_property
    def continuation(self) -> list[np.ndarray]:
        """Kneser-Ney's counts: for each n-gram below the highest order, how many distinct tokens precede
        it; the highest order, and contexts that start at a sentence start (whose left extension is
        always BEGIN), keep their raw counts, as KenLM does."""
        radix, size = self.radix, self.state_size
        continuation = []
        for k in range(size):  # order k from the n-grams one order up, each mapped to its suffix
            keys = self.ngram_keys[k + 1]
            suffix = self.ngram_index(k, self.context_keys[k + 1][keys // radix] // radix, keys % radix)
            distinct = np.bincount(suffix, minlength=len(self.ngram_keys[k]))
            if k:
                starts_sentence = self.context_keys[k][self.ngram_keys[k] // radix] % radix == self.begin_id
                distinct = np.where(starts_sentence, self.counts[k], distinct)
            continuation.append(distinct)
        continuation.append(self.counts[size])
        return continuation

    # -- the array format ------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The trie as narrow arrays (a few bytes per n-gram): per order, each context's number of
        followers and the followers' tokens and counts, and each context's oldest token and
        how many contexts extend each shorter one. `from_arrays` rebuilds the keys with a cumulative
        sum, no search and no Python loop over states."""
        radix, arrays = self.radix, {}
        for k, keys in enumerate(self.ngram_keys):
            arrays[f"next.{k}"] = smallest_uint(keys % radix)
            arrays[f"followers.{k}"] = smallest_uint(np.bincount(keys // radix, minlength=len(self.context_keys[k])))
            arrays[f"counts.{k}"] = smallest_uint(self.counts[k])
            if k:
                contexts = self.context_keys[k]
                arrays[f"oldest.{k}"] = smallest_uint(contexts % radix)
                arrays[f"extensions.{k}"] = smallest_uint(
                    np.bincount(contexts // radix, minlength=len(self.context_keys[k - 1])))
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], radix: int, begin_id: int, size: int) -> NgramCounts:
        """The counts from `to_arrays`'s output; ValueError if the arrays do not fit together."""
        def keys(per_parent: np.ndarray, tokens: np.ndarray) -> np.ndarray:
            if int(per_parent.sum()) != len(tokens):
                raise ValueError("the chain arrays do not fit together (damaged file?)")
            return np.repeat(np.arange(len(per_parent), dtype=np.int64), per_parent) * radix + tokens

        context_keys = [np.zeros(1, dtype=np.int64)]
        ngram_keys, counts = [], []
        for k in range(size + 1):
            if k:
                context_keys.append(keys(arrays[f"extensions.{k}"], arrays[f"oldest.{k}"]))
            if len(arrays[f"followers.{k}"]) != len(context_keys[k]):
                raise ValueError("the chain arrays do not fit together (damaged file?)")
            ngram_keys.append(keys(arrays[f"followers.{k}"], arrays[f"next.{k}"]))
            counts.append(arrays[f"counts.{k}"].astype(np.int64))
        return cls(radix, begin_id, context_keys, ngram_keys, counts)

    def contexts(self, context_id: np.ndarray) -> np.ndarray:
        """Tokens (oldest first) of highest-order contexts given by id: shape ``(len(context_id), state_size)``."""
        size, radix = self.state_size, self.radix
        tokens = np.empty((len(context_id), size), dtype=np.int64)
        for k in range(size, 0, -1):  # peel the oldest token off, one order at a time
            key = self.context_keys[k][context_id]
            tokens[:, size - k] = key % radix
            context_id = key // radix
        return tokens

    def table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The highest-order n-grams as (contexts oldest first, next tokens, counts): all a model needs."""
        keys = self.ngram_keys[self.state_size]
        return self.contexts(keys // self.radix), keys % self.radix, self.counts[self.state_size]

    def context_ids(self, history: np.ndarray, k: int, previous: np.ndarray) -> np.ndarray:
        """Ids of the contexts of length k ending where ``previous`` (length k - 1) ends; -1 if unseen.

        ``history`` is the token k places back from each target.
        """
        keys = self.context_keys[k]
        query = previous * self.radix + history
        where = np.minimum(keys.searchsorted(query), len(keys) - 1)
        return np.where((previous >= 0) & (keys[where] == query), where, -1)

    def ngram_index(self, k: int, context_id: np.ndarray, token: np.ndarray) -> np.ndarray:
        """Index of each (context, token) n-gram of order k + 1 in ``ngram_keys[k]``; -1 if unseen."""
        keys = self.ngram_keys[k]
        query = context_id * self.radix + token
        where = np.minimum(keys.searchsorted(query), len(keys) - 1)
        return np.where((context_id >= 0) & (keys[where] == query), where, -1)

    def longest_context(self, history: tuple[int, ...]) -> tuple[int, int]:
        """(length, id) of the longest suffix of ``history`` seen as a context, at most state_size long."""
        context_id, length = 0, 0
        for k in range(1, min(self.state_size, len(history)) + 1):
            keys = self.context_keys[k]
            key = context_id * self.radix + history[-k]
            where = int(keys.searchsorted(key))
            if where == len(keys) or keys[where] != key:
                break
            context_id, length = where, k
        return length, context_id

    # -- follower slices for sampling ------------------------------------------------

    @cached_property
    def _flat(self) -> tuple[np.ndarray, np.ndarray, list[int], list[np.ndarray]]:
        """Followers and log counts of every context of every order, back to back."""
        next_ids = np.concatenate([keys % self.radix for keys in self.ngram_keys])
        log_counts = np.log(np.concatenate(self.counts).astype(np.float64))
        offsets = np.cumsum([0] + [len(keys) for keys in self.ngram_keys]).tolist()
        starts = [np.concatenate([[0], np.bincount(keys // self.radix, minlength=len(self.context_keys[k])).cumsum()])
                  for k, keys in enumerate(self.ngram_keys)]
        return next_ids, log_counts, offsets, starts

    def state_slots(self) -> dict[tuple[int, ...], tuple[int, int]]:
        """(start, count) of the followers of every full-length state, as markovify's chain dict holds them."""
        _, _, offsets, starts = self._flat
        size = self.state_size
        begin = starts[size][:-1]
        slots = zip((offsets[size] + begin).tolist(), np.diff(starts[size]).tolist(), strict=True)
        states = map(tuple, self.contexts(np.arange(len(begin))).tolist())
        return dict(zip(states, slots, strict=True))

    def slot(self, length: int, context_id: int) -> tuple[int, int]:
        """(start, count) of a context's followers in the flat arrays."""
        _, _, offsets, starts = self._flat
        lo, hi = starts[length][context_id : context_id + 2]
        return offsets[length] + int(lo), int(hi - lo)

    def candidates(self, slots: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Padded follower ids (-1) and log counts (-inf) of a batch of slots."""
        next_ids, log_counts, _, _ = self._flat
        width = max(count for _, count in slots)
        ids = np.full((len(slots), width), -1, dtype=np.int64)
        logits = np.full((len(slots), width), -np.inf)
        for row, (start, count) in enumerate(slots):  # a slice copy per row beats fancy indexing here
            ids[row, :count] = next_ids[start : start + count]
            logits[row, :count] = log_counts[start : start + count]
        return ids, logits
