"""What differs between a word chain and a character chain: tokens, padding, contexts, costs.

Both pad every run with ``state_size`` BEGIN tokens, as markovify does, so each token
to predict has a full context. A word chain's runs are sentences ending in END; a
character chain has one run, the whole text, and no END.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

import numpy as np
from markovify.chain import END

from toolkit.data.tokenize import UNK, UNK_TEXT, CharTokenizer
from toolkit.generator import Charges

from .ngrams import BATCH, smallest_uint
from .options import MarkovOptions
from .sentences import Whitespace, rules, segment

UNK_ID = 0
END_ID = 1

#: Padded tokens and the positions in them to predict: what `ngrams.count_rows` counts.
Piece = tuple[np.ndarray, np.ndarray]
#: A text to score: padded tokens, positions to predict, each target's start and end in the text, and
#: the charges for what the chain does not model.
Scoring = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Charges]


def pad_runs(runs: Sequence[Sequence[int]], size: int, begin: int, end: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Tokens of the runs, each after ``size`` BEGINs (and before END), and the positions to predict."""
    tokens: list[int] = []
    targets: list[int] = []
    for run in runs:
        tokens.extend([begin] * size)
        targets.extend(range(len(tokens), len(tokens) + len(run) + (end is not None)))
        tokens.extend(run)
        if end is not None:
            tokens.append(end)
    return np.array(tokens, dtype=np.int64), np.array(targets, dtype=np.int64)


