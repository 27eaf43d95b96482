"""The contract kit catches a wrong scorer: a plugin's `token_nats` must match the step-by-step default,
or, for a smoothed scorer, give the next character at most probability 1 in all."""

from __future__ import annotations

import numpy as np
import pytest
from textgen_bigram import BigramGenerator

from toolkit.generator import Surprisal
from toolkit.testing import check_generator, check_nats, check_nats_normalised, check_surprisal

TEXT = "the cat sat on the mat.\n"


class FastNats(BigramGenerator):
    """A correct override: the same code length as stepping, in one vectorised lookup."""

    def token_nats(self, ids: list[int]) -> np.ndarray:
        rows = np.array([len(self.tokenizer), *ids[:-1]])
        return -self.log_probs[rows, ids]


class HalvedNats(FastNats):
    """The bug the kit must catch: half the code length, so a bits-per-character that wins comparisons."""

    def token_nats(self, ids: list[int]) -> np.ndarray:
        return super().token_nats(ids) / 2


class SlightlyOff(FastNats):
    def token_nats(self, ids: list[int]) -> np.ndarray:
        return super().token_nats(ids) * (1 + 1e-5)


def as_(cls: type, model: BigramGenerator) -> BigramGenerator:
    return cls(model.tokenizer, model.log_probs, model.smoothing)


def test_a_correct_override_passes(bigram_model):
    check_nats(bigram_model, TEXT)  # no override: nothing to compare
    check_nats(as_(FastNats, bigram_model), TEXT)


@pytest.mark.parametrize("wrong", [HalvedNats, SlightlyOff])
def test_a_wrong_nats_override_fails_the_kit(bigram_model, wrong):
    with pytest.raises(AssertionError, match=r"token_nats gives .* but stepping through begin/advance gives"):
        check_nats(as_(wrong, bigram_model), TEXT)


def test_check_generator_runs_the_nats_check(bigram_model, tmp_path):
    with pytest.raises(AssertionError, match=r"HalvedNats\.token_nats gives"):
        check_generator(as_(HalvedNats, bigram_model), tmp_path, "the", TEXT)


def test_a_normalised_scorer_passes_and_an_undercounting_one_fails(bigram_model):
    alphabet = "".join(bigram_model.tokenizer.decode([i]) for i in range(1, len(bigram_model.tokenizer)))
    check_nats_normalised(as_(FastNats, bigram_model), TEXT, alphabet)
    with pytest.raises(AssertionError, match=r"a total probability of .* > 1"):
        check_nats_normalised(as_(HalvedNats, bigram_model), TEXT, alphabet)


def test_check_generator_can_check_normalisation_instead(bigram_model, tmp_path):
    with pytest.raises(AssertionError, match="total probability"):
        check_generator(as_(HalvedNats, bigram_model), tmp_path, "the", TEXT, nats_check="normalised")


class FlatSurprisal(FastNats):
    """A surprisal that does not add up to the score: one bit on every character."""

    def surprisal(self, text: str) -> Surprisal:
        found = super().surprisal(text)
        return Surprisal(text, [1.0] * len(text), found.score)


def test_a_surprisal_that_does_not_add_up_fails_the_kit(bigram_model):
    check_surprisal(bigram_model, TEXT)
    with pytest.raises(AssertionError, match=r"FlatSurprisal: surprisal adds up to .* bits"):
        check_surprisal(as_(FlatSurprisal, bigram_model), TEXT)
