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

from dataclasses import dataclass
from functools import cached_property

import numpy as np


def windows(tokens: np.ndarray, targets: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` tokens before each target position, oldest first: shape ``(len(targets), size)``."""
    return tokens[targets[:, None] - size + np.arange(size)]


@dataclass
class NgramCounts:
    """Raw and continuation counts of the n-grams of orders 1 .. state_size + 1."""

    radix: int
    context_keys: list[np.ndarray]
    ngram_keys: list[np.ndarray]
    counts: list[np.ndarray]
    continuation: list[np.ndarray]

    @property
    def state_size(self) -> int:
        return len(self.ngram_keys) - 1

    @classmethod
    def build(cls, contexts: np.ndarray, targets: np.ndarray, radix: int, begin_id: int,
              weights: np.ndarray | None = None) -> NgramCounts:
        """Count ``targets`` after each row of ``contexts`` (and after every suffix of it).

        Rows may repeat (one per training position) or be unique with ``weights`` (a saved
        table); both give the same counts. Continuation counts (Kneser-Ney's number of
        distinct left extensions) are kept for the lower orders, except for contexts that
        start at a sentence start, whose left extension is always BEGIN: those keep their
        raw counts, as KenLM does.
        """
        rows, size = contexts.shape
        contexts = contexts.astype(np.int64, copy=False)
        targets = targets.astype(np.int64, copy=False)
        context_id = np.zeros(rows, dtype=np.int64)
        context_keys = [np.zeros(1, dtype=np.int64)]
        ngram_keys: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        continuation: list[np.ndarray] = []
        previous = None
        for k in range(size + 1):
            if k:
                keys, context_id = np.unique(context_id * radix + contexts[:, size - k], return_inverse=True)
                context_keys.append(keys)
            keys, inverse = np.unique(context_id * radix + targets, return_inverse=True)
            ngram_keys.append(keys)
            counts.append(np.bincount(inverse, weights=weights, minlength=len(keys)).astype(np.int64))
            if previous is not None:  # continuation counts of order k - 1 from the n-grams of order k
                parent = np.empty(len(keys), dtype=np.int64)
                parent[inverse] = previous
                continuation.append(np.bincount(parent, minlength=len(ngram_keys[k - 1])))
            previous = inverse
        continuation.append(counts[size])
        for k in range(1, size):  # contexts whose oldest token is BEGIN keep raw counts
            starts_sentence = context_keys[k][ngram_keys[k] // radix] % radix == begin_id
            continuation[k] = np.where(starts_sentence, counts[k], continuation[k])
        return cls(radix, context_keys, ngram_keys, counts, continuation)

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
        starts = [(keys // self.radix).searchsorted(np.arange(len(self.context_keys[k]) + 1))
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
