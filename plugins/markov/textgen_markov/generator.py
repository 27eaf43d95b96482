"""A markovify chain behind the textgen interface: sampled through the core, scored with Kneser-Ney.

Generation follows markovify's chain: the next token is drawn in proportion to how
often it followed the last ``state_size`` tokens in training. The chain hands the core
its followers as `Candidates` (ids and log counts), so temperature T samples in
proportion to count ** (1/T), 0 is greedy, and top-k/top-p/penalties/seeds all apply.
A history whose last state was never seen backs off to its longest seen suffix, then
to a sentence start (words) or the unigram (characters): no prompt can fail.

Scoring uses interpolated modified Kneser-Ney over the same counts (`kneser_ney`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from toolkit import atomic
from toolkit.data.corpora import Corpus
from toolkit.data.tokenize import CharTokenizer
from toolkit.errors import TextgenError
from toolkit.generation.sampling import Candidates
from toolkit.generation.stopping import Criterion, SegmentFilter
from toolkit.generator import Charges, DemoRecipe, Generator, Tokenized

from . import chainfile
from .kneser_ney import KneserNey
from .levels import END_ID, CharLevel, WordLevel
from .markovify_json import MarkovifyText, looks_like_markovify, read_text_json, text_json
from .ngrams import NgramCounts, count_rows
from .novelty import OverlapIndex
from .options import MarkovOptions
from .sentences import Whitespace, rules

MODEL_FILE = "model.json"
#: The n-gram tables (and a word chain's training sentences) as narrow arrays, memory-mapped on load.
CHAIN_FILE = "chain.safetensors"
#: Where model directories before the array format kept the chain (markovify.Text.to_json()).
MARKOVIFY_FILE = "markovify.json"
FORMAT = "textgen-markov"
FORMAT_VERSION = 2
#: What `export` writes.
EXPORT_FORMATS = ("markovify",)

Level = CharLevel | WordLevel


def finished_sentences(tokens: list[int]) -> Iterator[list[int]]:
    """The word ids of each sentence that ends (with END) in ``tokens``."""
    start = 0
    for end, token in enumerate(tokens):
        if token == END_ID:
            yield tokens[start:end]
            start = end + 1


class MarkovGenerator(Tokenized, Generator):
    name = "markov"
    Options = MarkovOptions
    # no suppress_ids: <unk> never follows anything in the chain, so it is never a candidate
    demo_order = 10  # first: built in seconds

    @classmethod
    def demo_recipes(cls) -> tuple[DemoRecipe, ...]:
        """A character and a word chain; counted in one pass, so no training budget."""
        return tuple(DemoRecipe(f"markov-{level}", cls.name, {"level": level}) for level in ("char", "word"))

    def __init__(self, options: MarkovOptions, level: Level, counts: NgramCounts) -> None:
        super().__init__()
        self.options, self.level, self.counts = options, level, counts
        self.state_size = counts.state_size

    @classmethod
    def _counted(cls, options: MarkovOptions, level: Level, contexts: np.ndarray, targets: np.ndarray,
                 weights: np.ndarray | None = None) -> MarkovGenerator:
        radix = len(level.vocab) + 1  # the vocabulary and BEGIN
        return cls(options, level, NgramCounts.build(contexts, targets, radix, level.begin_id, weights))

    @classmethod
    def train(cls, corpus: Corpus, options: MarkovOptions, *, seed: int, out: Path | None = None
              ) -> MarkovGenerator:
        options, why = options.resolved(corpus.train) if options.level == "word" else (options, "")
        level_class = WordLevel if options.level == "word" else CharLevel
        level, pieces = level_class.fit(corpus.train, options)
        rows, weights = count_rows(pieces, options.order, len(level.vocab) + 1)
        if not len(rows):
            raise ValueError(f"corpus {corpus.name!r} has no training sentences at level {options.level!r}"
                             + (" (all failed markovify's input filter; try well_formed=false)"
                                if options.level == "word" and options.well_formed else ""))
        model = cls._counted(options, level, rows[:, :-1], rows[:, -1], weights)
        if isinstance(level, WordLevel):
            report = level.report(why)
            model.training = {"sentences": report}
            if report["dropped"] * 5 > report["split"]:
                warnings.warn(f"markov: markovify's input filter dropped {report['dropped']:,} of "
                              f"{report['split']:,} training sentences (more than a fifth; it refuses quotes and "
                              f"brackets); -o well_formed=false keeps them"
                              + ("" if options.sentences == "newline" else ", -o sentences=newline splits at lines"),
                              UserWarning, stacklevel=2)
        return model

    def counting_cost(self) -> tuple[float, str]:
        """Building the chain counts each training token once in every n-gram order (1 .. state_size + 1)."""
        orders = self.state_size + 1
        return float(orders), f"one count update per n-gram order per token: {orders} orders (1 .. state_size + 1)"

    # -- files ---------------------------------------------------------------------------

    def save_files(self, folder: Path) -> dict[str, Any]:
        model = {"format": FORMAT, "format_version": FORMAT_VERSION, "options": self.options.model_dump(mode="json"),
                 "state_size": self.state_size, "level": self.level.to_json()}
        chainfile.write(folder / CHAIN_FILE, {**self.counts.to_arrays(), **self.level.arrays()})
        (folder / MODEL_FILE).write_text(json.dumps(model))
        return {"level": self.level.name, "state_size": self.state_size}

    @classmethod
    def load_files(cls, folder: Path, manifest: dict[str, Any], *, device: str = "auto") -> MarkovGenerator:
        model = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
        if not isinstance(model, dict) or model.get("format") != FORMAT:
            raise ValueError(f"{MODEL_FILE} is not a {FORMAT} file")
        options = MarkovOptions(**model["options"])
        size = int(model["state_size"])
        level_class = WordLevel if options.level == "word" else CharLevel
        if model.get("format_version") is None:  # before the array format: the chain is markovify JSON
            return cls._from_markovify_file(folder, model, options, size)
        arrays, _ = chainfile.read(folder / CHAIN_FILE)
        level = level_class.from_json(model["level"], options, size, arrays)
        return cls(options, level, NgramCounts.from_arrays(arrays, len(level.vocab) + 1, level.begin_id, size))

    @classmethod
    def _from_markovify_file(cls, folder: Path, model: dict[str, Any], options: MarkovOptions, size: int
                             ) -> MarkovGenerator:
        """A model directory saved before the array format (0.1.0): slow to open, so each load says how
        to rewrite it."""
        warnings.warn(f"{folder} holds its chain as markovify JSON, slow to load; rewrite it in the array "
                      f"format with `textgen export {folder} --format textgen NEW_DIR`", FutureWarning, stacklevel=2)
        vocab = model["level"]["vocab"]
        contexts, followers, counts, sentences = read_text_json(
            (folder / MARKOVIFY_FILE).read_text(encoding="utf-8"), vocab, size)
        if options.level == "word":
            index = {word: i for i, word in enumerate(vocab)}
            level: Level = WordLevel(vocab, size, options, Whitespace.from_json(model["level"]["whitespace"]),
                                     np.array([index[w] for s in sentences or [] for w in s], dtype=np.int64),
                                     np.array([len(s) for s in sentences or []], dtype=np.int64))
        else:
            level = CharLevel(vocab, size)
        return cls._counted(options, level, contexts, followers, counts)

    # -- markovify files -------------------------------------------------------------------

    @classmethod
    def recognizes(cls, path: Path) -> bool:
        """A markovify JSON file (``Text.to_json()`` or ``Chain.to_json()``) loads as a model."""
        return path.is_file() and looks_like_markovify(path)

    @classmethod
    def from_pretrained(cls, source: str, *, device: str = "auto") -> MarkovGenerator:
        path = Path(source).expanduser()
        if not (path.is_file() and looks_like_markovify(path)):
            raise TextgenError(f"markov loads model directories and markovify JSON files; {source!r} is neither")
        try:
            return cls.from_markovify(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise TextgenError(f"{path}: not a markovify JSON file this plugin can read ({exc})") from None

    @classmethod
    def from_markovify(cls, data: str) -> MarkovGenerator:
        """A model from markovify JSON. A word chain unless the file says otherwise (our export) or has no
        sentences and only one-character tokens; sentences end as in ``markovify.Text`` unless it says."""
        text = MarkovifyText.parse(data)
        extra, tokens = text.extra, text.tokens()
        char = text.sentences is None and all(len(t) == 1 for t in tokens)
        level_name = extra.get("level", "char" if char else "word")
        options = MarkovOptions(level=level_name, state_size=text.state_size,
                                sentences=extra.get("sentences", "text"), well_formed=extra.get("well_formed", True))
        if level_name == "char":
            level: Level = CharLevel(["<unk>", *sorted(tokens)], text.state_size)
        else:
            sentences = text.sentences if text.sentences is not None else [tokens]
            if "whitespace" in extra:
                whitespace = Whitespace.from_json(extra["whitespace"])
            else:  # a plain markovify file keeps no spacing: single spaces, one sentence a line
                joined = "\n".join(" ".join(words) for words in sentences)
                whitespace = Whitespace.fit(joined, rules(options.sentences, False).sentence_split(joined))
            level = WordLevel.from_sentences(sentences, text.state_size, options, whitespace)
        return cls._counted(options, level, *text.table(level.vocab))

    def export(self, fmt: str, out: Path) -> None:
        """Write the model in another tool's format: ``markovify`` is ``markovify.Text.to_json()``, which
        ``markovify.Text.from_json`` reads and `from_markovify` reads back into the same model."""
        if fmt not in EXPORT_FORMATS:
            raise TextgenError(f"markov exports to {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
        extra = {"level": self.level.name, "sentences": self.options.sentences,
                 "well_formed": self.options.well_formed, **self.level.to_json()}
        extra.pop("vocab")
        atomic.write_text(out, text_json(self.counts, self.level.vocab, self.level.runs(), extra))

    # -- tokens ----------------------------------------------------------------------

    @property
    def tokenizer(self) -> CharTokenizer | WordLevel:
        """The level's tokenizer, to which `Tokenized` forwards encode, decode and the unknowns."""
        return self.level.tokenizer

    # -- sampling ----------------------------------------------------------------------

    @cached_property
    def _slots(self) -> dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, int]]]:
        """Context -> (context to carry on from, follower slot), filled on demand. A word chain fills every
        full state up front, like markovify's chain dict (fast sentences); a character chain has many more
        states, so it fills them lazily to keep the first token quick."""
        if self.level.name != "word":
            return {}
        return {state: (state, slot) for state, slot in self.counts.state_slots().items()}

    def _lookup(self, context: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, int]]:
        """The context to carry on from and its followers: those of its longest known suffix, or,
        when not even its last token is known, the level's restart context (a sentence start)."""
        found = self._slots.get(context)
        if found is None:
            length, context_id = self.counts.longest_context(context)
            restart = self.level.restart()
            if length == 0 and restart is not None and context != restart:
                found = self._lookup(restart)
            else:
                found = context, self.counts.slot(length, context_id)
            self._slots[context] = found
        return found

    def _scores(self, contexts: list[tuple[int, ...]]) -> tuple[list[tuple[int, ...]], Candidates]:
        slots = self._slots
        found = [slots.get(c) or self._lookup(c) for c in contexts]
        ids, logits = self.counts.candidates([slot for _, slot in found])
        return [context for context, _ in found], Candidates(ids, logits)

    def begin(self, prompt: list[int], n: int) -> tuple[list[tuple[int, ...]], Candidates]:
        return self._scores([self.level.context(prompt)] * n)

    def begin_rows(self, histories: list[list[int]]) -> tuple[list[tuple[int, ...]], Candidates]:
        return self._scores([self.level.context(h) for h in histories])

    def advance(self, state: list[tuple[int, ...]], tokens: np.ndarray) -> tuple[list[tuple[int, ...]], Candidates]:
        size, end, restart = self.state_size, self.level.end_id, self.level.restart()
        contexts = [restart if t == end else (*c, t)[-size:] for c, t in zip(state, tokens.tolist(), strict=True)]
        return self._scores(contexts)

    # -- novelty (markovify's test_sentence_output) -----------------------------------

    @cached_property
    def _overlap_index(self) -> OverlapIndex:
        return OverlapIndex(self.level.words, self.options.max_overlap_total + 1)

    def copies_training(self, words: Sequence[int]) -> bool:
        """Whether a sentence's word ids overlap the training text by markovify's rule."""
        return self._overlap_index.overlaps(words, self.options.max_overlap_ratio, self.options.max_overlap_total)

    def novelty_filter(self) -> SegmentFilter:
        """Redraw a finished sentence that copies the training text (markovify's rule)."""
        return SegmentFilter(frozenset({END_ID}), lambda tokens: self.copies_training(tokens[:-1]))

    def stopping_criteria(self) -> list[Criterion]:
        return [self.novelty_filter()] if self.options.novelty else []

    def make_sentences(self, n: int, *, seed: int = 0, rows: int = 32, tokens_per_row: int = 160,
                       **sampling: Any) -> list[str]:
        """Up to ``n`` novel sentences, like markovify's ``make_sentence()`` called n times (word level).

        Rows of running text are generated through the core with the novelty filter on;
        each finished sentence that passed the filter is kept (one still copying the
        training text after ``max_segment_tries`` redraws is dropped, where markovify
        would return None). A batch that yields no sentence at all ends the search, so a
        chain that can only copy its corpus gives fewer (or no) sentences instead of looping.
        Sampling options such as temperature apply.
        """
        if self.level.name != "word":
            raise ValueError("make_sentences needs a word-level model (level='word')")
        novelty = [] if self.options.novelty else [self.novelty_filter()]  # on for these runs, whatever the options
        vocab, sentences = self.level.vocab, []
        while len(sentences) < n:
            completion = self.complete("", max_tokens=tokens_per_row, num_samples=rows, seed=seed,
                                       criteria=novelty, **sampling)
            seed += 1
            novel = [words for row in completion.tokens for words in finished_sentences(row)
                     if not self.copies_training(words)]
            if not novel:
                break
            sentences.extend(" ".join(vocab[i] for i in words) for words in novel)
        return sentences[:n]

    def make_sentence(self, *, seed: int = 0, **sampling: Any) -> str | None:
        """One novel sentence, or None if the chain could only copy its corpus (markovify's make_sentence)."""
        made = self.make_sentences(1, seed=seed, rows=1, **sampling)
        return made[0] if made else None

    # -- scoring and sizes ---------------------------------------------------------------

    @cached_property
    def _kneser_ney(self) -> KneserNey:
        return KneserNey.fit(self.counts, len(self.level.vocab))

    def charges(self, text: str) -> Charges:
        """Kneser-Ney code length of each token, plus what the chain does not model (see `levels`)."""
        tokens, targets, starts, ends, extra = self.level.scoring(text)
        chain = -np.asarray(self._kneser_ney.log_probs(tokens, targets), dtype=np.float64) if len(targets) else []
        return Charges(np.asarray(chain, dtype=np.float64), starts, ends, len(targets)).join(extra)

    def info(self) -> dict[str, Any]:
        states = len(self.counts.context_keys[self.state_size])
        transitions = len(self.counts.ngram_keys[self.state_size])
        return {"level": self.level.name, "state_size": self.state_size, "vocab": len(self.level.vocab),
                "states": states, "transitions": transitions,
                "ngrams": int(sum(len(k) for k in self.counts.ngram_keys))}

