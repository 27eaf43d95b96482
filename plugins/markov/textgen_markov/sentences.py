"""Word-level text as markovify sees it, and the exact cost of what it leaves out.

markovify splits a text into sentences (`markovify.Text` on sentence-ending
punctuation, `markovify.NewlineText` on newlines), drops sentences its input filter
dislikes, and splits each into words on whitespace. That is what the chain trains on.

Scoring must pay for every character, so a text is also cut losslessly into words and
the whitespace runs between them: ``text == spaces[0] + words[0] + spaces[1] + ...``.
The chain codes the words and sentence ends; `Whitespace` codes each run, with one
distribution for runs inside a sentence and one for runs between sentences (and at the
ends of the text). A run never seen in training is spelled out character by character.
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from dataclasses import dataclass
from itertools import compress
from typing import Literal

import markovify
import numpy as np

from toolkit.data.tokenize import UNK, WordTokenizer

_WORDS = re.compile(r"(\S+)")


class _Rules:
    """markovify's sentence rules (split, input filter, word split) without building a chain."""

    def __init__(self, well_formed: bool) -> None:
        self.well_formed = well_formed


class TextRules(_Rules, markovify.Text):
    """Sentences end at sentence-ending punctuation, as in `markovify.Text`."""


class NewlineRules(_Rules, markovify.NewlineText):
    """Sentences end at newlines, as in `markovify.NewlineText`."""


#: A sentence end as the mode rule counts it: . ! or ? (after any closing quotes or brackets) before a space.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
#: The mode rule's limits: a line of at most this many words (median) is short ...
SHORT_LINE_WORDS = 20
#: ... and a text with fewer than this fraction of lines holding a sentence end has little punctuation.
PUNCTUATED_LINES = 0.25


def choose_mode(text: str) -> tuple[Literal["text", "newline"], str]:
    """markovify's NewlineText for one short item per line (titles, names, headlines), Text for running
    prose, and why: short lines (median words) with little sentence punctuation mean one item per line."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return "text", "no lines"
    lengths = sorted(len(line.split()) for line in lines)
    median = lengths[len(lengths) // 2]
    punctuated = sum(1 for line in lines if _SENTENCE_END.search(line)) / len(lines)
    mode: Literal["text", "newline"] = (
        "newline" if median <= SHORT_LINE_WORDS and punctuated < PUNCTUATED_LINES else "text")
    return mode, (f"median line {median} words, {punctuated:.0%} of lines with . ! or ?: "
                  + ("one item per line" if mode == "newline" else "running prose"))


#: How many sentences `filter_drops` tests at most, spread evenly over the text.
FILTER_SAMPLE = 20_000


def filter_drops(text: str) -> tuple[int, int]:
    """How many of (up to `FILTER_SAMPLE`, evenly spaced) sentence-mode sentences markovify's input filter
    would drop, and how many were tested: the rule that turns the filter off when it drops over a fifth."""
    parser = rules("text", True)
    pieces = [piece for piece in parser.sentence_split(text) if piece.strip()]
    sample = pieces[:: max(1, len(pieces) // FILTER_SAMPLE)]
    return sum(1 for piece in sample if not parser.test_sentence_input(piece)), len(sample)


def rules(sentences: Literal["text", "newline"], well_formed: bool) -> markovify.Text:
    return (NewlineRules if sentences == "newline" else TextRules)(well_formed)


def segment(text: str, sentences: list[str]) -> tuple[list[str], list[str], list[bool]]:
    """Cut ``text`` into words, the whitespace around them, and whether a sentence ends after each word.

    ``sentences`` is markovify's ``sentence_split(text)``.
    """
    parts = _WORDS.split(text)
    words, spaces = parts[1::2], parts[0::2]
    ends = [False] * len(words)
    last = -1
    for sentence in sentences[:-1]:  # the last piece is unfinished (or empty)
        last += len(sentence.split())
        if last >= 0:
            ends[last] = True
    return words, spaces, ends


def whitespace_kinds(ends: list[bool]) -> list[bool]:
    """For each whitespace run of a segmented text: does it lie between sentences (or at an end)?"""
    return [True, *ends[:-1], True] if ends else [True]


@dataclass
class Whitespace:
    """Code lengths of whitespace runs: counts inside and between sentences, spelling for new runs."""

    inside: dict[str, int]
    between: dict[str, int]
    spelling: WordTokenizer

    @classmethod
    def fit(cls, text: str, sentences: list[str]) -> Whitespace:
        _, spaces, ends = segment(text, sentences)
        kinds = whitespace_kinds(ends)
        inside = Counter(compress(spaces, map(operator.not_, kinds)))
        between = Counter(compress(spaces, kinds))
        return cls(dict(inside), dict(between), spelling_model(char_counts(text)))

    def run_nats(self, spaces: list[str], ends: list[bool]) -> list[float]:
        """The code length of each whitespace run of a segmented text."""
        seen = {False: sum(self.inside.values()) + 1, True: sum(self.between.values()) + 1}  # +1: "a new run"
        out = []
        for run, is_between in zip(spaces, whitespace_kinds(ends), strict=True):
            count = (self.between if is_between else self.inside).get(run, 0)
            out.append(-math.log(count / seen[is_between]) if count
                       else math.log(seen[is_between]) + self.spelling.spelling_nats(run))
        return out

    def to_json(self) -> dict:
        return {"inside": self.inside, "between": self.between, "char_counts": self.spelling.char_counts}

    @classmethod
    def from_json(cls, data: dict) -> Whitespace:
        return cls(dict(data["inside"]), dict(data["between"]), spelling_model(data["char_counts"]))


def char_counts(text: str) -> dict[str, int]:
    """How often each character occurs (a bincount over code points: much faster than a Counter)."""
    counts = np.bincount(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))
    return {chr(c): int(counts[c]) for c in np.flatnonzero(counts)}


def spelling_model(counts: dict[str, int]) -> WordTokenizer:
    """The toolkit's exact spelling cost for unknown words, fitted on the training characters."""
    return WordTokenizer([UNK], counts)
