"""Text metrics against values worked out by hand on tiny texts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.evaluation.metrics import (
    TrainingIndex,
    bleu,
    distinct_n,
    ngrams,
    passages,
    repetition_rate,
    self_bleu,
    suffix_array,
)


def test_distinct_n_pools_samples_and_never_crosses_them():
    assert distinct_n(["a b a b"], 1) == 2 / 4
    assert distinct_n(["a b a b"], 2) == 2 / 3  # (a b) (b a) (a b)
    assert distinct_n(["a b", "b c"], 2) == 1.0  # "b b" across the boundary is not an n-gram
    assert distinct_n(["a b", "a b"], 2) == 1 / 2
    assert distinct_n(["a", ""], 2) == 0.0


def test_repetition_rate_counts_repeats_within_a_sample():
    assert repetition_rate(["a b a b"], 2) == 1 / 3
    assert repetition_rate(["a b c", "a b c"], 2) == 0.0  # repeats across samples are not loops
    assert repetition_rate(["x x x x x"], 1) == 4 / 5
    assert repetition_rate(["a b a b", "c d e"], 2) == 1 / 5
    assert repetition_rate(["short"], 4) == 0.0


def test_bleu_by_hand():
    # p1 = 2/3, p2 = 1/2, equal lengths: BLEU-2 = sqrt(2/3 * 1/2)
    assert bleu("a b c".split(), ["a b d".split()], max_n=2) == pytest.approx(math.sqrt(1 / 3))
    # identical: 1; nothing shared: 0
    assert bleu("a b c d".split(), ["a b c d".split()]) == pytest.approx(1.0)
    assert bleu("a b".split(), ["c d".split()]) == 0.0
    # clipping: "the the the" against "the cat": p1 = 1/3; p2 = 0.1/2 (smoothed); BP = 1 (3 > 2)
    assert bleu("the the the".split(), ["the cat".split()], max_n=2) == pytest.approx(math.sqrt(1 / 3 * 0.05))
    # brevity: hypothesis "a" (1 word) against "a b" (2): p1 = 1, BP = exp(1 - 2)
    assert bleu(["a"], ["a b".split()], max_n=1) == pytest.approx(math.exp(-1))


def test_self_bleu_is_the_mean_over_each_sample_against_the_rest():
    assert self_bleu(["a b c", "a b d"], max_n=2) == pytest.approx(math.sqrt(1 / 3))
    assert self_bleu(["a b c d", "a b c d", "a b c d"]) == pytest.approx(1.0)
    assert self_bleu(["a b", "c d", "e f"]) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        self_bleu(["alone"])


def test_ngrams_rejects_a_bad_n():
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]
    with pytest.raises(ValueError, match="n must be"):
        ngrams(["a"], 0)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab\nç", max_size=60))
def test_suffix_array_sorts_suffixes_as_python_does(text):
    assert list(suffix_array(text)) == sorted(range(len(text)), key=lambda i: text[i:])


TRAIN = "the cat sat on the mat.\nthe dog sat on the log.\n\nROMEO:\nbut soft what light\n"


def test_ngram_overlap_and_longest_copy_by_hand():
    index = TrainingIndex.build(TRAIN, n=2)
    # bigrams of "the cat ran on the log.": (the cat) yes, (cat ran) no, (ran on) no, (on the) yes, (the log.) yes
    assert index.ngram_overlap("the cat ran on the log.") == 3 / 5
    assert index.ngram_overlap("cat") is None
    assert index.longest_copy("a dog sat on the mat!") == (16, " dog sat on the ")  # beats " sat on the mat"
    assert index.longest_copy("") == (0, "")
    assert index.longest_copy("zzz") == (0, "")
    assert index.occurs("soft what") and not index.occurs("soft wha!")


def test_markovify_reject_matches_markovify_itself():
    markovify = pytest.importorskip("markovify")
    train = "the cat sat on the mat. the dog sat on the log. a bird flew over the mat."
    chain = markovify.Text(train, well_formed=False)
    index = TrainingIndex.build(train)
    for sample in ["the cat sat on the log.", "the cat sat", "a bird", "sat on the mat. the dog",
                   "cat sat on the mat. the dog sat on the log. a bird flew", "dog", "mat. a bird flew over"]:
        expected = not chain.test_sentence_output(sample.split(), 0.7, 15)
        assert index.markovify_reject(sample) == expected, sample
    assert index.markovify_reject("") is False


def test_markovify_rule_on_long_samples_needs_sixteen_copied_words():
    train = " ".join(f"w{i}" for i in range(100))
    index = TrainingIndex.build(train)
    copied16 = " ".join(f"w{i}" for i in range(10, 26))
    copied15 = " ".join(f"w{i}" for i in range(10, 25))
    noise = " ".join(["x"] * 20)
    assert index.markovify_reject(f"{noise} {copied16} {noise}")
    assert not index.markovify_reject(f"{noise} {copied15} {noise}")


def test_nearest_passage_finds_the_paragraph():
    pytest.importorskip("sklearn")
    index = TrainingIndex.build(TRAIN, passage_chars=40)
    passage, similarity = index.nearest_passage("soft! what light")
    assert passage == "ROMEO:\nbut soft what light"
    assert 0.0 < similarity <= 1.0
    novelty = index.novelty("the dog sat on the log.")
    assert set(novelty) == {"ngram_overlap", "longest_copy", "longest_copy_span", "markovify_reject",
                            "nearest_passage", "nearest_similarity"}
    assert novelty["longest_copy"] == len("the dog sat on the log.")
    assert novelty["nearest_passage"] == "the dog sat on the log."
    assert novelty["markovify_reject"] is True


def test_passages_split_at_blank_lines_and_cut_long_lines():
    assert passages("A:\nhi there\n\nB:\nho there\n", 20) == ["A:\nhi there", "B:\nho there"]
    assert passages("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert passages("\n\n\n") == []
