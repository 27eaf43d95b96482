"""The one sampling layer every generator goes through: scores in, token ids out.

Sampling is a list of small processors applied in the order Hugging Face transformers
applies them (repetition penalty, no-repeat-n-gram, then temperature, top-k, top-p,
min-p, typical-p), then one draw from a seeded numpy RNG. It works on whole batches:

* dense logits, an array ``(batch, vocab)`` from a neural network;
* `Candidates`, padded follower lists ``(batch, k)`` of token ids and scores, from a
  Markov chain. `Candidates.from_counts` stores ``log(count)``, so temperature T gives
  ``count ** (1/T)`` with no special case.

numpy only: the core never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from .errors import PluginError
from .options import Options, parse_options


class SamplingOptions(Options):
    """How to turn a model's scores into a token. Defaults sample the model as it is."""

    temperature: float = Field(
        1.0, ge=0, allow_inf_nan=False,
        description="Divide logits by T (a chain's counts become counts^(1/T)); 0 means greedy.",
    )
    top_k: int = Field(0, ge=0, description="Keep only the k most likely tokens; 0 turns it off.")
    top_p: float = Field(
        1.0, gt=0, le=1, allow_inf_nan=False,
        description="Nucleus: keep the smallest set of likeliest tokens whose mass is at least p.",
    )
    min_p: float = Field(
        0.0, ge=0, le=1, allow_inf_nan=False,
        description="Drop tokens less likely than min_p times the likeliest one; 0 turns it off.",
    )
    typical_p: float = Field(
        1.0, gt=0, le=1, allow_inf_nan=False,
        description="Locally typical sampling: keep this much mass nearest the entropy; 1 is off.",
    )
    repetition_penalty: float = Field(
        1.0, gt=0, allow_inf_nan=False,
        description="Penalise tokens already in the text (CTRL's rule); 1 turns it off.",
    )
    no_repeat_ngram_size: int = Field(
        0, ge=0, description="Never produce an n-gram of this size twice; 0 turns it off."
    )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def sampling_options(options: SamplingOptions | None = None, **values: object) -> SamplingOptions:
    """Build options from keyword values; a bad value raises a ValueError naming it."""
    if options is not None:
        values = {**options.model_dump(), **values}
    return parse_options(SamplingOptions, values, "sampling option")


