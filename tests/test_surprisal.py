"""`Generator.surprisal`: bits per character that add up to `score`, spread by the documented rule.

Every built-in plugin also runs the contract kit's `check_surprisal` (its test classes);
the LSTM and GPT-2 test files check their word and BPE spreading.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import toolkit
from toolkit.data.corpora import Corpus
from toolkit.data.tokenize import UNICODE_NATS
from toolkit.generator import Charges, Generator

LN2 = math.log(2)
TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


@pytest.fixture(scope="module")
def word_chain() -> Generator:
    return toolkit.train("markov", Corpus("tiny", TEXT), level="word", state_size=1)


def test_each_character_of_a_character_model_gets_its_own_code_length(bigram_model):
    text = "the cat sat on a \u2603 mat"
    with pytest.warns(UserWarning, match="outside the vocabulary"):
        found = bigram_model.surprisal(text)
    expected = bigram_model.token_nats(bigram_model.encode(text)) / LN2
    expected[text.index("\u2603")] += UNICODE_NATS / LN2  # the unknown character also pays its spelling
    np.testing.assert_allclose(found.bits, expected, rtol=1e-12)
    with pytest.warns(UserWarning):
        score = bigram_model.score(text)
    assert math.isclose(found.total_bits, score.nats / LN2, rel_tol=1e-9) and found.bpc == score.bpc


def test_a_word_is_spread_evenly_and_a_sentence_end_lands_on_its_last_character(word_chain):
    text = "the cat sat. The dog met a zebra on the mat.\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found, score = word_chain.surprisal(text), word_chain.score(text)
    bits = np.array(found.bits)
    assert math.isclose(found.total_bits, score.nats / LN2, rel_tol=1e-9)
    dog = text.index("dog")
    assert bits[dog] == bits[dog + 1] == bits[dog + 2] > 0
    sat = text.index("sat.")  # markovify's word is "sat." and a sentence ends after it: its END is on the "."
    assert bits[sat] == bits[sat + 1] == bits[sat + 2] < bits[sat + 3]
    zebra = slice(text.index("zebra"), text.index("zebra") + 5)
    spelling = word_chain.level.whitespace.spelling.spelling_nats("zebra") / LN2
    assert bits[zebra].sum() > spelling  # the unknown word's spelling is paid on its own characters
    assert (bits >= 0).all() and len(bits) == len(text)


def test_surprisal_scores_the_text_once(bigram_model, monkeypatch):
    """Linear in the text: one pass over all the tokens, never a re-scoring per prefix."""
    calls = []
    real = type(bigram_model).token_nats
    monkeypatch.setattr(type(bigram_model), "token_nats", lambda self, ids: calls.append(len(ids)) or real(self, ids))
    text = "the dog sat on the log. " * 50
    assert len(bigram_model.surprisal(text).bits) == len(text)
    assert calls == [len(text)]


def test_bad_texts_are_refused(bigram_model):
    with pytest.raises(ValueError, match="empty"):
        bigram_model.surprisal("")
    with pytest.raises(TypeError, match="decode bytes first"):
        bigram_model.surprisal(b"the cat")


def test_charges_spread_evenly_and_empty_pieces_land_on_the_character_before():
    charges = Charges.spans([(0, 3, 3.0), (3, 3, 1.0), (0, 0, 0.5), (2, 5, 6.0), (5, 5, 0.25)])
    bits = charges.bits(5) * LN2
    np.testing.assert_allclose(bits, [1.5, 1.0, 4.0, 2.0, 2.25])
    assert math.isclose(bits.sum(), charges.total)


def test_the_default_steps_through_tokens_and_measures_their_text(bigram_model):
    """A plugin that overrides nothing still gets exact surprisal from begin/advance and decode."""
    text = "the cat sat"
    ids = bigram_model.encode(text)
    plain = Generator.charges(bigram_model, text)  # the base class's own pieces
    assert plain.tokens == len(ids) and list(plain.ends) == list(range(1, len(text) + 1))
    np.testing.assert_allclose(plain.nats, bigram_model.token_nats(ids), rtol=1e-12)
    assert list(Generator.token_ends(bigram_model, text, ids)) == list(range(1, len(text) + 1))


def test_to_json_holds_the_bits_and_the_score(bigram_model):
    found = bigram_model.surprisal("the mat")
    data = found.to_json()
    assert data["bits"] == found.bits and data["bpc"] == found.score.bpc == data["score"]["bpc"]
