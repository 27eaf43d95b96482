"""Interpolated modified Kneser-Ney over every order up to the state size, for scoring.

Sampling follows the chain's raw counts (markovify's semantics), but a raw chain gives
probability 0 to anything it never saw, so held-out bits per character would be
infinite. Scoring therefore uses Chen and Goodman's interpolated modified Kneser-Ney:

    p_k(w | c) = (max(n(c, w) - D_k(n), 0) + gamma_k(c) * p_{k-1}(w | c')) / n(c)

where n are raw counts at the highest order and continuation counts below it, the three
discounts D_k(1), D_k(2), D_k(3+) of each order come from its count-of-counts, ``c'``
drops the oldest token of ``c``, and the recursion ends in the uniform distribution
over the vocabulary (so an unknown token still has a finite cost). A context never
seen at order k leaves ``p_{k-1}`` unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ngrams import NgramCounts


def discounts(counts: np.ndarray) -> np.ndarray:
    """D(0..3) from the count-of-counts (Chen and Goodman 1998), kept inside (0, c)."""
    n1, n2, n3, n4 = (int((counts == i).sum()) for i in range(1, 5))
    y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.5
    raw = [1 - 2 * y * n2 / n1 if n1 else 0.5, 2 - 3 * y * n3 / n2 if n2 else 1.0, 3 - 4 * y * n4 / n3 if n3 else 1.5]
    return np.array([0.0] + [min(max(d, 0.05), i + 0.95) for i, d in enumerate(raw)])


@dataclass
class KneserNey:
    """Per-order discounted counts and per-context normalisers, computed once from the counts."""

    counts: NgramCounts
    vocab_size: int
    discounted: list[np.ndarray]
    totals: list[np.ndarray]
    backoff: list[np.ndarray]

    @classmethod
    def fit(cls, counts: NgramCounts, vocab_size: int) -> KneserNey:
        discounted, totals, backoff = [], [], []
        for k, n in enumerate(counts.continuation):
            d = discounts(n)
            context = counts.ngram_keys[k] // counts.radix
            size = len(counts.context_keys[k])
            discounted.append(np.maximum(n - d[np.minimum(n, 3)], 0.0))
            totals.append(np.bincount(context, weights=n, minlength=size))
            backoff.append(np.bincount(context, weights=d[np.minimum(n, 3)], minlength=size))
        return cls(counts, vocab_size, discounted, totals, backoff)

    def log_probs(self, tokens: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Natural log-probability of ``tokens[t]`` given the tokens before it, for each t in ``targets``.

        Every target needs ``state_size`` tokens before it (pad with BEGIN).
        """
        counts = self.counts
        token = tokens[targets].astype(np.int64)
        prob = np.full(len(targets), 1.0 / self.vocab_size)
        context = np.zeros(len(targets), dtype=np.int64)
        for k in range(counts.state_size + 1):
            if k:
                context = counts.context_ids(tokens[targets - k].astype(np.int64), k, context)
            seen = context >= 0
            at = np.where(seen, context, 0)
            ngram = counts.ngram_index(k, context, token)
            numerator = np.where(ngram >= 0, self.discounted[k][np.maximum(ngram, 0)], 0.0)
            numerator += self.backoff[k][at] * prob
            prob = np.where(seen, numerator / np.where(seen, self.totals[k][at], 1.0), prob)
        return np.log(prob)
