"""The shared sampling layer: properties on dense logits and sparse `Candidates`,
hand-computed values, and agreement with transformers' own processors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toolkit import Generator
from toolkit.generation.sampling import (
    Candidates,
    NonFiniteScoresError,
    Sampler,
    SamplingOptions,
    distribution,
    process,
    sampling_options,
)

PROPERTY = settings(max_examples=60, deadline=None)

logit_values = st.floats(-20, 20, allow_nan=False, allow_infinity=False)


def dense_rows(min_vocab: int = 2, max_vocab: int = 24, unique: bool = False):
    if unique:  # hundredths, so no two probabilities are equal even in floating point
        values = st.lists(st.integers(-2000, 2000), min_size=min_vocab, max_size=max_vocab, unique=True)
        return values.map(lambda v: np.array([v], dtype=np.float64) / 100)
    return st.integers(min_vocab, max_vocab).flatmap(lambda v: arrays(np.float64, (1, v), elements=logit_values))


@st.composite
def candidate_rows(draw, max_vocab: int = 30, max_width: int = 8):
    """One row of follower ids with positive counts, padded by `from_counts` when batched."""
    width = draw(st.integers(1, max_width))
    ids = draw(st.lists(st.integers(0, max_vocab - 1), min_size=width, max_size=width, unique=True))
    counts = draw(st.lists(st.integers(1, 500), min_size=width, max_size=width))
    return np.array(ids), np.array(counts)


@st.composite
def any_options(draw):
    return SamplingOptions(
        temperature=draw(st.sampled_from([0.0, 0.3, 0.7, 1.0, 1.6, 4.0])),
        top_k=draw(st.integers(0, 10)),
        top_p=draw(st.sampled_from([1.0, 0.95, 0.8, 0.5, 0.1])),
        min_p=draw(st.sampled_from([0.0, 0.05, 0.3, 1.0])),
        typical_p=draw(st.sampled_from([1.0, 0.9, 0.5, 0.2])),
        repetition_penalty=draw(st.sampled_from([1.0, 0.8, 1.3, 3.0])),
        no_repeat_ngram_size=draw(st.integers(0, 3)),
    )


def dense_of(candidates: Candidates, vocab: int) -> np.ndarray:
    """The dense row equal to a one-row `Candidates`: -inf outside the follower list."""
    row = np.full((1, vocab), -np.inf)
    real = candidates.ids[0] >= 0
    row[0, candidates.ids[0][real]] = candidates.logits[0][real]
    return row


def probs_by_id(ids: np.ndarray, probs: np.ndarray) -> dict[int, float]:
    return {int(i): float(p) for i, p in zip(ids, probs, strict=True) if i >= 0}


def distinct(values: np.ndarray) -> bool:
    """No ties, not even near ones that would make probabilities equal in floating point."""
    return len(values) < 2 or bool(np.diff(np.sort(values)).min() > 1e-6)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


# --- properties --------------------------------------------------------------------


@PROPERTY
@given(dense_rows())
def test_greedy_is_the_argmax(logits):
    _, probs = distribution(logits, SamplingOptions(temperature=0))
    assert probs[np.argmax(logits[0])] == 1.0 and probs.sum() == 1.0
    sampler = Sampler(SamplingOptions(temperature=0), seed=0)
    batch = np.vstack([logits, logits[:, ::-1]])
    assert list(sampler(batch, [[], []])) == [np.argmax(batch[0]), np.argmax(batch[1])]


@PROPERTY
@given(st.lists(candidate_rows(), min_size=1, max_size=4))
def test_greedy_on_candidates_picks_the_most_frequent_follower(rows):
    sampled = Sampler(SamplingOptions(temperature=0), seed=3)(Candidates.from_counts(rows), [[]] * len(rows))
    for (ids, counts), token in zip(rows, sampled, strict=True):
        assert counts[list(ids).index(token)] == counts.max()


@PROPERTY
@given(dense_rows(unique=True), st.integers(1, 30))
def test_top_k_keeps_exactly_k_without_ties(logits, k):
    _, probs = distribution(logits, SamplingOptions(top_k=k))
    kept = set(np.flatnonzero(probs > 0))
    assert kept == set(np.argsort(-logits[0])[: min(k, logits.shape[1])])


@PROPERTY
@given(candidate_rows(), st.integers(1, 10))
def test_top_k_on_candidates(row, k):
    ids, counts = row
    assume(distinct(counts))
    got = probs_by_id(*distribution(Candidates.from_counts([row]), SamplingOptions(top_k=k)))
    expected = set(ids[np.argsort(-counts)[:k]])
    assert {i for i, p in got.items() if p > 0} == expected


def smallest_nucleus(probs: np.ndarray, p: float) -> set[int]:
    order = np.argsort(-probs, kind="stable")
    mass = np.cumsum(probs[order])
    assume(np.all(np.abs(mass - p) > 1e-9))  # no float coin-toss at the boundary
    return set(order[: int(np.searchsorted(mass, p)) + 1])


@PROPERTY
@given(dense_rows(unique=True), st.floats(0.01, 1.0))
def test_top_p_keeps_the_smallest_prefix_reaching_p(logits, p):
    _, probs = distribution(logits, SamplingOptions(top_p=p))
    assert set(np.flatnonzero(probs > 0)) == smallest_nucleus(softmax(logits[0]), p)


@PROPERTY
@given(candidate_rows(), st.floats(0.01, 1.0))
def test_top_p_on_candidates(row, p):
    ids, counts = row
    assume(distinct(counts))
    got = probs_by_id(*distribution(Candidates.from_counts([row]), SamplingOptions(top_p=p)))
    expected = {int(ids[i]) for i in smallest_nucleus(counts / counts.sum(), p)}
    assert {i for i, q in got.items() if q > 0} == expected


@PROPERTY
@given(dense_rows(), any_options(), st.lists(st.integers(0, 23), max_size=12))
def test_processed_probabilities_sum_to_one(logits, options, history):
    _, probs = distribution(logits, options, [h % logits.shape[1] for h in history])
    assert np.all(np.isfinite(probs)) and np.all(probs >= 0)
    assert math.isclose(probs.sum(), 1.0, rel_tol=1e-9)


@PROPERTY
@given(candidate_rows(), any_options(), st.lists(st.integers(0, 29), max_size=12))
def test_candidates_behave_exactly_like_the_equivalent_dense_row(row, options, history):
    """A follower list and a dense row with -inf elsewhere are the same distribution."""
    order_matters = options.greedy or options.top_p < 1 or options.typical_p < 1  # ties go to the first listed
    assume(not order_matters or distinct(row[1]))
    candidates = Candidates.from_counts([row])
    ids, sparse = distribution(candidates, options, history)
    _, dense = distribution(dense_of(candidates, 30), options, history)
    assert math.isclose(sparse.sum(), 1.0, rel_tol=1e-9)
    np.testing.assert_allclose(sparse[ids >= 0], dense[ids[ids >= 0]], atol=1e-12)
    assert math.isclose(dense[ids[ids >= 0]].sum(), 1.0, rel_tol=1e-9)


@PROPERTY
@given(candidate_rows(), st.floats(0.1, 5.0))
def test_temperature_on_counts_gives_counts_to_the_power_one_over_t(row, t):
    ids, counts = row
    got = probs_by_id(*distribution(Candidates.from_counts([row]), SamplingOptions(temperature=t)))
    weights = counts.astype(float) ** (1 / t)
    expected = dict(zip(ids.tolist(), weights / weights.sum(), strict=True))
    assert got.keys() == expected.keys()
    for token, p in expected.items():
        assert math.isclose(got[token], p, rel_tol=1e-9, abs_tol=1e-300)


def test_padded_rows_of_different_widths():
    candidates = Candidates.from_counts([(np.array([4]), np.array([3])), (np.array([1, 2, 3]), np.array([1, 1, 2]))])
    assert candidates.ids.tolist() == [[4, -1, -1], [1, 2, 3]]
    assert candidates.logits[0, 1] == -np.inf
    sampled = Sampler(SamplingOptions(), seed=0)(candidates, [[], []])
    assert sampled[0] == 4 and sampled[1] in (1, 2, 3)


def test_sampler_draws_from_the_processed_distribution():
    logits = np.log(np.array([[0.1, 0.2, 0.3, 0.4, 1e-9]]))
    options = SamplingOptions(temperature=0.7, top_k=4)
    _, expected = distribution(logits, options)
    n = 40_000
    sampled = Sampler(options, seed=1)(np.repeat(logits, n, axis=0), [[]] * n)
    frequencies = np.bincount(sampled, minlength=5) / n
    np.testing.assert_allclose(frequencies, expected, atol=0.01)
    assert frequencies[4] == 0


# --- seeds -------------------------------------------------------------------------

SEEDED_RUN = """
import json, sys
import numpy as np
from toolkit.generation.sampling import Sampler, SamplingOptions
logits = np.random.default_rng(0).normal(size=(3, 50)) * 3
sampler = Sampler(SamplingOptions(temperature=0.9, top_p=0.95), seed=int(sys.argv[1]))
print(json.dumps([sampler(logits, [[], [], []]).tolist() for _ in range(40)]))
"""


def seeded_run(seed: int) -> list:
    namespace: dict = {}
    lines: list[str] = []
    namespace["print"] = lines.append
    exec(SEEDED_RUN.replace("int(sys.argv[1])", str(seed)), namespace)
    return json.loads(lines[0])


def test_same_seed_same_tokens_in_this_and_another_process(run_python):
    here = seeded_run(1234)
    assert here == seeded_run(1234)
    assert here != seeded_run(1235)
    other = run_python(SEEDED_RUN, "1234")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == here


# --- hand-computed values ------------------------------------------------------------

FOUR = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))


def test_min_p_by_hand():
    _, probs = distribution(FOUR, SamplingOptions(min_p=0.2))  # threshold 0.2 * 0.5 = 0.1
    np.testing.assert_allclose(probs, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0])
    _, probs = distribution(FOUR, SamplingOptions(min_p=1.0))
    np.testing.assert_allclose(probs, [1, 0, 0, 0])


def test_typical_p_by_hand():
    # entropy 1.1422 nats; |-log p - H| = 0.449, 0.062, 0.755, 1.854, so the order is 1, 0, 2, 3
    # with cumulative mass 0.3, 0.8, 0.95, 1.0.
    _, probs = distribution(FOUR, SamplingOptions(typical_p=0.5))
    np.testing.assert_allclose(probs, [0.625, 0.375, 0, 0])
    _, probs = distribution(FOUR, SamplingOptions(typical_p=0.9))
    np.testing.assert_allclose(probs, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0])
    _, probs = distribution(FOUR, SamplingOptions(typical_p=0.2))
    np.testing.assert_allclose(probs, [0, 1, 0, 0])


def test_repetition_penalty_by_hand():
    logits = np.array([[2.0, -1.0, 0.5, 3.0]])
    processed = process(logits.copy(), None, [[0, 1, 1]], SamplingOptions(repetition_penalty=2.0))
    np.testing.assert_allclose(processed, [[1.0, -2.0, 0.5, 3.0]])
    candidates = Candidates(np.array([[7, 3, -1]]), np.array([[2.0, -1.0, -np.inf]]))
    _, probs = distribution(candidates, SamplingOptions(repetition_penalty=2.0), [3])
    np.testing.assert_allclose(probs, softmax(np.array([2.0, -2.0, -np.inf])))


def test_no_repeat_ngram_by_hand():
    logits = np.zeros((1, 5))
    history = [1, 2, 3, 1, 2]
    _, probs = distribution(logits, SamplingOptions(no_repeat_ngram_size=3), history)  # (1, 2) -> 3 seen
    np.testing.assert_allclose(probs, [0.25, 0.25, 0.25, 0, 0.25])
    _, probs = distribution(logits, SamplingOptions(no_repeat_ngram_size=2), history)  # 2 -> 3 seen
    np.testing.assert_allclose(probs, [0.25, 0.25, 0.25, 0, 0.25])
    _, probs = distribution(logits, SamplingOptions(no_repeat_ngram_size=4), history)  # (3, 1, 2) is new
    np.testing.assert_allclose(probs, [0.2] * 5)


def test_no_repeat_ngram_that_bans_every_follower_keeps_the_model_distribution():
    """If the only followers would all repeat an n-gram, the option is ignored, not the model."""
    rows = [(np.array([3, 4]), np.array([1, 9]))]
    ids, probs = distribution(Candidates.from_counts(rows), SamplingOptions(no_repeat_ngram_size=2), [2, 3, 2, 4, 2])
    assert probs_by_id(ids, probs) == pytest.approx({3: 0.1, 4: 0.9})
    masked = np.array([[-np.inf, -np.inf, np.log(0.25), np.log(0.75)]])
    _, probs = distribution(masked, SamplingOptions(no_repeat_ngram_size=2), [1, 2, 1, 3, 1])
    np.testing.assert_allclose(probs, [0, 0, 0.25, 0.75])


def test_no_repeat_ngram_memory_follows_each_row_as_text_grows():
    sampler = Sampler(SamplingOptions(temperature=0, no_repeat_ngram_size=2), seed=0)
    logits = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    assert sampler(logits, [[2], [0]]).tolist() == [2, 2]  # nothing seen yet
    assert sampler(logits, [[2, 2], [0, 2]]).tolist() == [1, 2]  # row 0 saw (2, 2)
    assert sampler(logits, [[2, 2, 1], [0, 2, 2]]).tolist() == [2, 1]


# --- against transformers ------------------------------------------------------------


@pytest.fixture(scope="module")
def hf():
    torch = pytest.importorskip("torch")
    logits_process = pytest.importorskip("transformers.generation.logits_process")
    return torch, logits_process


def hf_process(hf, logits: np.ndarray, histories: list[list[int]], options: SamplingOptions) -> np.ndarray:
    """transformers' processors, in the order `generate` applies them."""
    torch, lp = hf
    o = options
    steps = []
    if o.repetition_penalty != 1.0:
        steps.append(lp.RepetitionPenaltyLogitsProcessor(o.repetition_penalty))
    if o.no_repeat_ngram_size:
        steps.append(lp.NoRepeatNGramLogitsProcessor(o.no_repeat_ngram_size))
    if o.temperature != 1.0:
        steps.append(lp.TemperatureLogitsWarper(o.temperature))
    if o.top_k:
        steps.append(lp.TopKLogitsWarper(o.top_k))
    if o.top_p < 1.0:
        steps.append(lp.TopPLogitsWarper(o.top_p))
    if o.min_p > 0.0:
        steps.append(lp.MinPLogitsWarper(o.min_p))
    if o.typical_p < 1.0:
        steps.append(lp.TypicalLogitsWarper(o.typical_p))
    input_ids = torch.tensor(histories, dtype=torch.long)
    scores = torch.tensor(logits)
    for step in steps:
        scores = step(input_ids, scores)
    return scores.numpy()


