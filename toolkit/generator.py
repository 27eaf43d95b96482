"""The one generator interface, and what the core builds on it for every plugin.

A plugin implements a handful of small methods: train (or load a pretrained source),
save and load its files, encode and decode text, and give next-token scores step by
step (`begin` consumes the prompt once, `advance` feeds the sampled tokens and carries
the state, so each new token costs O(1)). The core implements, once for all of them:

* `Generator.complete` / `generate`: n samples as one batch, max tokens or characters,
  stop strings, seed (the run loop lives in `toolkit.generation`);
* `Generator.stream`: text pieces as they are produced, the same text `generate` returns;
* `Generator.score`: bits per character of a text, the measure that compares
  character, word and BPE models fairly;
* `Generator.surprisal`: the same code length character by character, where each model is
  surprised (`score` adds up and `surprisal` spreads the same `Charges`, so they agree);
* `Generator.save` / `toolkit.load`: an atomic model directory with a manifest.
"""

from __future__ import annotations

import math
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import atomic, modeldir
from ._compat import adapt_old_hooks, moved_names
from .data.corpora import Corpus
from .errors import PluginError
from .generation.processors import Processor, SuppressTokens
from .generation.run import Run
from .generation.sampling import Sampler, SamplingOptions, Scores, sampling_options
from .generation.stopping import Criterion, MaxChars, MaxTokens, StopStrings
from .options import Options, check_seed


class UnknownTokensWarning(UserWarning):
    """A prompt or text holds characters or words outside the model's vocabulary."""


@dataclass
class Completion:
    """Samples of one `Generator.complete` call, with the timing the compare command reports."""

    texts: list[str]
    tokens: list[list[int]]
    prompt: str
    seconds: float
    first_token_seconds: float
    rejected_segments: int = 0

    @property
    def num_tokens(self) -> int:
        return sum(len(t) for t in self.tokens)

    @property
    def tokens_per_second(self) -> float:
        return self.num_tokens / self.seconds if self.seconds > 0 else math.inf

    @property
    def chars_per_second(self) -> float:
        return sum(len(t) for t in self.texts) / self.seconds if self.seconds > 0 else math.inf

    def to_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "samples": self.texts, "num_tokens": self.num_tokens,
                "seconds": self.seconds, "first_token_seconds": self.first_token_seconds,
                "tokens_per_second": self.tokens_per_second, "chars_per_second": self.chars_per_second}


@dataclass
class Score:
    """Log-likelihood of a text. ``bpc`` is bits per character: exact and tokenisation-free."""

    nats: float
    chars: int
    tokens: int
    unknown: list[str] = field(default_factory=list)

    @property
    def bpc(self) -> float:
        return self.nats / math.log(2) / self.chars

    @property
    def nats_per_char(self) -> float:
        return self.nats / self.chars

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "bpc": self.bpc, "nats_per_char": self.nats_per_char}


@dataclass
class Charges:
    """A text's code length piece by piece: ``nats[i]`` is paid for the characters ``starts[i]:ends[i]``.

    A piece is a model token (its negative log-probability), an unknown piece's spelling,
    or anything else a model charges (a Markov word chain's whitespace runs). `score` adds
    the pieces up and `surprisal` spreads each over its characters, so the two cannot
    disagree. ``tokens`` is how many model tokens were scored.
    """

    nats: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    tokens: int = 0

    @classmethod
    def tiling(cls, nats: np.ndarray, ends: np.ndarray) -> Charges:
        """One piece per token, each from the previous token's end to its own (the first from 0)."""
        ends = np.maximum.accumulate(np.asarray(ends, dtype=np.int64)) if len(ends) else np.zeros(0, np.int64)
        return cls(np.asarray(nats, dtype=np.float64), np.r_[0, ends[:-1]].astype(np.int64), ends, len(ends))

    @classmethod
    def spans(cls, spans: Sequence[tuple[int, int, float]]) -> Charges:
        """Pieces given as ``(start, end, nats)``, such as a tokenizer's unknown spellings."""
        table = np.array(spans, dtype=np.float64).reshape(-1, 3)
        return cls(table[:, 2], table[:, 0].astype(np.int64), table[:, 1].astype(np.int64))

    def join(self, other: Charges) -> Charges:
        return Charges(np.concatenate([self.nats, other.nats]), np.concatenate([self.starts, other.starts]),
                       np.concatenate([self.ends, other.ends]), self.tokens + other.tokens)

    @property
    def total(self) -> float:
        return math.fsum(self.nats.tolist())

    def bits(self, length: int) -> np.ndarray:
        """Bits on each of ``length`` characters: a piece's bits spread evenly over its characters.

        An empty piece (a sentence end between two words) is paid by the character before
        it, or by the first character at the very start.
        """
        starts = np.clip(self.starts, 0, length)
        ends = np.clip(self.ends, starts, length)
        empty = ends == starts
        starts = np.where(empty, np.maximum(starts - 1, 0), starts)
        ends = np.where(empty, starts + 1, ends)
        widths = ends - starts
        first = np.cumsum(widths) - widths  # where each piece's characters begin in the flat index
        index = np.repeat(starts - first, widths) + np.arange(int(widths.sum()))
        weights = np.repeat(self.nats / np.maximum(widths, 1), widths)
        return np.bincount(index, weights=weights, minlength=length)[:length] / math.log(2)


