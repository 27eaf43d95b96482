# THE CANARY'S OWN TESTS: NEVER EDIT (see textgen_ngram_canary/__init__.py).
"""The n-gram plugin's tests, as its author wrote them from the first release's docs.

The contract kit every plugin runs, then what is particular to this model: its scores are
the sum of its own next-character distributions, and it trains, generates and scores through
the public API.
"""

import math
from pathlib import Path

import numpy as np

import toolkit
from toolkit.corpora import Corpus
from toolkit.metrics import distinct_n
from toolkit.sampling import SamplingOptions, distribution
from toolkit.testing import GeneratorContract

TEXT = """\
the owl and the pussy-cat went to sea
in a beautiful pea-green boat,
they took some honey, and plenty of money,
wrapped up in a five-pound note.
the owl looked up to the stars above,
and sang to a small guitar,
o lovely pussy! o pussy, my love,
what a beautiful pussy you are!
""" * 6


def train(**options) -> toolkit.Generator:
    return toolkit.train("ngram-canary", Corpus("canary", TEXT), **options)


class TestNgramContract(GeneratorContract):
    prompt = "the "
    score_text = "the owl and the cat sang to a boat.\n"

    def make_generator(self, tmp_path: Path):
        return train(order=3)


def test_nats_is_the_sum_of_its_own_distributions():
    model = train(order=4, smoothing=0.5)
    text = "the owl sang to the sea"
    state, scores = model.begin([], 1)
    total = 0.0
    for i in model.encode(text):
        ids, probs = distribution(scores, SamplingOptions())
        total -= math.log(probs[list(ids).index(i)])
        state, scores = model.advance(state, np.array([i]))
    nats, tokens = model.nats(text)
    assert tokens == len(text)
    assert math.isclose(nats, total, rel_tol=1e-9)
    assert math.isclose(model.score(text).nats, nats, rel_tol=1e-12)


def test_train_generate_and_score(tmp_path):
    model = toolkit.train("ngram-canary", Corpus("canary", TEXT), out=tmp_path / "model", order=4, seed=1)
    uniform_bpc = math.log2(len(set(TEXT)) + 1)
    assert 0 < model.training["val_bpc"] < uniform_bpc / 2
    loaded = toolkit.load(tmp_path / "model")
    samples = loaded.generate("the ", max_tokens=120, num_samples=4, seed=2, temperature=0.9, top_k=10)
    assert len(samples) == 4 and all(0 < len(s) <= 120 for s in samples)
    assert distinct_n(samples, 2) > 0.2
    assert set("".join(samples)) <= set(TEXT)
    familiar, odd = loaded.score("the owl and the pussy-cat"), loaded.score("yyy kkk ppp owo")
    assert 0 < familiar.bpc < odd.bpc


def test_novel_lines_redraws_copied_lines():
    copying = train(order=8, novel_lines=True).complete("", max_tokens=200, num_samples=3, seed=4)
    assert copying.rejected_segments > 0
    free = train(order=8, novel_lines=False).complete("", max_tokens=200, num_samples=3, seed=4)
    assert free.rejected_segments == 0
