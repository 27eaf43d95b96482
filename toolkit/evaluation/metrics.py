"""Metrics for generated text: diversity across samples, novelty against the training text.

Small pure functions over lists of samples, shared by ``textgen compare`` and the
dashboard. Words are whitespace-separated pieces (``str.split``), as markovify splits
them, so the figures mean the same for character, word and BPE models.

Diversity (higher is more varied, except self-BLEU and repetition):

* `distinct_n`: unique word n-grams / all word n-grams, pooled over samples (Li et al. 2016);
* `self_bleu`: mean BLEU of each sample against the others (Zhu et al. 2018, Texygen);
* `repetition_rate`: share of word n-grams that repeat an earlier one in the same sample
  (Welleck et al. 2019's seq-rep-n).

Novelty (how much a sample copies its training text) comes from a `TrainingIndex`,
built once per training text::

    index = TrainingIndex.build(corpus.train)
    index.novelty("ROMEO: what light through yonder window breaks")
    # {'ngram_overlap': 0.8, 'longest_copy': 31, 'longest_copy_span': '...',
    #  'markovify_reject': True, 'nearest_passage': '...', 'nearest_similarity': 0.62}

Each part of the index (suffix array, n-gram set, TF-IDF) is built the first time a
metric needs it, so asking for one metric never pays for the others.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

#: markovify's defaults for refusing a sentence that copies its corpus.
MARKOVIFY_MAX_OVERLAP_RATIO = 0.7
MARKOVIFY_MAX_OVERLAP_TOTAL = 15


def words(text: str) -> list[str]:
    """Whitespace-separated words, as markovify splits a sentence."""
    return text.split()


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Consecutive ``n``-grams of a token list (none if it is shorter than ``n``)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct-n: unique word n-grams over all word n-grams of the samples (0.0 if none)."""
    grams = [g for text in texts for g in ngrams(words(text), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(texts: Sequence[str], n: int = 4) -> float:
    """Share of word n-grams that repeat an earlier n-gram of the same sample, pooled (0.0 if none).

    High values flag the loops low temperatures fall into ("the king, the king, ...").
    """
    total = repeated = 0
    for text in texts:
        grams = ngrams(words(text), n)
        total += len(grams)
        repeated += len(grams) - len(set(grams))
    return repeated / total if total else 0.0


def bleu(hypothesis: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4,
         epsilon: float = 0.1) -> float:
    """Sentence BLEU with uniform weights up to ``max_n``, as nltk's ``sentence_bleu`` computes it
    with smoothing method 1 (a zero n-gram match count becomes ``epsilon``).

    Clipped n-gram precisions, geometric mean, brevity penalty against the closest
    reference length. 0.0 when the hypothesis is empty or shares no word with the references.
    """
    if not hypothesis or not references:
        return 0.0
    log_sum = 0.0
    for n in range(1, max_n + 1):
        counts = Counter(ngrams(hypothesis, n))
        most: Counter[tuple[str, ...]] = Counter()
        for ref in references:
            for gram, c in Counter(ngrams(ref, n)).items():
                most[gram] = max(most[gram], c)
        matches = sum(min(c, most[gram]) for gram, c in counts.items())
        if n == 1 and matches == 0:
            return 0.0
        log_sum += math.log((matches or epsilon) / max(1, sum(counts.values()))) / max_n
    c = len(hypothesis)
    r = min((abs(len(ref) - c), len(ref)) for ref in references)[1]
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return brevity * math.exp(log_sum)


def self_bleu(texts: Sequence[str], max_n: int = 4) -> float:
    """Mean BLEU of each sample (words) against all the others: 1.0 means the samples are alike."""
    if len(texts) < 2:
        raise ValueError(f"self_bleu needs at least 2 texts, got {len(texts)}")
    tokenised = [words(t) for t in texts]
    scores = [bleu(h, tokenised[:i] + tokenised[i + 1 :], max_n) for i, h in enumerate(tokenised)]
    return sum(scores) / len(scores)


def suffix_array(text: str) -> np.ndarray:
    """Start positions of ``text``'s suffixes in the order Python compares strings (code points).

    Prefix doubling with numpy sorts: O(n log^2 n), about a second for a megabyte on one core.
    """
    n = len(text)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    rank = np.unique(codes, return_inverse=True)[1].astype(np.int64) + 1  # 0 = past the end
    k = 1
    while True:
        second = np.zeros(n, dtype=np.int64)
        second[: max(0, n - k)] = rank[k:]
        key = rank * (n + 1) + second  # sort by (rank, second) in one argsort
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        changed = np.empty(n, dtype=bool)
        changed[0] = True
        changed[1:] = ordered[1:] != ordered[:-1]
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.cumsum(changed)
        if rank[order[-1]] == n or k >= n:
            return order
        k *= 2


def passages(text: str, max_chars: int = 500) -> list[str]:
    """Training passages for nearest-neighbour search: runs of whole lines of at most ``max_chars``
    (a longer line is cut into windows), ending at a blank line once they hold a quarter of that,
    so a speech or paragraph is one passage and a lone heading does not become one."""
    out: list[str] = []
    chunk = ""
    for line in text.splitlines(keepends=True):
        for start in range(0, max(len(line), 1), max_chars):
            piece = line[start : start + max_chars]
            blank = not piece.strip()
            if chunk and (len(chunk) + len(piece) > max_chars or (blank and len(chunk) >= max_chars // 4)):
                out.append(chunk.strip())
                chunk = ""
            if chunk or not blank:
                chunk += piece
    if chunk.strip():
        out.append(chunk.strip())
    return out


class TrainingIndex:
    """Answers "how much of this sample is copied from the training text?".

    * `ngram_overlap`: share of the sample's word n-grams (``n`` words, default 4) that
      occur in the training text;
    * `longest_copy`: the longest character span of the sample found verbatim in training
      (a suffix array answers each "does this occur?" in O(log n));
    * `markovify_reject`: whether markovify's overlap rule (``max_overlap_ratio`` 0.7,
      ``max_overlap_total`` 15, on words) would refuse the sample taken as one sentence;
    * `nearest_passage`: the most similar training passage by cosine similarity of
      character 3-gram TF-IDF vectors (scikit-learn nearest neighbours).
    """

    def __init__(self, text: str, *, n: int = 4, passage_chars: int = 500) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.text, self.n, self.passage_chars = text, n, passage_chars

    @classmethod
    def build(cls, train_text: str, *, n: int = 4, passage_chars: int = 500) -> TrainingIndex:
        """An index over ``train_text``; parts are built lazily, on first use."""
        return cls(train_text, n=n, passage_chars=passage_chars)

    @cached_property
    def _suffixes(self) -> np.ndarray:
        return suffix_array(self.text)

    @cached_property
    def _ngrams(self) -> set[tuple[str, ...]]:
        return set(ngrams(words(self.text), self.n))

    @cached_property
    def _rejoined(self) -> str:
        return " ".join(words(self.text))  # markovify's rejoined_text: words joined by one space

    @cached_property
    def _passages(self) -> tuple[list[str], Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.neighbors import NearestNeighbors

        found = passages(self.text, self.passage_chars) or [self.text]
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), sublinear_tf=True, dtype=np.float32)
        neighbours = NearestNeighbors(n_neighbors=1, metric="cosine", algorithm="brute")
        neighbours.fit(vectorizer.fit_transform(found))
        return found, vectorizer, neighbours

    def occurs(self, piece: str) -> bool:
        """Whether ``piece`` occurs verbatim in the training text."""
        sa, text, size = self._suffixes, self.text, len(piece)
        i = bisect_left(sa, piece, key=lambda p: text[p : p + size])
        return i < len(sa) and text[sa[i] : sa[i] + size] == piece

    def ngram_overlap(self, text: str) -> float | None:
        """Share of the sample's word n-grams found in training; None if it has fewer than n words."""
        grams = ngrams(words(text), self.n)
        if not grams:
            return None
        known = self._ngrams
        return sum(g in known for g in grams) / len(grams)

    def longest_copy(self, text: str) -> tuple[int, str]:
        """Length and text of the longest span of ``text`` that occurs verbatim in training.

        Slides a window that grows while it occurs and shrinks from the left when it does
        not: at most 2 * len(text) look-ups, since any piece of a copied span is copied too.
        """
        best, at, start = 0, 0, 0
        for end in range(1, len(text) + 1):
            while start < end and not self.occurs(text[start:end]):
                start += 1
            if end - start > best:
                best, at = end - start, start
        return best, text[at : at + best]

    def markovify_reject(self, text: str, max_overlap_ratio: float = MARKOVIFY_MAX_OVERLAP_RATIO,
                         max_overlap_total: int = MARKOVIFY_MAX_OVERLAP_TOTAL) -> bool:
        """Whether markovify's ``test_sentence_output`` would refuse ``text`` as one sentence:
        some run of min(max_overlap_total, round(ratio * words)) + 1 words occurs in the
        training words joined by single spaces. An empty text copies nothing: False."""
        tokens = words(text)
        if not tokens:
            return False
        overlap_max = min(max_overlap_total, round(max_overlap_ratio * len(tokens)))
        span = overlap_max + 1
        rejoined = self._rejoined
        return any(" ".join(tokens[i : i + span]) in rejoined for i in range(max(len(tokens) - overlap_max, 1)))

    def nearest_passages(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """For each text, the most similar training passage and its cosine similarity (0 to 1)."""
        if not texts:
            return []
        found, vectorizer, neighbours = self._passages
        distances, indices = neighbours.kneighbors(vectorizer.transform(list(texts)))
        pairs = zip(distances[:, 0], indices[:, 0], strict=True)
        return [(found[int(i)], float(np.clip(1.0 - d, 0.0, 1.0))) for d, i in pairs]

    def nearest_passage(self, text: str) -> tuple[str, float]:
        """The most similar training passage to ``text`` and its cosine similarity."""
        return self.nearest_passages([text])[0]

    def novelties(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """`novelty` of many texts, with one batched nearest-neighbour query."""
        out = []
        for text, (passage, similarity) in zip(texts, self.nearest_passages(texts), strict=True):
            length, span = self.longest_copy(text)
            out.append({"ngram_overlap": self.ngram_overlap(text), "longest_copy": length,
                        "longest_copy_span": span, "markovify_reject": self.markovify_reject(text),
                        "nearest_passage": passage, "nearest_similarity": similarity})
        return out

    def novelty(self, text: str) -> dict[str, Any]:
        """Every novelty measure of one sample: ``ngram_overlap`` (float or None), ``longest_copy``
        (chars), ``longest_copy_span``, ``markovify_reject``, ``nearest_passage``, ``nearest_similarity``."""
        return self.novelties([text])[0]
