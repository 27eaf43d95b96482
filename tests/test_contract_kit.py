"""The contract kit catches a wrong scorer: a plugin's `nats` must match the step-by-step default,
or, for a smoothed scorer, give the next character at most probability 1 in all."""

from __future__ import annotations

import numpy as np
import pytest
from textgen_bigram import BigramGenerator

from toolkit.testing import check_generator, check_nats, check_nats_normalised

TEXT = "the cat sat on the mat.\n"


class FastNats(BigramGenerator):
    """A correct override: the same code length as stepping, in one vectorised lookup."""

    def nats(self, text: str) -> tuple[float, int]:
        ids = self.encode(text)
        rows = np.array([len(self.tokenizer), *ids[:-1]])
        return -float(self.log_probs[rows, ids].sum()) + self.unknown_nats(text), len(ids)


class HalvedNats(FastNats):
    """The bug the kit must catch: half the code length, so a bits-per-character that wins comparisons."""

    def nats(self, text: str) -> tuple[float, int]:
        nats, tokens = super().nats(text)
        return nats / 2, tokens


class SlightlyOff(FastNats):
    def nats(self, text: str) -> tuple[float, int]:
        nats, tokens = super().nats(text)
        return nats * (1 + 1e-5), tokens


def as_(cls: type, model: BigramGenerator) -> BigramGenerator:
    return cls(model.tokenizer, model.log_probs, model.smoothing)


def test_a_correct_override_passes(bigram_model):
    check_nats(bigram_model, TEXT)  # no override: nothing to compare
    check_nats(as_(FastNats, bigram_model), TEXT)


@pytest.mark.parametrize("wrong", [HalvedNats, SlightlyOff])
def test_a_wrong_nats_override_fails_the_kit(bigram_model, wrong):
    with pytest.raises(AssertionError, match=r"nats gives .* but stepping through begin/advance gives"):
        check_nats(as_(wrong, bigram_model), TEXT)


def test_check_generator_runs_the_nats_check(bigram_model, tmp_path):
    with pytest.raises(AssertionError, match=r"HalvedNats\.nats gives"):
        check_generator(as_(HalvedNats, bigram_model), tmp_path, "the", TEXT)


def test_a_normalised_scorer_passes_and_an_undercounting_one_fails(bigram_model):
    alphabet = "".join(bigram_model.tokenizer.decode([i]) for i in range(1, len(bigram_model.tokenizer)))
    check_nats_normalised(as_(FastNats, bigram_model), TEXT, alphabet)
    with pytest.raises(AssertionError, match=r"a total probability of .* > 1"):
        check_nats_normalised(as_(HalvedNats, bigram_model), TEXT, alphabet)


def test_check_generator_can_check_normalisation_instead(bigram_model, tmp_path):
    with pytest.raises(AssertionError, match="total probability"):
        check_generator(as_(HalvedNats, bigram_model), tmp_path, "the", TEXT, nats_check="normalised")