@dataclass
class Surprisal:
    """Bits for each character of ``text`` under a model: where it is surprised.

    ``bits`` sums to ``score.nats / ln 2`` (float rounding apart). A word or BPE token's
    bits are spread evenly over its characters; a sentence end's over the character
    before it; an unknown piece is charged its spelling, as `Generator.score` charges it.
    """

    text: str
    bits: list[float]
    score: Score

    @property
    def total_bits(self) -> float:
        return math.fsum(self.bits)

    @property
    def bpc(self) -> float:
        """The model's bits per character on the text: exactly ``score.bpc``."""
        return self.score.bpc

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "bits": self.bits, "total_bits": self.total_bits, "bpc": self.bpc,
                "score": self.score.to_json()}


@dataclass(frozen=True)
class DemoRecipe:
    """One model ``textgen demo`` trains with a plugin (`Generator.demo_recipes`).

    ``label`` is the model's folder and row name; ``timed`` puts it under the demo's neural
    training budget (``max_seconds`` or ``max_flops``). The demo fills in ``plugin`` with the
    name the plugin is registered under.
    """

    label: str
    plugin: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    timed: bool = False


class Generator(ABC):
    """What every plugin implements. Subclass it and register it under ``textgen.generators``."""

    #: The plugin's name: the entry point's name in ``textgen.generators``.
    name: ClassVar[str] = ""
    #: Training and model options, shown by ``textgen options PLUGIN`` and the dashboard.
    Options: ClassVar[type[Options]] = Options
    #: Token ids never sampled, such as ``<unk>``.
    suppress_ids: Sequence[int] = ()
    #: The plugin API version the plugin needs, "MAJOR.MINOR" (`toolkit.PLUGIN_API_VERSION`); None: any.
    requires_api: ClassVar[str | None] = None
    #: Where ``textgen demo`` puts this plugin's recipes: lower first, ties by plugin name (`demo_recipes`).
    demo_order: ClassVar[int] = 100
    #: Whether `score` calls the first release's ``nats(text)`` (set by `toolkit._compat.adapt_old_hooks`).
    _old_nats: ClassVar[bool] = False

    def __init__(self) -> None:
        self.training: dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Keep a first-release plugin's renamed hooks working, with a DeprecationWarning (`toolkit._compat`)."""
        super().__init_subclass__(**kwargs)
        adapt_old_hooks(cls)

    def counting_cost(self) -> tuple[float, str]:
        """Operations per training token of a model built in one pass (no gradient training), and the formula.

        `toolkit.train` records such a model's build as one curve point at this cost
        (``training["compute"]``, kind "counting"), so it sits on the FLOPs axis beside the
        neural curves, stated as counting rather than training. A count model states its own.
        """
        return 1.0, "one count update per token (the default for a model built in one pass)"

    # -- what a plugin implements -----------------------------------------------------

    @classmethod
    @abstractmethod
    def train(cls, corpus: Corpus, options: Options, *, seed: int, out: Path | None = None) -> Generator:
        """Fit a new model on ``corpus.train``. ``out`` is where a long run may keep checkpoints."""

    @classmethod
    def from_pretrained(cls, source: str, *, device: str = "auto") -> Generator:
        """Load a pretrained source that is not a textgen model directory (a hub name, say)."""
        raise PluginError(f"plugin {cls.name!r} cannot load pretrained sources such as {source!r}")

    @classmethod
    def recognizes(cls, path: Path) -> bool:
        """Whether a directory with no textgen manifest is one this plugin can load (a HF model)."""
        return False

    @classmethod
    def demo_recipes(cls) -> Sequence[DemoRecipe]:
        """The models ``textgen demo`` trains with this plugin, in this order; none by default.

        The demo asks every installed plugin, so the core never names one.
        """
        return ()

    @classmethod
    def local_pretrained(cls) -> Path | None:
        """A pretrained model already on this machine that ``textgen demo`` adds (never downloaded).

        None (the default) when the plugin offers none; a plugin that could, but finds none here,
        raises LookupError with one line on how to add one.
        """
        return None

    @abstractmethod
    def save_files(self, folder: Path) -> dict[str, Any]:
        """Write the model's files into ``folder``; return what the manifest should record."""

    @classmethod
    @abstractmethod
    def load_files(cls, folder: Path, manifest: dict[str, Any], *, device: str = "auto") -> Generator:
        """Rebuild a model from ``save_files``'s output. Raise ValueError/OSError if it is corrupt."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; unknown pieces map to an unknown id, never to a real token."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids."""

    @abstractmethod
    def begin(self, prompt: list[int], n: int) -> tuple[Any, Scores]:
        """Consume the prompt once for a batch of ``n``; return the state and the first scores."""

    @abstractmethod
    def advance(self, state: Any, tokens: np.ndarray) -> tuple[Any, Scores]:
        """Feed one sampled token per row; return the carried state and the next scores."""

    # -- hooks with defaults ----------------------------------------------------------

    def begin_rows(self, histories: list[list[int]]) -> tuple[Any, Scores]:
        """Restart a batch whose rows have different histories (after a refused segment)."""
        if any(h != histories[0] for h in histories):
            raise NotImplementedError(f"plugin {self.name!r} cannot restart rows with different histories")
        return self.begin(histories[0], len(histories))

    def logits_processors(self) -> list[Processor]:
        """The plugin's own processors, run before the sampling options' (a vocabulary mask, say)."""
        return [SuppressTokens(self.suppress_ids)] if len(self.suppress_ids) else []

    def stopping_criteria(self) -> list[Criterion]:
        """The plugin's own criteria for every run (a `SegmentFilter`, say); fresh objects each call."""
        return []

    def unknowns(self, text: str) -> list[str]:
        """Pieces of ``text`` outside the vocabulary, to warn about."""
        return []

    def unknown_nats(self, text: str) -> float:
        """Extra code length (nats) for spelling out ``text``'s unknown pieces when scoring."""
        return 0.0

    def token_nats(self, ids: list[int]) -> np.ndarray:
        """Negative log-probability (nats) of each token of ``ids``, from an empty prompt on.

        This default steps through the tokens one at a time. Plugins override it with
        something faster (a whole-sequence forward pass, a sliding window).
        """
        state, scores = self.begin([], 1)
        out = np.empty(len(ids))
        for i, token in enumerate(ids):
            out[i] = -_log_prob(scores, token, self.name)
            if i + 1 < len(ids):
                state, scores = self.advance(state, np.array([token]))
        return out

    def token_ends(self, text: str, ids: list[int]) -> np.ndarray:
        """Where in ``text`` each of its tokens ``ids`` ends (token i starts where token i-1 ends).

        This default adds up each token's decoded length: right whenever a token decodes
        to its own text; `Tokenized` asks the tokenizer, which also knows unknown pieces.
        """
        return np.minimum(np.cumsum([len(self.decode([i])) for i in ids], dtype=np.int64), len(text))

    def unknown_charges(self, text: str) -> Charges:
        """Where `unknown_nats` is paid. This default puts it on the whole text; `Tokenized` on each piece."""
        nats = self.unknown_nats(text)
        return Charges.spans([(0, len(text), nats)] if nats else [])

    def charges(self, text: str) -> Charges:
        """The code length of ``text``, piece by piece: what `score` adds up and `surprisal` spreads.

        Built from `token_nats`, `token_ends` and `unknown_charges`; a plugin that charges
        more than its tokens (a Markov word chain's whitespace) overrides this instead.
        """
        ids = self.encode(text)
        return Charges.tiling(self.token_nats(ids), self.token_ends(text, ids)).join(self.unknown_charges(text))

    def info(self) -> dict[str, Any]:
        """Sizes for reports: parameters, or states and transitions for a chain."""
        return {}

    # -- built once on top of the interface -------------------------------------------

    def encode_prompt(self, prompt: str) -> list[int]:
        self._warn_unknown(self.unknowns(prompt), "the prompt", "treated as unknown", stacklevel=5)
        return self.encode(prompt)

    def _warn_unknown(self, unknown: list[str], what: str, how: str, *, stacklevel: int) -> None:
        """One `UnknownTokensWarning` naming the first few pieces; ``stacklevel`` points at the user's call."""
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            warnings.warn(f"{self.name}: {what} has {len(unknown)} piece(s) outside the vocabulary, "
                          f"{how}: {shown}", UnknownTokensWarning, stacklevel=stacklevel)

    def complete(self, prompt: str = "", *, max_tokens: int = 100, num_samples: int = 1, seed: int = 0,
                 stop: str | Sequence[str] = (), max_chars: int | None = None,
                 options: SamplingOptions | None = None, criteria: Sequence[Criterion] = (),
                 **sampling: Any) -> Completion:
        """Generate ``num_samples`` continuations of ``prompt`` as one batch.

        A row ends after ``max_tokens`` tokens, ``max_chars`` characters, before the
        first ``stop`` string, or when one of ``criteria`` says so.
        """
        started = time.perf_counter()
        run = self._run(prompt, max_tokens, num_samples, seed, stop, max_chars, options, criteria, sampling,
                        streaming=False)
        if run is None:
            return Completion(texts=[""] * num_samples, tokens=[[] for _ in range(num_samples)], prompt=prompt,
                              seconds=time.perf_counter() - started, first_token_seconds=0.0)
        for _ in run:
            pass
        outcome = run.outcome()
        return Completion(texts=outcome.texts, tokens=outcome.tokens, prompt=prompt,
                          seconds=time.perf_counter() - started, first_token_seconds=outcome.first_token_seconds,
                          rejected_segments=outcome.rejected_segments)

    def generate(self, prompt: str = "", **kwargs: Any) -> list[str]:
        """The texts of `complete`: continuations of the prompt, without the prompt."""
        return self.complete(prompt, **kwargs).texts

    def stream(self, prompt: str = "", *, max_tokens: int = 100, seed: int = 0,
               stop: str | Sequence[str] = (), max_chars: int | None = None,
               options: SamplingOptions | None = None, criteria: Sequence[Criterion] = (),
               **sampling: Any) -> Iterator[str]:
        """Yield text pieces as they are produced; joined, they equal ``generate(...)[0]``."""
        for pieces in self.stream_batch(prompt, max_tokens=max_tokens, seed=seed, stop=stop, max_chars=max_chars,
                                        options=options, criteria=criteria, **sampling):
            if pieces[0]:
                yield pieces[0]

    def stream_batch(self, prompt: str = "", *, max_tokens: int = 100, num_samples: int = 1, seed: int = 0,
                     stop: str | Sequence[str] = (), max_chars: int | None = None,
                     options: SamplingOptions | None = None, criteria: Sequence[Criterion] = (),
                     **sampling: Any) -> Iterator[list[str]]:
        """Stream ``num_samples`` samples as one batch: after each step, every sample's new piece ('' if none).

        Joined per sample, the pieces equal ``generate(..., num_samples=num_samples)``.
        """
        run = self._run(prompt, max_tokens, num_samples, seed, stop, max_chars, options, criteria, sampling,
                        streaming=True)
        yield from run or ()

    def _run(self, prompt: str, max_tokens: int, n: int, seed: int, stop: str | Sequence[str],
             max_chars: int | None, options: SamplingOptions | None, criteria: Sequence[Criterion],
             sampling: dict[str, Any], streaming: bool) -> Run | None:
        """Check the arguments and build the run; None when nothing is to be generated."""
        _check_text("prompt", prompt)
        _check_count("max_tokens", max_tokens, 0)
        _check_count("num_samples", n, 1)
        check_seed(seed)
        if max_chars is not None:
            _check_count("max_chars", max_chars, 0)
        stops = _stop_strings(stop)
        sampler = Sampler(sampling_options(options, **sampling), seed, self.name, self.logits_processors())
        prompt_ids = self.encode_prompt(prompt)
        if max_tokens == 0 or max_chars == 0:
            return None
        found: list[Criterion] = [MaxTokens(max_tokens), *self.stopping_criteria(), *criteria]
        if stops:
            found.append(StopStrings(stops))
        if max_chars is not None:
            found.append(MaxChars(max_chars))
        return Run(self, prompt_ids, n, sampler, found, streaming)

    def score(self, text: str) -> Score:
        """Bits per character of ``text`` under the model (temperature 1, no filtering)."""
        if self._old_nats:  # a first-release plugin's own whole-text nats(text), as that release scored
            nats, tokens = self.nats(_scorable(text))
            return self._score(text, float(nats), int(tokens), stacklevel=4)
        return self._charged(text)[1]

    def surprisal(self, text: str) -> Surprisal:
        """Bits for each character of ``text``: the code length `score` adds up, spread over the characters.

        Linear in the text's length: one scoring pass, as `score` makes. A token's bits are
        spread evenly over its characters (see `Charges.bits`).
        """
        charges, score = self._charged(text)
        return Surprisal(text=text, bits=charges.bits(len(text)).tolist(), score=score)

    def _charged(self, text: str) -> tuple[Charges, Score]:
        """The text's charges and their score, checked; warns once about unknown pieces."""
        charges = self.charges(_scorable(text))
        if not len(charges.nats) == len(charges.starts) == len(charges.ends):
            raise PluginError(f"plugin {self.name!r} gave {len(charges.nats)} charges but "
                              f"{len(charges.starts)} starts and {len(charges.ends)} ends")
        return charges, self._score(text, charges.total, charges.tokens, stacklevel=5)

    def _score(self, text: str, nats: float, tokens: int, *, stacklevel: int) -> Score:
        """The checked `Score` of ``text``; warns once about its unknown pieces, at the user's call."""
        if math.isnan(nats) or nats < 0:
            raise PluginError(f"plugin {self.name!r} scored {text[:20]!r}... as {nats} nats")
        unknown = self.unknowns(text)
        self._warn_unknown(unknown, "the scored text", "each charged as <unk> plus its spelling",
                           stacklevel=stacklevel)
        return Score(nats=nats, chars=len(text), tokens=tokens, unknown=unknown)

    def save(self, path: str | Path) -> Path:
        """Write the model directory atomically: its files plus a manifest naming the plugin (`toolkit.modeldir`)."""
        from .outpaths import check_model_out

        path = check_model_out(path, overwrite=True, flag="save path")  # a model, never the user's own files
        with atomic.directory(path) as tmp:
            extra = self.save_files(tmp)
            modeldir.write_manifest(tmp, self.name, type(self), self.training, extra)
        return path


