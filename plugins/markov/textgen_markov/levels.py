"""What differs between a word chain and a character chain: tokens, padding, contexts, costs.

Both pad every run with ``state_size`` BEGIN tokens, as markovify does, so each token
to predict has a full context. A word chain's runs are sentences ending in END; a
character chain has one run, the whole text, and no END.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from markovify.chain import END

from toolkit.tokenize import UNK, UNK_TEXT, CharTokenizer

from .options import MarkovOptions
from .sentences import Whitespace, rules, segment

UNK_ID = 0
END_ID = 1


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

    @classmethod
    def fit(cls, text: str, options: MarkovOptions) -> tuple[CharLevel, np.ndarray, np.ndarray]:
        level = cls(CharTokenizer.fit(text).vocab, options.order)
        return (level, *level.tokens(text))

    def tokens(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return pad_runs([self.encode(text)], self.size, self.begin_id, None)

    def scoring(self, text: str) -> tuple[np.ndarray, np.ndarray, float]:
        """Padded tokens, positions to predict, and the nats the chain does not cover (unknown chars)."""
        return (*self.tokens(text), self.tokenizer.unknown_nats(text))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids)

    def unknowns(self, text: str) -> list[str]:
        return self.tokenizer.unknowns(text)

    def context(self, history: Sequence[int]) -> tuple[int, ...]:
        return tuple(history[-self.size :])

    def restart(self) -> tuple[int, ...] | None:
        """Context to use when nothing of the history is known: None keeps the unigram."""
        return None

    def runs(self) -> list[list[str]] | None:
        return None

    def to_json(self) -> dict[str, Any]:
        return {"vocab": self.vocab}

    @classmethod
    def from_json(cls, data: dict[str, Any], options: MarkovOptions, size: int, sentences: list[list[str]] | None
                  ) -> CharLevel:
        return cls(data["vocab"], size)


class WordLevel:
    """markovify's words in sentences; unknown histories restart at a sentence start."""

    name = "word"

    def __init__(self, vocab: list[str], size: int, options: MarkovOptions, whitespace: Whitespace,
                 sentences: list[list[str]]) -> None:
        if vocab[:2] != [UNK, END]:
            raise ValueError("a word vocabulary must start with <unk> and markovify's END")
        self.vocab, self.size, self.whitespace, self.sentences = vocab, size, whitespace, sentences
        self.index = {word: i for i, word in enumerate(vocab)}
        self.begin_id, self.end_id = len(vocab), END_ID
        self.parser = rules(options.sentences, options.well_formed)
        self.newline = options.sentences == "newline"
        self.pieces = [" " + UNK_TEXT, "\n" if self.newline else "", *(" " + word for word in vocab[2:])]

    @classmethod
    def fit(cls, text: str, options: MarkovOptions) -> tuple[WordLevel, np.ndarray, np.ndarray]:
        parser = rules(options.sentences, options.well_formed)
        pieces = parser.sentence_split(text)
        # markovify's generate_corpus, sharing the split with the whitespace model
        sentences = [parser.word_split(s) for s in pieces if parser.test_sentence_input(s)]
        frequency = Counter(chain.from_iterable(sentences))
        vocab = [UNK, END, *sorted(frequency, key=lambda word: (-frequency[word], word))]
        level = cls(vocab, options.order, options, Whitespace.fit(text, pieces), sentences)
        index = level.index
        runs = [[index[word] for word in words] for words in sentences]
        return (level, *pad_runs(runs, level.size, level.begin_id, END_ID))

    def scoring(self, text: str) -> tuple[np.ndarray, np.ndarray, float]:
        """Padded sentences (END after each finished one), positions to predict, and the nats of
        what the chain does not cover: the whitespace between words and the spelling of unknown words."""
        words, spaces, ends = segment(text, self.parser.sentence_split(text))
        index, runs, run = self.index, [], []
        extra = self.whitespace.nats(spaces, ends)
        for word, end in zip(words, ends, strict=True):
            token = index.get(word, UNK_ID)
            if token == UNK_ID:
                extra += self.whitespace.spelling.spelling_nats(word)
            run.append(token)
            if end:
                runs.append([*run, END_ID])
                run = []
        tokens, targets = pad_runs([*runs, run], self.size, self.begin_id, None)
        return tokens, targets, extra

    def encode(self, text: str) -> list[int]:
        """Words of the text's sentences, with END between sentences (and after a finished last one)."""
        ids: list[int] = []
        for i, sentence in enumerate(self.parser.sentence_split(text)):
            if i:
                ids.append(END_ID)
            ids.extend(self.index.get(word, UNK_ID) for word in sentence.split())
        return ids

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
        return self.sentences

    def to_json(self) -> dict[str, Any]:
        return {"vocab": self.vocab, "whitespace": self.whitespace.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any], options: MarkovOptions, size: int, sentences: list[list[str]] | None
                  ) -> WordLevel:
        if sentences is None:
            raise ValueError("a word chain needs its parsed_sentences")
        return cls(data["vocab"], size, options, Whitespace.from_json(data["whitespace"]), sentences)

