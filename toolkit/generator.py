"""The one generator interface, and what the core builds on it for every plugin.

A plugin implements a handful of small methods: train (or load a pretrained source),
save and load its files, encode and decode text, and give next-token scores step by
step (`begin` consumes the prompt once, `advance` feeds the sampled tokens and carries
the state, so each new token costs O(1)). The core implements, once for all of them:

* `Generator.complete` / `generate`: n samples as one batch, max tokens, stop strings, seed;
* `Generator.stream`: text pieces as they are produced, the same text `generate` returns;
* `Generator.score`: bits per character of a text, the measure that compares
  character, word and BPE models fairly;
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

from . import atomic
from .corpora import Corpus
from .errors import PluginError
from .options import Options, check_seed
from .sampling import Sampler, SamplingOptions, Scores, sampling_options

#: File that marks a directory as a textgen model and names its plugin.
MANIFEST = "textgen.json"
MANIFEST_FORMAT = "textgen-model"
MANIFEST_VERSION = 1


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


class Generator(ABC):
    """What every plugin implements. Subclass it and register it under ``textgen.generators``."""

    #: The plugin's name: the entry point's name in ``textgen.generators``.
    name: ClassVar[str] = ""
    #: Training and model options, shown by ``textgen options PLUGIN`` and the dashboard.
    Options: ClassVar[type[Options]] = Options
    #: Token ids never sampled, such as ``<unk>``.
    suppress_ids: Sequence[int] = ()
    #: Token ids that end a segment `reject_segment` may refuse (a Markov chain's sentence end).
    segment_end_ids: frozenset[int] = frozenset()
    #: How often a refused segment is redrawn before it is kept anyway.
    max_segment_tries: int = 10

    def __init__(self) -> None:
        self.training: dict[str, Any] = {}

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

    def reject_segment(self, tokens: list[int]) -> bool:
        """Whether a finished segment (a sentence) must be redrawn, e.g. because it copies the corpus."""
        return False

    def unknowns(self, text: str) -> list[str]:
        """Pieces of ``text`` outside the vocabulary, to warn about."""
        return []

    def unknown_nats(self, text: str) -> float:
        """Extra code length (nats) for spelling out ``text``'s unknown pieces when scoring."""
        return 0.0

    def nats(self, text: str) -> tuple[float, int]:
        """Negative log-likelihood of ``text`` in nats, and its token count.

        This default steps through the text one token at a time. Plugins override it
        with something faster (a whole-sequence forward pass, a sliding window).
        """
        ids = self.encode(text)
        state, scores = self.begin([], 1)
        total = 0.0
        for i, token in enumerate(ids):
            total -= _log_prob(scores, token, self.name)
            if i + 1 < len(ids):
                state, scores = self.advance(state, np.array([token]))
        return total + self.unknown_nats(text), len(ids)

    def info(self) -> dict[str, Any]:
        """Sizes for reports: parameters, or states and transitions for a chain."""
        return {}

    # -- built once on top of the interface -------------------------------------------

    def encode_prompt(self, prompt: str) -> list[int]:
        unknown = self.unknowns(prompt)
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            warnings.warn(f"{self.name}: the prompt has {len(unknown)} piece(s) outside the vocabulary, "
                          f"treated as unknown: {shown}", UnknownTokensWarning, stacklevel=3)
        return self.encode(prompt)

    def complete(self, prompt: str = "", *, max_tokens: int = 100, num_samples: int = 1, seed: int = 0,
                 stop: str | Sequence[str] = (), options: SamplingOptions | None = None,
                 **sampling: Any) -> Completion:
        """Generate ``num_samples`` continuations of ``prompt`` as one batch."""
        run = _Run(self, prompt, max_tokens, num_samples, seed, stop, sampling_options(options, **sampling),
                   streaming=False)
        for _ in run:
            pass
        return run.result()

    def generate(self, prompt: str = "", **kwargs: Any) -> list[str]:
        """The texts of `complete`: continuations of the prompt, without the prompt."""
        return self.complete(prompt, **kwargs).texts

    def stream(self, prompt: str = "", *, max_tokens: int = 100, seed: int = 0,
               stop: str | Sequence[str] = (), options: SamplingOptions | None = None,
               **sampling: Any) -> Iterator[str]:
        """Yield text pieces as they are produced; joined, they equal ``generate(...)[0]``."""
        run = _Run(self, prompt, max_tokens, 1, seed, stop, sampling_options(options, **sampling),
                   streaming=True)
        for pieces in run:
            if pieces[0]:
                yield pieces[0]

    def score(self, text: str) -> Score:
        """Bits per character of ``text`` under the model (temperature 1, no filtering)."""
        if not text:
            raise ValueError("cannot score an empty text")
        nats, tokens = self.nats(text)
        if math.isnan(nats) or nats < 0:
            raise PluginError(f"plugin {self.name!r} scored {text[:20]!r}... as {nats} nats")
        return Score(nats=float(nats), chars=len(text), tokens=tokens, unknown=self.unknowns(text))

    def save(self, path: str | Path) -> Path:
        """Write the model directory atomically: its files plus a manifest naming the plugin."""
        from .registry import plugin_version

        path = Path(path)
        with atomic.directory(path) as tmp:
            extra = self.save_files(tmp)
            distribution, version = plugin_version(self.name, type(self))
            from . import __version__

            atomic.write_json(tmp / MANIFEST, {
                "format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
                "plugin": self.name, "distribution": distribution, "plugin_version": version,
                "toolkit_version": __version__, "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "training": self.training, **extra,
            })
        return path