class Tokenized:
    """Mixin for a generator whose text handling is one tokenizer object (``self.tokenizer``).

    List it before `Generator` (``class Mine(Tokenized, Generator)``) to get `encode`,
    `decode`, `unknowns`, `unknown_nats`, `token_ends` and `unknown_charges` from any object
    with the tokenizer methods of `toolkit.data.tokenize.Tokenizer` (``encode``, ``decode``,
    ``unknowns``, ``unknown_nats``, ``token_ends``, ``unknown_spans``), such as its
    `CharTokenizer`, instead of writing the same delegations again.
    """

    tokenizer: Any

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids)

    def unknowns(self, text: str) -> list[str]:
        return self.tokenizer.unknowns(text)

    def unknown_nats(self, text: str) -> float:
        return self.tokenizer.unknown_nats(text)

    def token_ends(self, text: str, ids: list[int]) -> np.ndarray:
        return self.tokenizer.token_ends(text)

    def unknown_charges(self, text: str) -> Charges:
        return Charges.spans(self.tokenizer.unknown_spans(text))


def _log_prob(scores: Scores, token: int, plugin: str) -> float:
    from .generation.sampling import check_scores

    logits, ids = check_scores(scores, plugin)
    row = logits[0]
    top = row.max()
    log_norm = top + math.log(np.exp(row - top).sum())
    if ids is None:
        return float(row[token] - log_norm)
    hit = np.flatnonzero(ids[0] == token)
    return float(row[hit[0]] - log_norm) if len(hit) else -math.inf