class CharLevel:
    """Characters of the whole text; a history with no known context falls back to the unigram."""

    name = "char"

    def __init__(self, vocab: list[str], size: int) -> None:
        self.tokenizer = CharTokenizer(vocab)
        self.vocab, self.size = self.tokenizer.vocab, size
        self.begin_id, self.end_id = len(vocab), None
        if vocab[0] != UNK or vocab[1:] != sorted(vocab[1:]):
            raise ValueError("a character vocabulary is <unk> and then the characters in order")
        self.points = np.array([ord(c) for c in vocab[1:]], dtype=np.uint32)

    @classmethod
    def fit(cls, text: str, options: MarkovOptions) -> tuple[CharLevel, Iterator[Piece]]:
        level = cls(CharTokenizer.fit(text).vocab, options.order)
        return level, level.pieces(text)

    def ids(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (vectorised: a binary search over the vocabulary's code points)."""
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        where = np.minimum(self.points.searchsorted(points), len(self.points) - 1)
        return np.where(self.points[where] == points, where + 1, UNK_ID).astype(np.int64)

    def pieces(self, text: str) -> Iterator[Piece]:
        """The text in pieces of `ngrams.BATCH` characters, each after the ``size`` tokens before it
        (BEGINs at the start), so counting never holds the whole corpus as token ids."""
        before = np.full(self.size, self.begin_id, dtype=np.int64)
        for at in range(0, len(text), BATCH):
            tokens = np.concatenate([before, self.ids(text[at : at + BATCH])])
            yield tokens, np.arange(self.size, len(tokens))
            before = tokens[len(tokens) - self.size :]

    def tokens(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return pad_runs([self.ids(text)], self.size, self.begin_id, None)

    def scoring(self, text: str) -> Scoring:
        """Padded tokens, positions to predict (character i is target i), and the unknown characters' spelling."""
        starts = np.arange(len(text), dtype=np.int64)
        return (*self.tokens(text), starts, starts + 1, Charges.spans(self.tokenizer.unknown_spans(text)))

    def context(self, history: Sequence[int]) -> tuple[int, ...]:
        return tuple(history[-self.size :])

    def restart(self) -> tuple[int, ...] | None:
        """Context to use when nothing of the history is known: None keeps the unigram."""
        return None

    def runs(self) -> list[list[str]] | None:
        return None

    def to_json(self) -> dict[str, Any]:
        return {"vocab": self.vocab}

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    @classmethod
    def from_json(cls, data: dict[str, Any], options: MarkovOptions, size: int, arrays: dict[str, np.ndarray]
                  ) -> CharLevel:
        return cls(data["vocab"], size)


class WordLevel:
    """markovify's words in sentences; unknown histories restart at a sentence start."""

    name = "word"

    def __init__(self, vocab: list[str], size: int, options: MarkovOptions, whitespace: Whitespace,
                 words: np.ndarray, lengths: np.ndarray) -> None:
        if vocab[:2] != [UNK, END]:
            raise ValueError("a word vocabulary must start with <unk> and markovify's END")
        if int(lengths.sum()) != len(words):
            raise ValueError("the training sentences' lengths do not add up to their words")
        self.vocab, self.size, self.whitespace = vocab, size, whitespace
        self.words, self.lengths = words, lengths  # the training sentences as word ids, back to back
        self.split_sentences = len(lengths)  # before markovify's input filter (fit knows more)
        self.index = {word: i for i, word in enumerate(vocab)}
        self.begin_id, self.end_id = len(vocab), END_ID
        self.parser = rules(options.sentences, options.well_formed)
        self.newline = options.sentences == "newline"
        self.pieces = [" " + UNK_TEXT, "\n" if self.newline else "", *(" " + word for word in vocab[2:])]

    @classmethod
    def from_sentences(cls, sentences: list[list[str]], size: int, options: MarkovOptions,
                       whitespace: Whitespace) -> WordLevel:
        """The level of markovify's parsed sentences; the vocabulary is their words, most frequent first."""
        frequency = Counter(chain.from_iterable(sentences))
        vocab = [UNK, END, *sorted(frequency, key=lambda word: (-frequency[word], word))]
        index = {word: i for i, word in enumerate(vocab)}
        words = np.fromiter((index[w] for s in sentences for w in s), dtype=np.int64)
        lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
        return cls(vocab, size, options, whitespace, words, lengths)

    @classmethod
    def fit(cls, text: str, options: MarkovOptions) -> tuple[WordLevel, list[Piece]]:
        parser = rules(options.sentences, options.well_formed)
        pieces = parser.sentence_split(text)
        # markovify's generate_corpus, sharing the split with the whitespace model
        sentences = [parser.word_split(s) for s in pieces if parser.test_sentence_input(s)]
        level = cls.from_sentences(sentences, options.order, options, Whitespace.fit(text, pieces))
        level.split_sentences = sum(1 for piece in pieces if piece.strip())
        return level, [pad_runs(level.sentence_ids(), level.size, level.begin_id, END_ID)]

    def report(self, why: str) -> dict[str, Any]:
        """The sentence mode, why, and what markovify's input filter dropped: for the training summary."""
        mode = "newline" if self.newline else "text"
        split, kept = self.split_sentences, len(self.lengths)
        summary = (f"sentences: {mode} ({why}); markovify's input filter kept {kept:,} of {split:,} "
                   f"({split - kept:,} dropped)")
        return {"mode": mode, "why": why, "split": split, "kept": kept, "dropped": split - kept, "summary": summary}

    def sentence_ids(self) -> list[np.ndarray]:
        """The word ids of each training sentence."""
        return np.split(self.words, np.cumsum(self.lengths)[:-1]) if len(self.lengths) else []

    def scoring(self, text: str) -> Scoring:
        """Padded sentences (END after each finished one), positions to predict, where in ``text`` each
        target lies (an END: empty, after its sentence's last word), and the charges the chain does not
        cover: each whitespace run around the words and the spelling of each unknown word."""
        words, spaces, ends = segment(text, self.parser.sentence_split(text))
        runs_nats = self.whitespace.run_nats(spaces, ends)
        index, runs, run = self.index, [], []
        spans: list[int] = []  # start and end of each target, flat
        extra = [(0, len(spaces[0]), runs_nats[0])]
        at = len(spaces[0])
        for word, end, space, space_nats in zip(words, ends, spaces[1:], runs_nats[1:], strict=True):
            token = index.get(word, UNK_ID)
            if token == UNK_ID:
                extra.append((at, at + len(word), self.whitespace.spelling.spelling_nats(word)))
            run.append(token)
            at += len(word)
            spans += (at - len(word), at)
            if end:
                runs.append([*run, END_ID])
                run = []
                spans += (at, at)
            extra.append((at, at + len(space), space_nats))
            at += len(space)
        tokens, targets = pad_runs([*runs, run], self.size, self.begin_id, None)
        where = np.array(spans, dtype=np.int64).reshape(-1, 2)
        return tokens, targets, where[:, 0], where[:, 1], Charges.spans(extra)

    @property
    def tokenizer(self) -> WordLevel:
        """A word chain is its own tokenizer (markovify's sentences and words): what `Tokenized` forwards to."""
        return self

    def placed(self, text: str) -> Iterator[tuple[int, int, str | None]]:
        """`encode`'s tokens with where each lies in ``text``: every word, and END (None, empty) between sentences."""
        at = 0
        for i, sentence in enumerate(self.parser.sentence_split(text)):
            if i:
                yield at, at, None
            for word in sentence.split():
                at = max(text.find(word, at), at)  # a sentence's words are the text's, in order
                yield at, at + len(word), word
                at += len(word)

    def encode(self, text: str) -> list[int]:
        """Words of the text's sentences, with END between sentences (and after a finished last one)."""
        index = self.index
        return [END_ID if word is None else index.get(word, UNK_ID) for _, _, word in self.placed(text)]

    def token_ends(self, text: str) -> np.ndarray:
        return np.array([end for _, end, _ in self.placed(text)], dtype=np.int64)

    def unknown_spans(self, text: str) -> list[tuple[int, int, float]]:
        """Each word the chain never saw, and its spelling's nats, as `scoring` charges it."""
        spelling, index = self.whitespace.spelling.spelling_nats, self.index
        return [(start, end, spelling(word)) for start, end, word in self.placed(text)
                if word is not None and word not in index]

    def unknown_nats(self, text: str) -> float:
        return math.fsum(nats for _, _, nats in self.unknown_spans(text))

    def decode(self, ids: Sequence[int]) -> str:
        """Each word with the space before it (like GPT-2's tokens), so a continuation joins its prompt;
        a sentence end is a newline for NewlineText, and nothing (the next word's space) for Text."""
        text = "".join(map(self.pieces.__getitem__, ids))
        return text.replace("\n ", "\n") if self.newline else text  # words hold no whitespace

    def unknowns(self, text: str) -> list[str]:
        return list(dict.fromkeys(word for word in text.split() if word not in self.index))

    def context(self, history: Sequence[int]) -> tuple[int, ...]:
        tail = list(history[-self.size :])
        if END_ID in tail:
            tail = tail[len(tail) - tail[::-1].index(END_ID) :]
        return (self.begin_id,) * (self.size - len(tail)) + tuple(tail)

    def restart(self) -> tuple[int, ...] | None:
        return (self.begin_id,) * self.size

    def runs(self) -> list[list[str]] | None:
        vocab = self.vocab
        return [[vocab[i] for i in ids] for ids in map(np.ndarray.tolist, self.sentence_ids())]

    def to_json(self) -> dict[str, Any]:
        return {"vocab": self.vocab, "whitespace": self.whitespace.to_json()}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"sentences.words": smallest_uint(self.words), "sentences.lengths": smallest_uint(self.lengths)}

    @classmethod
    def from_json(cls, data: dict[str, Any], options: MarkovOptions, size: int, arrays: dict[str, np.ndarray]
                  ) -> WordLevel:
        if "sentences.words" not in arrays:
            raise ValueError("a word chain needs its training sentences")
        return cls(data["vocab"], size, options, Whitespace.from_json(data["whitespace"]),
                   arrays["sentences.words"].astype(np.int64), arrays["sentences.lengths"].astype(np.int64))