class Tokenized:
    """Mixin for a generator whose text handling is one tokenizer object (``self.tokenizer``).

    List it before `Generator` (``class Mine(Tokenized, Generator)``) to get `encode`,
    `decode`, `unknowns` and `unknown_nats` from any object with those methods, such as
    `toolkit.tokenize.CharTokenizer`, instead of writing the same four delegations again.
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


def _log_prob(scores: Scores, token: int, plugin: str) -> float:
    from .sampling import check_scores

    logits, ids = check_scores(scores, plugin)
    row = logits[0]
    top = row.max()
    log_norm = top + math.log(np.exp(row - top).sum())
    if ids is None:
        return float(row[token] - log_norm)
    hit = np.flatnonzero(ids[0] == token)
    return float(row[hit[0]] - log_norm) if len(hit) else -math.inf


class _Run:
    """One batched generation: sample, check stop strings and segments, carry the state.

    Iterating yields, after each step, the text each row may show now: for streaming
    that holds back anything that could still turn out to be a stop string, an
    unfinished UTF-8 character or a segment that may be refused.
    """

    def __init__(self, gen: Generator, prompt: str, max_tokens: int, n: int, seed: int,
                 stop: str | Sequence[str], options: SamplingOptions, streaming: bool) -> None:
        if not isinstance(max_tokens, int) or max_tokens < 0:
            raise ValueError(f"max_tokens must be a whole number >= 0, got {max_tokens!r}")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"num_samples must be a whole number >= 1, got {n!r}")
        check_seed(seed)
        self.stops = [stop] if isinstance(stop, str) else list(stop)
        if any(not s for s in self.stops):
            raise ValueError("stop strings must not be empty")
        self.gen, self.prompt, self.max_tokens, self.n, self.streaming = gen, prompt, max_tokens, n, streaming
        self.sampler = Sampler(options, seed, gen.name)
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.tokens: list[list[int]] = [[] for _ in range(n)]
        self.texts = [""] * n
        self.shown = [0] * n
        self.done = [False] * n
        self.segment_start = [0] * n
        self.tries = [0] * n
        self.rejected = 0
        self.started = time.perf_counter()
        self.first_token = 0.0

    def __iter__(self) -> Iterator[list[str]]:
        gen = self.gen
        prompt_ids = gen.encode_prompt(self.prompt)
        if self.max_tokens == 0:
            return
        state, scores = gen.begin(prompt_ids, self.n)
        watch_text = bool(self.stops) or self.streaming
        for step in range(self.max_tokens):
            histories = [prompt_ids + t for t in self.tokens]
            sampled = self.sampler(scores, histories, gen.suppress_ids)
            if step == 0:
                self.first_token = time.perf_counter() - self.started
            rewound = False
            for b in range(self.n):
                if self.done[b]:
                    continue
                self.tokens[b].append(int(sampled[b]))
                if int(sampled[b]) in gen.segment_end_ids:
                    rewound |= self._end_segment(b)
                if watch_text:
                    self._check_stop(b)
            if self.streaming:
                yield self._pieces(final=False)
            if all(self.done) or step + 1 == self.max_tokens:
                break
            if rewound:
                state, scores = gen.begin_rows([prompt_ids + t for t in self.tokens])
            else:
                state, scores = gen.advance(state, sampled)
        for b in range(self.n):
            if not self.done[b]:
                self.texts[b] = gen.decode(self.tokens[b])
        if self.streaming:
            yield self._pieces(final=True)

    def _end_segment(self, b: int) -> bool:
        """Accept or refuse the segment row ``b`` just finished; True if it was rewound."""
        start = self.segment_start[b]
        if self.tries[b] < self.gen.max_segment_tries and self.gen.reject_segment(self.tokens[b][start:]):
            del self.tokens[b][start:]
            self.tries[b] += 1
            self.rejected += 1
            return True
        self.segment_start[b] = len(self.tokens[b])
        self.tries[b] = 0
        return False

    def _check_stop(self, b: int) -> None:
        text = self.gen.decode(self.tokens[b])
        searched = min(len(self.texts[b]), len(text))  # the text before this token was searched already
        self.texts[b] = text
        if not self.stops:
            return
        # a new token may be any length, and may change the last few characters before it when decoded
        window = max(0, searched - max(len(s) for s in self.stops) - 64)
        hits = [i for i in (text.find(s, window) for s in self.stops) if i >= 0]
        if hits:
            self.texts[b] = text[: min(hits)]
            self.done[b] = True

    def _pieces(self, final: bool) -> list[str]:
        pieces = []
        for b in range(self.n):
            text = self.texts[b]
            if not (final or self.done[b]):
                end = len(text)
                if self.gen.segment_end_ids:  # the open segment may still be refused
                    end = len(self.gen.decode(self.tokens[b][: self.segment_start[b]]))
                # a stop string may still begin in the last `hold` characters of what is certain
                text = text[: max(0, end - self.hold)].rstrip("\ufffd")  # maybe half a UTF-8 character
            pieces.append(text[self.shown[b] :] if len(text) > self.shown[b] else "")
            self.shown[b] = max(self.shown[b], len(text))
        return pieces

    def result(self) -> Completion:
        return Completion(texts=self.texts, tokens=self.tokens, prompt=self.prompt,
                          seconds=time.perf_counter() - self.started, first_token_seconds=self.first_token,
                          rejected_segments=self.rejected)
