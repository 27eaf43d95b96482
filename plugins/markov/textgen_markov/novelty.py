"""markovify's novelty rule (`Text.test_sentence_output`) with hashed word n-grams.

A generated sentence of L words is refused when it contains a run of
``min(max_overlap_total, round(max_overlap_ratio * L)) + 1`` words (or all L words, if
that is more than L) that also occurs in the training sentences. markovify checks
each run with a substring search over the whole rejoined training text; here the
training text's word n-grams of each length are hashed once into sorted arrays, so a
check is a few binary searches. Runs are matched on whole words (markovify's substring
search can also match a run that starts or ends inside a longer training word), and,
as in markovify, a run may cross a sentence boundary of the training text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Odd multiplier of the polynomial hash over token ids (arithmetic wraps modulo 2**64).
_BASE_INT = 0x9E3779B97F4A7C15
_BASE = np.uint64(_BASE_INT)
_MASK = (1 << 64) - 1


class OverlapIndex:
    """Hashes of every word n-gram of the training sentences, for n = 1 .. longest."""

    def __init__(self, words: np.ndarray, longest: int) -> None:
        words = words.astype(np.uint64)
        self.hashes: list[np.ndarray] = [np.zeros(0, dtype=np.uint64)]
        rolling = words.copy()
        for n in range(1, longest + 1):
            if n > 1:
                rolling = rolling[:-1] * _BASE + words[n - 1 :]
            self.hashes.append(np.sort(rolling))  # sorted, duplicates kept: searchsorted needs no more

    def overlaps(self, words: Sequence[int], max_overlap_ratio: float, max_overlap_total: int) -> bool:
        """Whether ``words`` copies the training text by markovify's rule."""
        overlap_max = min(max_overlap_total, round(max_overlap_ratio * len(words)))
        n = min(overlap_max + 1, len(words))
        if n < 1:
            return False
        prefix = [0]  # polynomial hashes of the prefixes, in Python ints: cheaper than numpy for a sentence
        for word in words:
            prefix.append((prefix[-1] * _BASE_INT + word) & _MASK)
        shift = pow(_BASE_INT, n, _MASK + 1)
        grams = np.array([(prefix[i + n] - prefix[i] * shift) & _MASK for i in range(len(words) - n + 1)],
                         dtype=np.uint64)
        known = self.hashes[n]
        where = np.minimum(known.searchsorted(grams), len(known) - 1)
        return bool((known[where] == grams).any())
