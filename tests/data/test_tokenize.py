"""Reversible tokenizers with honest unknowns."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.data.tokenize import UNICODE_NATS, UNK, UNK_TEXT, CharTokenizer, Tokenizer, WordTokenizer

PROPERTY = settings(max_examples=80, deadline=None)
TRAIN = "The cat sat on the mat.\nThe dog, a big one, sat on the log!\n\tTabs  and   spaces.\n"


@PROPERTY
@given(st.text(min_size=1), st.data())
def test_char_round_trip_for_in_vocab_text(train, data):
    tokenizer = CharTokenizer.fit(train)
    text = data.draw(st.text(alphabet=sorted(set(train))))
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.unknowns(text) == [] and tokenizer.unknown_nats(text) == 0.0
    assert 0 not in tokenizer.encode(text)


@PROPERTY
@given(st.text())
def test_word_round_trip_for_in_vocab_text(text):
    tokenizer = WordTokenizer.fit(text, max_vocab=10_000)
    assert "".join(WordTokenizer.pieces(text)) == text  # the pieces cover every character
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.unknowns(text) == [] and tokenizer.unknown_nats(text) == 0.0


@PROPERTY
@given(st.lists(st.sampled_from(WordTokenizer.pieces(TRAIN)), max_size=30))
def test_word_round_trip_for_recombined_pieces(pieces):
    tokenizer = WordTokenizer.fit(TRAIN)
    text = "".join(pieces)
    if not tokenizer.unknowns(text):  # adjacent pieces can merge into a new word
        assert tokenizer.decode(tokenizer.encode(text)) == text


@PROPERTY
@given(st.text(min_size=1))
def test_unknowns_are_reported_and_cost_finite_positive_nats(text):
    for tokenizer in (CharTokenizer.fit(TRAIN), WordTokenizer.fit(TRAIN, max_vocab=20)):
        unknown = tokenizer.unknowns(text)
        nats = tokenizer.unknown_nats(text)
        assert math.isfinite(nats) and nats >= 0
        assert (nats > 0) == bool(unknown)
        decoded = tokenizer.decode(tokenizer.encode(text))
        pieces = tokenizer.split(text)
        assert decoded.count(UNK_TEXT) == sum(pieces.count(u) for u in unknown)  # TRAIN has no UNK_TEXT


def test_char_unknowns_by_hand():
    tokenizer = CharTokenizer.fit("abc")
    assert tokenizer.vocab == [UNK, "a", "b", "c"]
    assert tokenizer.encode("abzcz\u2603") == [1, 2, 0, 3, 0, 0]
    assert tokenizer.decode([1, 0, 3]) == f"a{UNK_TEXT}c"
    assert tokenizer.unknowns("zabz\u2603") == ["z", "\u2603"]  # first appearance, no repeats
    assert tokenizer.unknown_nats("zz\u2603") == pytest.approx(3 * UNICODE_NATS)
    assert UNICODE_NATS == pytest.approx(math.log(0x110000 - 0x800))


def test_word_unknowns_by_hand():
    tokenizer = WordTokenizer.fit("aa aa b aa\n", max_vocab=4)  # pieces: "aa", " aa" x2, " b", "\n"
    assert tokenizer.vocab == [UNK, " aa", "\n", " b"]
    assert tokenizer.encode("aa b aa") == [0, 3, 1]
    assert tokenizer.unknowns("aa b ab") == ["aa", " ab"]
    # add-one character unigram over the training text's 11 characters (4 kinds), plus end and escape
    total = 11 + 4 + 2
    aa_nats = -2 * math.log((6 + 1) / total) - math.log(1 / total)
    assert tokenizer.unknown_nats("aa b") == pytest.approx(aa_nats)
    z_nats = -math.log(1 / total) + UNICODE_NATS - math.log(1 / total)
    assert tokenizer.unknown_nats("z") == pytest.approx(z_nats)


def test_word_vocab_keeps_the_most_frequent():
    tokenizer = WordTokenizer.fit("x y y z z z", max_vocab=3)
    assert tokenizer.vocab == [UNK, " z", " y"]
    with pytest.raises(ValueError, match="max_vocab"):
        WordTokenizer.fit("x", max_vocab=1)


def test_words_carry_their_leading_space_and_whitespace_runs_are_kept():
    text = "ROMEO:\n\tThe  cat,   sat \n\n  on\t\tthe mat.  \n"
    assert WordTokenizer.pieces(text) == ["ROMEO", ":", "\n\t", "The", " ", " cat", ",", "  ", " sat", " \n\n ",
                                          " on", "\t\t", "the", " mat", ".", "  \n"]
    tokenizer = WordTokenizer.fit(text)
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.unknown_nats(text) == 0.0
    spaced = WordTokenizer.fit("the cat sat on the mat\n")
    assert " " not in spaced.vocab  # a single space between words is never a token of its own


def test_word_tokenizer_saved_before_leading_spaces_still_splits_as_it_did():
    old = {"level": "word", "vocab": [UNK, " ", "the", "cat", "\n"], "char_counts": {"t": 2}}
    tokenizer = Tokenizer.from_json(old)
    assert tokenizer.split("the cat\n") == ["the", " ", "cat", "\n"] and tokenizer.encode("the cat\n") == [2, 1, 3, 4]
    assert Tokenizer.from_json(WordTokenizer.fit("the cat").to_json()).split("the cat") == ["the", " cat"]
    with pytest.raises(ValueError, match="spacing 'tabs'"):
        WordTokenizer([UNK], {}, spacing="tabs")


@pytest.mark.parametrize("tokenizer", [CharTokenizer.fit(TRAIN), WordTokenizer.fit(TRAIN)], ids=["char", "word"])
def test_json_round_trip(tokenizer):
    again = Tokenizer.from_json(tokenizer.to_json())
    assert type(again) is type(tokenizer) and again.vocab == tokenizer.vocab
    text = "The cat sat on a \u2603 log.\n"
    assert again.encode(text) == tokenizer.encode(text)
    assert again.unknown_nats(text) == tokenizer.unknown_nats(text)


def test_bad_vocab_and_level():
    with pytest.raises(ValueError, match="<unk>"):
        CharTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="unknown tokenizer level 'bpe'"):
        Tokenizer.from_json({"level": "bpe", "vocab": [UNK]})



@PROPERTY
@given(st.text(alphabet=st.sampled_from(list("ab\u00e91_ \t\n.,'-"))), st.sampled_from(["leading", "separate"]))
def test_no_split_text_has_a_word_end_then_a_word_start(text, spacing):
    """`word_edges` marks the one pair no split text contains, so a model may rule it out exactly."""
    pieces = WordTokenizer([UNK], {}, spacing).split(text)
    tokenizer = WordTokenizer([UNK, *dict.fromkeys(pieces)], {}, spacing)
    ends, starts = tokenizer.word_edges()
    ids = tokenizer.encode(text)
    assert 0 not in ids and not any(ends[a] and starts[b] for a, b in itertools.pairwise(ids))


def test_word_edges_by_hand():
    tokenizer = WordTokenizer([UNK, " cat", "the", ",", "\n", "1st"], {})
    assert tokenizer.word_edges() == ([False, True, True, False, False, True], [False, False, True, False, False, True])
