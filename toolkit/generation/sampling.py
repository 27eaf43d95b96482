"""The one sampling layer every generator goes through: scores in, token ids out.

Sampling is the ordered list of processors `SamplingOptions.processors` builds (see
`toolkit.generation.processors`: repetition penalty, no-repeat-n-gram, then temperature,
top-k, top-p, min-p, typical-p, as transformers applies them), then one draw from a
seeded numpy RNG. It works on whole batches:

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

from ..errors import PluginError
from ..options import Options, parse_options
from . import processors as proc
from .processors import Processor, softmax, token_ids


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

    def processors(self) -> list[Processor]:
        """The enabled processors, in transformers' order; fresh ones (they keep per-row memory).

        At temperature 0 the warpers after it cannot change the argmax, so greedy ends the list.
        """
        found: list[Processor] = []
        if self.repetition_penalty != 1.0:
            found.append(proc.RepetitionPenalty(self.repetition_penalty))
        if self.no_repeat_ngram_size:
            found.append(proc.NoRepeatNgram(self.no_repeat_ngram_size))
        if self.greedy:
            return [*found, proc.Greedy()]
        if self.temperature != 1.0:
            found.append(proc.Temperature(self.temperature))
        if self.top_k:
            found.append(proc.TopK(self.top_k))
        if self.top_p < 1.0:
            found.append(proc.TopP(self.top_p))
        if self.min_p > 0.0:
            found.append(proc.MinP(self.min_p))
        if self.typical_p < 1.0:
            found.append(proc.TypicalP(self.typical_p))
        return found


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


def process(logits: np.ndarray, ids: np.ndarray | None, histories: Sequence[Sequence[int]],
            options: SamplingOptions) -> np.ndarray:
    """Apply the options' processors in transformers' order; returns processed logits."""
    return proc.apply(options.processors(), logits, ids, histories)


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
    """Sampling state for one generation call: the processor list and a seeded RNG.

    The same seed, options and scores give the same tokens in any process: the RNG is
    numpy's PCG64 seeded from the call's own seed, never global state. ``processors``
    (a plugin's own, such as a vocabulary mask) run before the options' list.
    """

    def __init__(self, options: SamplingOptions, seed: int, plugin: str = "?",
                 processors: Sequence[Processor] = ()) -> None:
        self.options = options
        self.rng = np.random.default_rng(seed)
        self.plugin = plugin
        self.processors = [*processors, *options.processors()]
        self.masks = bool(processors)  # only a plugin's own processors can leave a row with no token

    def __call__(self, scores: Scores, histories: Sequence[Sequence[int]]) -> np.ndarray:
        logits, ids = check_scores(scores, self.plugin)
        logits = proc.apply(self.processors, logits, ids, histories)
        if self.masks and not np.isfinite(logits.max(axis=1)).all():
            raise NonFiniteScoresError(f"plugin {self.plugin!r} left no possible token after its own "
                                       "processors (it can only produce suppressed tokens)")
        return choose(logits, ids, self.rng, self.options.greedy)


def distribution(scores: Scores, options: SamplingOptions | Sequence[Processor], history: Sequence[int] = (),
                 plugin: str = "?") -> tuple[np.ndarray, np.ndarray]:
    """The next-token distribution of one row after processing: (token ids, probabilities).

    This is what the sampler draws from; the dashboard charts it after each processor.
    ``options`` is a `SamplingOptions` or a processor list (a prefix of one, say).
    """
    logits, ids = check_scores(scores, plugin)
    row_ids = None if ids is None else ids[:1]
    processors = options.processors() if isinstance(options, SamplingOptions) else options
    logits = proc.apply(processors, logits[:1], row_ids, [list(history)])
    return token_ids(logits, row_ids)[0], softmax(logits)[0]