def _check_text(name: str, value: object) -> None:
    """Refuse a non-str text argument with a TypeError naming it (bytes too: decode them first)."""
    if not isinstance(value, str):
        hint = "; decode bytes first, e.g. value.decode('utf-8')" if isinstance(value, bytes | bytearray) else ""
        raise TypeError(f"{name} must be a str, got {type(value).__name__}{hint}")


def _scorable(text: str) -> str:
    """``text``, refused unless it is a non-empty str."""
    _check_text("text", text)
    if not text:
        raise ValueError("cannot score an empty text")
    return text


def _check_count(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number >= {least}, got {type(value).__name__} {value!r}")
    if value < least:
        raise ValueError(f"{name} must be a whole number >= {least}, got {value!r}")


def _stop_strings(stop: object) -> list[str]:
    """The stop strings of a ``stop`` argument: one str or a sequence of non-empty ones."""
    if isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, Sequence) and not isinstance(stop, bytes | bytearray):
        stops = list(stop)
    else:
        raise TypeError(f"stop must be a str or a list of str, got {type(stop).__name__}")
    for s in stops:
        if not isinstance(s, str):
            raise TypeError(f"stop must be a str or a list of str, got an item of type {type(s).__name__}")
        if not s:
            raise ValueError("stop strings must not be empty")
    return stops


#: The manifest's constants moved to `toolkit.modeldir`; their old names here still work, and warn.
__getattr__ = moved_names(__name__, {name: f"toolkit.modeldir:{name}"
                                     for name in ("MANIFEST", "MANIFEST_FORMAT", "MANIFEST_VERSION")})