HF_CASES = [
    {"temperature": 0.7},
    {"top_k": 5},
    {"top_p": 0.9},
    {"top_p": 0.3},
    {"min_p": 0.1},
    {"typical_p": 0.9},
    {"typical_p": 0.4},
    {"repetition_penalty": 1.3},
    {"repetition_penalty": 0.7},
    {"no_repeat_ngram_size": 2},
    {"no_repeat_ngram_size": 3},
    {"temperature": 1.3, "top_k": 20, "top_p": 0.8, "min_p": 0.02, "typical_p": 0.95, "repetition_penalty": 1.2},
    {"temperature": 0.5, "top_k": 8, "typical_p": 0.7, "no_repeat_ngram_size": 2, "repetition_penalty": 1.5},
]


@pytest.mark.parametrize("values", HF_CASES, ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()))
def test_processors_match_transformers(hf, values):
    rng = np.random.default_rng(42)
    logits = rng.normal(size=(4, 40)) * 2.5
    histories = rng.integers(0, 6, size=(4, 12)).tolist()  # a small alphabet, so n-grams repeat
    options = SamplingOptions(**values)
    ours = process(logits.copy(), None, histories, options)
    theirs = hf_process(hf, logits, histories, options)
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(theirs))
    np.testing.assert_allclose(ours[np.isfinite(ours)], theirs[np.isfinite(theirs)], rtol=1e-12)


