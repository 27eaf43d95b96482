"""The Markov plugin: the contract kit at both levels, markovify semantics, backoff, sampling,
novelty, Kneser-Ney scoring and markovify-compatible files."""

from __future__ import annotations

import json
import math
import os
import random
import warnings
from pathlib import Path

import markovify
import numpy as np
import pytest
from textgen_markov.generator import MARKOVIFY_FILE, MarkovGenerator, finished_sentences
from textgen_markov.levels import END_ID

import toolkit
from toolkit.corpora import Corpus, load_corpus
from toolkit.generator import UnknownTokensWarning
from toolkit.sampling import SamplingOptions, distribution
from toolkit.testing import GeneratorContract

CORPORA = Path(os.environ.get("TEXTGEN_CORPORA", Path(__file__).resolve().parents[4] / "shared" / "corpora"))


def corpus_slice(name: str, chars: int) -> Corpus:
    """The first ``chars`` characters of a named corpus (skips if the corpora are not here)."""
    if not (CORPORA / f"{name}.txt").is_file():
        pytest.skip(f"{name}.txt is not in TEXTGEN_CORPORA ({CORPORA})")
    os.environ.setdefault("TEXTGEN_CORPORA", str(CORPORA))
    return Corpus(f"{name}-{chars}", load_corpus(name).text[:chars])


class TestWordContract(GeneratorContract):
    prompt = "Sherlock Holmes"
    score_text = "I have seen those symptoms before, said Holmes. Zyxw qqq!\n"

    def make_generator(self, tmp_path: Path) -> MarkovGenerator:
        return toolkit.train("markov", corpus_slice("sherlock", 80_000))


class TestNoveltyContract(TestWordContract):
    def make_generator(self, tmp_path: Path) -> MarkovGenerator:
        return toolkit.train("markov", corpus_slice("sherlock", 80_000), novelty=True, sentences="newline")


class TestCharContract(GeneratorContract):
    prompt = "ROMEO:"
    score_text = "ROMEO:\nI know not, sir.\n"

    def make_generator(self, tmp_path: Path) -> MarkovGenerator:
        return toolkit.train("markov", corpus_slice("tinyshakespeare", 60_000), level="char", state_size=5)


@pytest.fixture(scope="module")
def sherlock() -> Corpus:
    return corpus_slice("sherlock", 120_000)


@pytest.fixture(scope="module")
def words(sherlock: Corpus) -> MarkovGenerator:
    return toolkit.train("markov", sherlock)


def followers(model: MarkovGenerator, prompt: str) -> set[str]:
    """The words the chain may produce right after ``prompt``."""
    _, scores = model.begin(model.encode(prompt), 1)
    return {model.level.vocab[i] for i in scores.ids[0] if i >= 0}


def test_chain_is_markovifys_and_loads_in_markovify(words: MarkovGenerator, sherlock: Corpus,
                                                    tmp_path: Path) -> None:
    reference = markovify.Text(sherlock.train, state_size=2)
    assert words.info()["states"] == len(reference.chain.model)
    assert words.info()["transitions"] == sum(len(f) for f in reference.chain.model.values())
    saved = words.save(tmp_path / "m") / MARKOVIFY_FILE
    text = markovify.Text.from_json(saved.read_text())
    assert text.chain.model == reference.chain.model
    assert text.parsed_sentences == reference.parsed_sentences
    chain = markovify.Chain.from_json(json.loads(saved.read_text())["chain"])
    random.seed(0)
    assert text.make_sentence() and chain.walk()


def test_backoff_never_fails(words: MarkovGenerator, sherlock: Corpus) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unknown_last = words.generate("Holmes said qqzx", max_tokens=15, temperature=0)
    assert any(issubclass(w.category, UnknownTokensWarning) for w in caught)
    assert unknown_last == words.generate("", max_tokens=15, temperature=0), "an unseen state restarts a sentence"
    # (BEGIN, "Holmes") is rare, so "the Holmes" backs off to the followers of "Holmes" anywhere
    after_holmes = {b for s in markovify.Text(sherlock.train).parsed_sentences
                    for a, b in zip(s, [*s[1:], markovify.chain.END], strict=True) if a == "Holmes"}
    assert followers(words, "qqzx Holmes") == after_holmes
    long_prompt = " ".join(sherlock.val.split()[:5000])
    assert len(words.generate(long_prompt, max_tokens=20, seed=3)[0].split()) >= 10


