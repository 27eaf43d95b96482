"""Reversible character and word tokenizers with honest unknowns.

``decode(encode(text)) == text`` whenever the text is in the vocabulary, so generated
text reads naturally and bits per character stays exact. A character or word outside
the vocabulary becomes ``<unk>`` visibly (the caller is told which), and for scoring its
spelling is charged in full by `unknown_nats`, so bits per character stays a real code
length instead of rewarding a model for mapping everything it does not know to one id.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

UNK = "<unk>"
#: What a generated ``<unk>`` decodes to: visible, and never a real character.
UNK_TEXT = "\ufffd"
#: Code length of one character outside any vocabulary: uniform over Unicode scalars.
UNICODE_NATS = math.log(0x110000 - 0x800)

#: How a word tokenizer cuts text into pieces; concatenated, the pieces are the text again.
#: ``"leading"``: a word or punctuation mark carries one leading space, as in GPT-2's byte-level
#: BPE, and any other whitespace (a newline, a tab, the rest of a run of spaces) is a piece of
#: its own. A model then writes "word, space" as one choice and cannot glue words together by
#: failing to emit a separate space token. ``"separate"``: every whitespace run is its own
#: piece, as in models saved before the leading space; kept so they still load.
WORD_SPACINGS = {"leading": re.compile(r" ?\w+| ?[^\w\s]|\s+(?= \S)|\s+"),
                 "separate": re.compile(r"\w+|[^\w\s]|\s+")}
_WORD_CHAR = re.compile(r"\w")


class Tokenizer:
    """A fixed vocabulary with id 0 reserved for ``<unk>``."""

    level = ""

    def __init__(self, vocab: Sequence[str]) -> None:
        if not vocab or vocab[0] != UNK:
            raise ValueError("vocab must start with <unk>")
        self.vocab = list(vocab)
        self.index = {piece: i for i, piece in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        index = self.index
        return [index.get(piece, 0) for piece in self.split(text)]

    def decode(self, ids: Sequence[int]) -> str:
        vocab = self.vocab
        return "".join(UNK_TEXT if i == 0 else vocab[i] for i in ids)

    def unknowns(self, text: str) -> list[str]:
        """Pieces of ``text`` outside the vocabulary, in order of first appearance."""
        return list(dict.fromkeys(p for p in self.split(text) if p not in self.index))

    def unknown_nats(self, text: str) -> float:
        """Extra code length (nats) to spell out every unknown piece of ``text``."""
        return math.fsum(nats for _, _, nats in self.unknown_spans(text))

    def unknown_spans(self, text: str) -> list[tuple[int, int, float]]:
        """``(start, end, nats)`` of each unknown piece of ``text``: where its spelling is paid."""
        raise NotImplementedError

    def token_ends(self, text: str) -> np.ndarray:
        """Where each token of ``text`` ends: the pieces tile the text, so their lengths add up."""
        return np.cumsum([len(piece) for piece in self.split(text)], dtype=np.int64)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "vocab": self.vocab}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Tokenizer:
        kind = {"char": CharTokenizer, "word": WordTokenizer}.get(data.get("level", ""))
        if kind is None:
            raise ValueError(f"unknown tokenizer level {data.get('level')!r}")
        return kind.from_dict(data)


class CharTokenizer(Tokenizer):
    """One token per character; the vocabulary is the training split's characters."""

    level = "char"

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        return cls([UNK, *sorted(set(text))])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharTokenizer:
        return cls(data["vocab"])

    def split(self, text: str) -> list[str]:
        return list(text)

    def unknown_spans(self, text: str) -> list[tuple[int, int, float]]:
        index = self.index
        return [(i, i + 1, UNICODE_NATS) for i, c in enumerate(text) if c not in index]

    def token_ends(self, text: str) -> np.ndarray:
        return np.arange(1, len(text) + 1, dtype=np.int64)


class WordTokenizer(Tokenizer):
    """Words and single punctuation marks with their leading space, and whitespace runs.

    Concatenating the pieces gives the text back (see `WORD_SPACINGS`), so bits per
    character charges every character, whitespace included. The vocabulary holds the
    ``max_vocab - 1`` most frequent pieces of the training split. An unknown piece is
    spelled, its leading space too, with a character unigram model fitted on the same split.
    """

    level = "word"

    def __init__(self, vocab: Sequence[str], char_counts: dict[str, int], spacing: str = "leading") -> None:
        super().__init__(vocab)
        if spacing not in WORD_SPACINGS:
            raise ValueError(f"unknown word spacing {spacing!r} (known: {', '.join(WORD_SPACINGS)})")
        self.spacing, self._pattern = spacing, WORD_SPACINGS[spacing]
        self.char_counts = dict(char_counts)
        total = sum(self.char_counts.values()) + len(self.char_counts) + 2  # add-one, plus end and escape
        self._char_nats = {c: -math.log((n + 1) / total) for c, n in self.char_counts.items()}
        self._end_nats = -math.log(1 / total)
        self._escape_nats = -math.log(1 / total) + UNICODE_NATS

    @classmethod
    def fit(cls, text: str, max_vocab: int = 10000) -> WordTokenizer:
        if max_vocab < 2:
            raise ValueError(f"max_vocab must be at least 2, got {max_vocab}")
        counts = Counter(cls.pieces(text))
        ranked = sorted(counts, key=lambda piece: (-counts[piece], piece))[: max_vocab - 1]
        return cls([UNK, *ranked], Counter(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WordTokenizer:
        return cls(data["vocab"], data["char_counts"], data.get("spacing", "separate"))  # older files: separate

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "char_counts": self.char_counts, "spacing": self.spacing}

    @staticmethod
    def pieces(text: str) -> list[str]:
        """The pieces a new tokenizer cuts ``text`` into (leading spaces)."""
        return WORD_SPACINGS["leading"].findall(text)

    def split(self, text: str) -> list[str]:
        return self._pattern.findall(text)

    def word_edges(self) -> tuple[list[bool], list[bool]]:
        """Which pieces end with a word character, and which start with one (``<unk>``: neither).

        No text this tokenizer splits has a piece ending in a word character followed by
        one starting with a word character (``\\w+`` takes the whole word), so a model may
        rule that pair out exactly: it is the one way to glue two words together.
        """
        ends = [i > 0 and bool(_WORD_CHAR.match(p[-1])) for i, p in enumerate(self.vocab)]
        starts = [i > 0 and bool(_WORD_CHAR.match(p[0])) for i, p in enumerate(self.vocab)]
        return ends, starts

    def spelling_nats(self, piece: str) -> float:
        char_nats, escape = self._char_nats, self._escape_nats
        return sum(char_nats.get(c, escape) for c in piece) + self._end_nats

    def unknown_spans(self, text: str) -> list[tuple[int, int, float]]:
        index = self.index
        return [(m.start(), m.end(), self.spelling_nats(m.group())) for m in self._pattern.finditer(text)
                if m.group() not in index]