# --- bad values and bad plugins ------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [
    ("temperature", -0.1), ("temperature", float("nan")), ("temperature", float("inf")), ("temperature", "hot"),
    ("top_p", 0.0), ("top_p", 1.01), ("top_p", -0.5), ("top_p", float("nan")), ("top_k", -1), ("top_k", 2.5),
    ("min_p", -0.1), ("min_p", 1.5), ("typical_p", 0.0), ("repetition_penalty", 0.0),
    ("no_repeat_ngram_size", -1),
])
def test_bad_values_raise_value_error_naming_the_parameter(name, value):
    with pytest.raises(ValueError, match=name):
        sampling_options(**{name: value})


def test_unknown_option_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"temprature.*known: temperature"):
        sampling_options(temprature=0.5)


class Constant(Generator):
    """A plugin that returns whatever logits it is given: here, broken ones."""

    name = "constant-test"

    def __init__(self, logits: np.ndarray) -> None:
        super().__init__()
        self.logits = logits

    @classmethod
    def train(cls, corpus, options, *, seed, out=None):
        raise NotImplementedError

    def save_files(self, folder):
        return {}

    @classmethod
    def load_files(cls, folder, manifest, *, device="auto"):
        raise NotImplementedError

    def encode(self, text):
        return [0] * len(text)

    def decode(self, ids):
        return "x" * len(ids)

    def begin(self, prompt, n):
        return None, np.repeat(self.logits, n, axis=0)

    def advance(self, state, tokens):
        return None, np.repeat(self.logits, len(tokens), axis=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_logits_from_a_plugin_name_the_plugin(bad):
    gen = Constant(np.array([[0.0, bad, 1.0]]))
    with pytest.raises(NonFiniteScoresError, match="constant-test"):
        gen.generate(max_tokens=3)
    with pytest.raises(NonFiniteScoresError, match="constant-test"):
        gen.score("xx")


def test_a_row_with_no_possible_token_names_the_plugin():
    with pytest.raises(NonFiniteScoresError, match="constant-test"):
        Constant(np.full((1, 3), -np.inf)).generate(max_tokens=3)
    with pytest.raises(NonFiniteScoresError, match="my-plugin"):
        Sampler(SamplingOptions(), 0, "my-plugin")(np.zeros(3), [[]])  # not (batch, vocab)


def test_minus_inf_logits_are_fine():
    gen = Constant(np.array([[-np.inf, 0.0, -np.inf]]))
    completion = gen.complete(max_tokens=5, num_samples=2)
    assert completion.tokens == [[1] * 5, [1] * 5]