def test_char_backoff_uses_longest_known_suffix() -> None:
    model = MarkovGenerator.train(Corpus("t", "abcabd" * 20), MarkovGenerator.Options(level="char", state_size=3),
                                  seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert {model.decode([i]) for i in model.begin(model.encode("zzab"), 1)[1].ids[0]} == {"c", "d"}
        unigram = model.begin(model.encode("\u2603"), 1)[1]
    assert sorted(model.decode([i]) for i in unigram.ids[0]) == ["a", "b", "c", "d"]


def test_temperature_is_counts_to_the_one_over_t() -> None:
    corpus = Corpus("t", "The cat sat. The cat ran. The cat sat. The dog sat.\n" * 5)
    model = MarkovGenerator.train(corpus, MarkovGenerator.Options(), seed=0)
    counts = markovify.Text(corpus.train).chain.model[(markovify.chain.BEGIN, "The")]
    assert set(counts) == {"cat", "dog"} and counts["cat"] > counts["dog"]
    _, scores = model.begin(model.encode("The"), 1)
    for t in (1.0, 0.5, 2.0, 0.3):
        ids, probs = distribution(scores, SamplingOptions(temperature=t))
        p = {model.level.vocab[i]: q for i, q in zip(ids, probs, strict=True) if i >= 0}
        weights = {word: n ** (1 / t) for word, n in counts.items()}
        assert p == pytest.approx({word: w / sum(weights.values()) for word, w in weights.items()})
    assert model.generate("The", max_tokens=1, temperature=0, seed=4) == [" cat"]
    cats = [model.generate("The", max_tokens=1, seed=s)[0] for s in range(400)].count(" cat") / 400
    assert cats == pytest.approx(counts["cat"] / (counts["cat"] + counts["dog"]), abs=0.07)


def test_novelty_filter_redraws_copied_sentences() -> None:
    copies = "The cat sat on the mat today. " * 30 + "\n"
    model = MarkovGenerator.train(Corpus("t", copies), MarkovGenerator.Options(novelty=True), seed=0)
    assert model.copies_training(model.encode("The cat sat on the mat today."))
    completion = model.complete("", max_tokens=40, seed=1)
    assert completion.rejected_segments > 0
    assert model.make_sentences(5) == [], "a chain that can only copy its corpus makes no novel sentence"
    assert model.make_sentence() is None


def test_novelty_agrees_with_markovify(words: MarkovGenerator, sherlock: Corpus) -> None:
    reference = markovify.Text(sherlock.train, state_size=2)
    tokens = words.complete("", max_tokens=3000, seed=2).tokens[0]
    sentences = [s for s in finished_sentences(tokens) if s]
    ours = [words.copies_training(s) for s in sentences]
    theirs = [not reference.test_sentence_output([words.level.vocab[i] for i in s], 0.7, 15) for s in sentences]
    assert all(t for o, t in zip(ours, theirs, strict=True) if o), "a whole-word copy is always a substring copy"
    assert sum(o == t for o, t in zip(ours, theirs, strict=True)) >= 0.9 * len(sentences)
    assert 0 < sum(ours) < len(sentences)
    made = words.make_sentences(30, seed=1)
    assert len(made) == 30 and made[0] == words.make_sentences(1, seed=1)[0]
    assert isinstance(words.make_sentence(seed=2, temperature=0.7), str)
    assert sum(reference.test_sentence_output(s.split(), 0.7, 15) for s in made) >= 27


def test_kneser_ney_is_normalised(words: MarkovGenerator) -> None:
    index, vocab = words.level.index, len(words.level.vocab)
    begin = words.level.begin_id
    for a, b in ((index["Holmes"], index["said"]), (index["said"], 0), (begin, begin), (begin, index["The"])):
        grid = np.column_stack([np.full(vocab, a), np.full(vocab, b), np.arange(vocab)]).ravel()
        log_probs = words._kneser_ney.log_probs(grid, np.arange(vocab) * 3 + 2)
        assert np.exp(log_probs).sum() == pytest.approx(1.0)


def test_bpc_is_finite_and_prefers_real_text(words: MarkovGenerator, sherlock: Corpus) -> None:
    real = words.score(sherlock.val)
    shuffled_words = sherlock.val.split(" ")
    random.Random(0).shuffle(shuffled_words)
    shuffled = words.score(" ".join(shuffled_words))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unknown = words.score("Qwzx vvbn \u2603\u4e2d.\n")
    assert math.isfinite(real.bpc) and math.isfinite(unknown.bpc)
    assert real.bpc < shuffled.bpc
    assert words.score("Holmes said.  \n").bpc != words.score("Holmes said. \n").bpc, "whitespace is paid for"


def test_char_bpc_prefers_real_text() -> None:
    corpus = corpus_slice("tinyshakespeare", 100_000)
    model = toolkit.train("markov", corpus, level="char", state_size=4)
    shuffled = list(corpus.val)
    random.Random(0).shuffle(shuffled)
    assert model.training["val_bpc"] < model.score("".join(shuffled)).bpc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isfinite(model.score("\u2603 unseen \U0001f600").bpc)


def test_sentence_modes_and_decoding() -> None:
    text = "One fish swims here\nTwo fish swim there\nOne cat naps here\n" * 3
    model = MarkovGenerator.train(Corpus("t", text), MarkovGenerator.Options(sentences="newline"), seed=0)
    assert model.encode("One fish\nTwo") == [*model.encode("One fish"), END_ID, *model.encode("Two")]
    assert model.decode(model.encode("One fish\nTwo fish")) == " One fish\nTwo fish"
    out = model.generate("", max_tokens=12, seed=0)[0]
    assert "\n" in out and all(len(line.split()) <= 4 for line in out.split("\n"))


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="state_size"):
        toolkit.train("markov", Corpus("t", "A b. C d.\n" * 5), state_size=5)
    with pytest.raises(ValueError, match="novelty"):
        toolkit.train("markov", Corpus("t", "A b. C d.\n" * 5), level="char", novelty=True)
    with pytest.raises(ValueError, match="well_formed"):
        toolkit.train("markov", Corpus("t", '"All quoted." "Also quoted."\n' * 5))
    assert toolkit.train("markov", Corpus("t", '"All quoted." "Also quoted."\n' * 5), well_formed=False).info()