@dataclass(frozen=True)
class Candidates:
    """Sparse scores: row b may produce ``ids[b, j]`` with score ``logits[b, j]``.

    Rows are padded with id -1 and score -inf. Used by generators whose next-token
    choices are a short follower list rather than the whole vocabulary.
    """

    ids: np.ndarray
    logits: np.ndarray

    @classmethod
    def from_counts(cls, rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> Candidates:
        """Pad per-row ``(ids, counts)`` pairs; scores are ``log(count)``."""
        width = max((len(ids) for ids, _ in rows), default=0) or 1
        ids = np.full((len(rows), width), -1, dtype=np.int64)
        logits = np.full((len(rows), width), -np.inf)
        for b, (row_ids, counts) in enumerate(rows):
            ids[b, : len(row_ids)] = row_ids
            with np.errstate(divide="ignore"):
                logits[b, : len(row_ids)] = np.log(np.asarray(counts, dtype=np.float64))
        return cls(ids, logits)


Scores = np.ndarray | Candidates


class NonFiniteScoresError(PluginError):
    """A plugin returned NaN or +inf scores, or a row with no possible token."""


def check_scores(scores: Scores, plugin: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Split scores into float64 logits and ids, refusing NaN, +inf and empty rows."""
    if isinstance(scores, Candidates):
        logits, ids = np.array(scores.logits, dtype=np.float64), scores.ids
    else:
        logits, ids = np.array(scores, dtype=np.float64), None
    if logits.ndim != 2:
        raise NonFiniteScoresError(f"plugin {plugin!r} returned scores of shape {logits.shape}, not (batch, vocab)")
    if not np.isfinite(logits.max(axis=1)).all():  # one pass: NaN and +inf make the row maximum non-finite too
        if np.isnan(logits).any() or np.isposinf(logits).any():
            raise NonFiniteScoresError(f"plugin {plugin!r} returned NaN or infinite logits")
        raise NonFiniteScoresError(f"plugin {plugin!r} returned a row in which no token is possible")
    return logits, ids


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax that tolerates -inf entries (they get probability 0)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def _token_ids(logits: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
    return ids if ids is not None else np.broadcast_to(np.arange(logits.shape[1]), logits.shape)


# --- processors: each takes and returns (batch, k) float64 logits -------------------


def repetition_penalty(logits: np.ndarray, ids: np.ndarray | None, histories: Sequence[Sequence[int]],
                       penalty: float) -> np.ndarray:
    """CTRL's rule as in transformers: divide positive, multiply negative scores of seen tokens."""
    token_ids = _token_ids(logits, ids)
    for b, history in enumerate(histories):
        if not len(history):
            continue
        seen = np.isin(token_ids[b], np.fromiter(set(history), dtype=np.int64))
        row = logits[b]
        row[seen] = np.where(row[seen] < 0, row[seen] * penalty, row[seen] / penalty)
    return logits


class NgramMemory:
    """Per-row table of n-gram prefix -> next tokens, grown incrementally as text grows."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tables: dict[int, dict[tuple[int, ...], set[int]]] = {}
        self.seen: dict[int, int] = {}

    def banned(self, row: int, history: Sequence[int]) -> set[int]:
        n = self.size
        table = self.tables.setdefault(row, {})
        start = self.seen.get(row, 0)
        if len(history) < start:  # history was rewound: rebuild
            table.clear()
            start = 0
        for i in range(start, len(history) - n + 1):
            table.setdefault(tuple(history[i : i + n - 1]), set()).add(history[i + n - 1])
        self.seen[row] = max(start, len(history) - n + 1)
        if len(history) < n - 1:
            return set()
        return table.get(tuple(history[len(history) - n + 1 :]), set())


def no_repeat_ngram(logits: np.ndarray, ids: np.ndarray | None, histories: Sequence[Sequence[int]],
                    memory: NgramMemory) -> np.ndarray:
    """Forbid any token that would complete an n-gram already in the text."""
    token_ids = _token_ids(logits, ids)
    for b, history in enumerate(histories):
        banned = memory.banned(b, history)
        if banned:
            logits[b, np.isin(token_ids[b], np.fromiter(banned, dtype=np.int64))] = -np.inf
    return logits


def temperature(logits: np.ndarray, t: float) -> np.ndarray:
    """Sharpen (T < 1) or flatten (T > 1) the distribution."""
    return logits / t


def top_k(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep the k highest scores per row (ties at the k-th score are kept, as in transformers)."""
    width = logits.shape[1]
    if k >= width:
        return logits
    kth = np.partition(logits, width - k, axis=1)[:, width - k : width - k + 1]
    logits[logits < kth] = -np.inf
    return logits


def top_p(logits: np.ndarray, p: float) -> np.ndarray:
    """Keep the smallest set of likeliest tokens whose probability mass reaches p."""
    width = logits.shape[1]
    alive = int(np.isfinite(logits).sum(axis=1).max())
    if alive < width // 4:  # after top-k: sort only each row's candidates, kept in id order for equal ties
        columns = np.sort(np.argpartition(logits, width - alive, axis=1)[:, width - alive :], axis=1)
        np.put_along_axis(logits, columns, _top_p(np.take_along_axis(logits, columns, axis=1), p), axis=1)
        return logits
    return _top_p(logits, p)


def _top_p(logits: np.ndarray, p: float) -> np.ndarray:
    order = np.argsort(-logits, axis=1, kind="stable")
    probs = np.take_along_axis(softmax(logits), order, axis=1)
    mass_before = np.cumsum(probs, axis=1) - probs
    remove = mass_before >= p
    remove[:, 0] = False
    np.put_along_axis(logits, order, np.where(remove, -np.inf, np.take_along_axis(logits, order, axis=1)), axis=1)
    return logits


def min_p(logits: np.ndarray, p: float) -> np.ndarray:
    """Drop tokens whose probability is below p times the row's largest probability."""
    probs = softmax(logits)
    logits[probs < p * probs.max(axis=1, keepdims=True)] = -np.inf
    return logits


def typical_p(logits: np.ndarray, mass: float) -> np.ndarray:
    """Locally typical sampling (Meister et al.), following transformers' TypicalLogitsWarper."""
    probs = softmax(logits)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_probs = np.log(probs)
        entropy = -np.nansum(np.where(probs > 0, log_probs * probs, 0.0), axis=1, keepdims=True)
        shifted = np.abs(-log_probs - entropy)
    order = np.argsort(shifted, axis=1, kind="stable")
    sorted_shifted = np.take_along_axis(shifted, order, axis=1)
    cumulative = np.cumsum(np.take_along_axis(probs, order, axis=1), axis=1)
    last = np.minimum((cumulative < mass).sum(axis=1), logits.shape[1] - 1)
    remove = sorted_shifted > np.take_along_axis(sorted_shifted, last[:, None], axis=1)
    remove[:, 0] = False
    np.put_along_axis(logits, order, np.where(remove, -np.inf, np.take_along_axis(logits, order, axis=1)), axis=1)
    return logits


def process(logits: np.ndarray, ids: np.ndarray | None, histories: Sequence[Sequence[int]],
            options: SamplingOptions, memory: NgramMemory | None = None) -> np.ndarray:
    """Apply every enabled processor in transformers' order; returns processed logits.

    With temperature 0 only the processors that can change the argmax run.
    """
    o = options
    if o.repetition_penalty != 1.0:
        logits = repetition_penalty(logits, ids, histories, o.repetition_penalty)
    if o.no_repeat_ngram_size:
        before = logits.copy()
        logits = no_repeat_ngram(logits, ids, histories, memory or NgramMemory(o.no_repeat_ngram_size))
        empty = ~np.isfinite(logits.max(axis=1))
        if empty.any():  # every follower was banned: the ban cannot be honoured, so ignore it for that row
            logits[empty] = before[empty]
    if o.greedy:
        return logits
    if o.temperature != 1.0:
        logits = temperature(logits, o.temperature)
    if o.top_k:
        logits = top_k(logits, o.top_k)
    if o.top_p < 1.0:
        logits = top_p(logits, o.top_p)
    if o.min_p > 0.0:
        logits = min_p(logits, o.min_p)
    if o.typical_p < 1.0:
        logits = typical_p(logits, o.typical_p)
    return logits


def choose(logits: np.ndarray, ids: np.ndarray | None, rng: np.random.Generator, greedy: bool) -> np.ndarray:
    """Draw one token per row from processed logits (argmax when greedy)."""
    if greedy:
        index = logits.argmax(axis=1)
    else:
        cumulative = np.cumsum(softmax(logits), axis=1)
        targets = rng.random(len(logits)) * cumulative[:, -1]
        index = np.minimum((cumulative <= targets[:, None]).sum(axis=1), logits.shape[1] - 1)
    if ids is None:
        return index.astype(np.int64)
    return ids[np.arange(len(index)), index]


class Sampler:
    """Sampling state for one generation call: options, a seeded RNG, n-gram memory.

    The same seed, options and scores give the same tokens in any process: the RNG is
    numpy's PCG64 seeded from the call's own seed, never global state.
    """

    def __init__(self, options: SamplingOptions, seed: int, plugin: str = "?") -> None:
        self.options = options
        self.rng = np.random.default_rng(seed)
        self.plugin = plugin
        self.memory = NgramMemory(options.no_repeat_ngram_size) if options.no_repeat_ngram_size else None

    def __call__(self, scores: Scores, histories: Sequence[Sequence[int]],
                 suppress: Sequence[int] = ()) -> np.ndarray:
        logits, ids = check_scores(scores, self.plugin)
        if suppress:
            if ids is None:
                logits[:, [i for i in suppress if 0 <= i < logits.shape[1]]] = -np.inf
            else:
                logits[np.isin(ids, suppress)] = -np.inf
            if not np.isfinite(logits.max(axis=1)).all():
                raise NonFiniteScoresError(f"plugin {self.plugin!r} can only produce suppressed tokens")
        logits = process(logits, ids, histories, self.options, self.memory)
        return choose(logits, ids, self.rng, self.options.greedy)


def distribution(scores: Scores, options: SamplingOptions, history: Sequence[int] = (),
                 plugin: str = "?") -> tuple[np.ndarray, np.ndarray]:
    """The next-token distribution of one row after processing: (token ids, probabilities).

    This is what the sampler draws from; the dashboard charts it before and after options.
    """
    logits, ids = check_scores(scores, plugin)
    logits = process(logits[:1], None if ids is None else ids[:1], [list(history)], options)
    if options.greedy:
        probs = np.zeros_like(logits[0])
        probs[logits[0].argmax()] = 1.0
    else:
        probs = softmax(logits)[0]
    return _token_ids(logits, None if ids is None else ids[:1])[0], probs
