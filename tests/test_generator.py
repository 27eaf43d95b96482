"""What the core builds on the generator interface: stop strings, streaming, refused segments,
unknown-token warnings, atomic save, load errors and bits per character."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from textgen_bigram import BigramGenerator, BigramOptions
from toys import Toy

import toolkit
from toolkit import Generator
from toolkit.data.corpora import Corpus
from toolkit.data.tokenize import UNICODE_NATS
from toolkit.errors import ModelDirError
from toolkit.generation.sampling import Candidates
from toolkit.generation.stopping import SegmentFilter
from toolkit.generator import UnknownTokensWarning
from toolkit.modeldir import MANIFEST


class Sentences(Toy):
    """Sentences over "a", "b", ending in "."; a sentence holding "b" is refused."""

    name = "sentences-test"
    VOCAB = "ab."
    PROBS = np.log([[0.6, 0.15, 0.25]])

    def __init__(self, max_segment_tries: int = 50) -> None:
        super().__init__()
        self.max_segment_tries = max_segment_tries

    def stopping_criteria(self):
        return [SegmentFilter(frozenset({2}), self.reject_segment, self.max_segment_tries)]

    def logits(self, n):
        return self.PROBS.repeat(n, axis=0)

    def begin_rows(self, histories):
        return None, self.logits(len(histories))

    def reject_segment(self, tokens):
        return 1 in tokens


class Followers(Sentences):
    """A chain given as sparse follower lists: "a" never follows "b"."""

    name = "followers-test"

    def begin(self, prompt, n):
        return self.advance(None, np.full(n, prompt[-1] if prompt else 2))

    def advance(self, state, tokens):
        rows = [(np.array([2, 1]), np.array([1, 1])) if t == 1 else (np.array([0, 1, 2]), np.array([12, 3, 5]))
                for t in tokens]
        return None, Candidates.from_counts(rows)

    def reject_segment(self, tokens):
        return False


def finished_segments(text: str) -> list[str]:
    return text.split(".")[:-1]


@pytest.mark.parametrize("seed", range(5))
def test_refused_segments_never_reach_the_text(seed):
    completion = Sentences().complete(max_tokens=200, num_samples=3, seed=seed)
    for text in completion.texts:
        assert len(finished_segments(text)) > 5
        assert not any("b" in s for s in finished_segments(text)), text
    assert completion.rejected_segments > 0


def test_refused_segments_are_kept_once_tries_run_out():
    texts = Sentences(max_segment_tries=0).generate(max_tokens=300, num_samples=2, seed=0)
    assert any("b" in s for t in texts for s in finished_segments(t))
    assert Sentences(max_segment_tries=0).complete(max_tokens=50).rejected_segments == 0


@pytest.mark.parametrize("stop", [(), ".aa", ["a.a", "..."]])
def test_stream_of_refusing_generator_equals_generate(stop):
    gen = Sentences()
    for seed in range(12):
        streamed = "".join(gen.stream("a", max_tokens=120, seed=seed, stop=stop))
        assert streamed == gen.generate("a", max_tokens=120, seed=seed, stop=stop)[0]


def test_candidates_generator_follows_its_lists_and_scores_them():
    gen = Followers()
    text = gen.generate(".", max_tokens=300, seed=1)[0]
    assert "ba" not in text and "bb" in text
    # P(a | .) P(b | a) P(. | b) = 0.6 * 0.15 * 0.5
    assert math.isclose(gen.score("ab.").nats, -math.log(0.6 * 0.15 * 0.5))
    assert gen.score("ba").nats == math.inf  # "a" never follows "b": the chain cannot produce it
    assert "".join(gen.stream(".", max_tokens=80, seed=2)) == gen.generate(".", max_tokens=80, seed=2)[0]


def test_stop_strings_cut_at_the_earliest(bigram_model):
    full = bigram_model.generate("the ", max_tokens=80, seed=4)[0]
    i = next(i for i in range(10, 60) if full.find(full[i : i + 2]) == i)  # a pair not seen before i
    j = next(j for j in range(i + 5, 70) if full.find(full[j : j + 3]) == j)
    first, second = full[i : i + 2], full[j : j + 3]
    assert bigram_model.generate("the ", max_tokens=80, seed=4, stop=[second, first])[0] == full[:i]
    assert bigram_model.generate("the ", max_tokens=80, seed=4, stop=second)[0] == full[:j]
    assert bigram_model.generate("the ", max_tokens=80, seed=4, stop="\x00never")[0] == full
    with pytest.raises(ValueError, match="stop strings must not be empty"):
        bigram_model.generate(stop=[""])


def test_rows_stop_independently_and_streaming_matches(bigram_model):
    completion = bigram_model.complete("the ", max_tokens=60, num_samples=4, seed=8, stop=" a")
    full = bigram_model.complete("the ", max_tokens=60, num_samples=4, seed=8)
    for cut, whole in zip(completion.texts, full.texts, strict=True):
        assert cut == (whole[: whole.index(" a")] if " a" in whole else whole)
    for seed in range(6):
        for kwargs in ({}, {"stop": "t "}, {"stop": ["on", "og."], "temperature": 1.5}):
            streamed = list(bigram_model.stream("the ", max_tokens=50, seed=seed, **kwargs))
            assert "".join(streamed) == bigram_model.generate("the ", max_tokens=50, seed=seed, **kwargs)[0]
            assert all(streamed), "empty pieces are not yielded"


def test_completion_record(bigram_model):
    completion = bigram_model.complete("the", max_tokens=15, num_samples=2, seed=1)
    data = completion.to_json()
    assert data["samples"] == completion.texts and data["num_tokens"] == 30 == completion.num_tokens
    assert data["prompt"] == "the" and data["seconds"] > 0 and data["tokens_per_second"] > 0
    assert all(len(t) == 15 for t in completion.texts)  # one character per token


def test_unknown_prompt_characters_warn(bigram_model):
    with pytest.warns(UnknownTokensWarning, match=r"bigram: the prompt has 2 piece\(s\).*'☃', 'Z'"):
        texts = bigram_model.generate("☃Z the", max_tokens=5)
    assert len(texts[0]) == 5 and "\ufffd" not in texts[0]  # <unk> is suppressed


def test_known_prompt_does_not_warn(bigram_model, recwarn):
    bigram_model.generate("the cat", max_tokens=5)
    assert not [w for w in recwarn if issubclass(w.category, UnknownTokensWarning)]


# --- saving and loading ------------------------------------------------------------


class ExplodingBigram(BigramGenerator):
    """Fails half way through writing its files, as a full disk would."""

    def save_files(self, folder):
        super().save_files(folder)
        raise OSError("No space left on device")


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_failed_save_leaves_the_old_directory_intact(bigram_model, tmp_path):
    path = bigram_model.save(tmp_path / "model")
    before = snapshot(path)
    broken = ExplodingBigram(bigram_model.tokenizer, bigram_model.log_probs * 2, 0.5)
    with pytest.raises(OSError, match="No space left"):
        broken.save(path)
    assert snapshot(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no half-written leftovers
    assert toolkit.load(path).generate(max_tokens=10, seed=1) == bigram_model.generate(max_tokens=10, seed=1)


def test_save_replaces_an_existing_model(bigram_model, tmp_path):
    path = bigram_model.save(tmp_path / "model")
    other = BigramGenerator(bigram_model.tokenizer, bigram_model.log_probs[::-1].copy(), 0.7)
    other.save(path)
    assert json.loads((path / MANIFEST).read_text())["smoothing"] == 0.7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_manifest_records_plugin_and_training(bigram_dir):
    manifest = json.loads((bigram_dir / MANIFEST).read_text())
    assert manifest["format"] == "textgen-model" and manifest["plugin"] == "bigram"
    assert manifest["distribution"] == "textgen-bigram"
    assert manifest["training"]["options"] == {"smoothing": 0.1} and manifest["training"]["val_bpc"] > 0


def test_load_missing_directory(tmp_path):
    with pytest.raises(ModelDirError, match=re.escape(f"no model directory {str(tmp_path / 'gone')!r}")):
        toolkit.load(tmp_path / "gone")


def test_load_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelDirError, match="is not a textgen model directory"):
        toolkit.load(tmp_path)


@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "corrupt textgen.json"),
    (b"\xff\xfe\x00", "corrupt textgen.json"),
    (b"[1, 2]", "is not a textgen model manifest"),
    (b'{"format": "something-else", "plugin": "bigram"}', "is not a textgen model manifest"),
    (b'{"format": "textgen-model"}', "is not a textgen model manifest"),
])
def test_load_corrupt_manifest(bigram_model, tmp_path, content, message):
    path = bigram_model.save(tmp_path / "model")
    (path / MANIFEST).write_bytes(content)
    with pytest.raises(ModelDirError, match=message):
        toolkit.load(path)


def test_load_model_of_an_uninstalled_plugin(bigram_model, tmp_path):
    path = bigram_model.save(tmp_path / "model")
    manifest = json.loads((path / MANIFEST).read_text())
    (path / MANIFEST).write_text(json.dumps({**manifest, "plugin": "ghost", "distribution": "textgen-ghost",
                                             "plugin_version": "9.9"}))
    with pytest.raises(ModelDirError, match=r"needs plugin 'ghost' \(textgen-ghost 9.9\): no plugin named 'ghost'"):
        toolkit.load(path)


def test_load_unregistered_generator(tmp_path):
    path = Sentences().save(tmp_path / "model")
    assert json.loads((path / MANIFEST).read_text())["distribution"] == "unregistered"
    with pytest.raises(ModelDirError, match="needs plugin 'sentences-test'"):
        toolkit.load(path)


def test_load_damaged_files_and_wrong_plugin(bigram_model, tmp_path):
    path = bigram_model.save(tmp_path / "model")
    with pytest.raises(ModelDirError, match="is a 'bigram' model, not 'markov'"):
        toolkit.load(path, plugin="markov")
    (path / "log_probs.npy").write_bytes(b"\x00garbage")
    with pytest.raises(ModelDirError, match=r"cannot load 'bigram' model \(ValueError"):
        toolkit.load(path)
    (path / "log_probs.npy").unlink()
    with pytest.raises(ModelDirError, match=r"cannot load 'bigram' model \(FileNotFoundError"):
        toolkit.load(path)


# --- scoring -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def aab():
    """Trained on "aab" * 9 (the first 90% of "aab" * 10) with add-0.5 smoothing over <unk>, a, b.

    Counts: a->a 9, a->b 9, b->a 8, start->a 1. Rows: start (0.5, 1.5, 0.5) / 2.5,
    a (0.5, 9.5, 9.5) / 19.5, b (0.5, 8.5, 0.5) / 9.5.
    """
    return BigramGenerator.train(Corpus("aab", "aab" * 10), BigramOptions(smoothing=0.5), seed=0)


def test_bits_per_character_by_hand(aab):
    score = aab.score("aba")
    nats = -math.log(1.5 / 2.5) - math.log(9.5 / 19.5) - math.log(8.5 / 9.5)
    assert (score.chars, score.tokens) == (3, 3)
    assert math.isclose(score.nats, nats, rel_tol=1e-12)
    assert math.isclose(score.bpc, nats / math.log(2) / 3, rel_tol=1e-12)
    assert math.isclose(score.to_json()["bpc"], score.bpc)


def test_unknown_characters_are_charged_their_spelling(aab):
    with pytest.warns(UnknownTokensWarning, match="scored text has 1 piece.*'☃'"):  # as the README promises
        score = aab.score("a☃")
    nats = -math.log(1.5 / 2.5) - math.log(0.5 / 19.5) + UNICODE_NATS
    assert math.isclose(score.nats, nats, rel_tol=1e-12) and score.unknown == ["☃"]


def test_default_stepwise_nats_equals_the_plugins_fast_one(aab, bigram_model):
    for gen, text in ((aab, "abaab☃ba"), (bigram_model, "the dog sat on a cat.\nthe log")):
        ids = gen.encode(text)
        fast, slow = gen.token_nats(ids), Generator.token_nats(gen, ids)
        assert len(fast) == len(slow) == len(ids) and np.allclose(fast, slow, rtol=1e-12)


def test_score_of_empty_text(aab):
    with pytest.raises(ValueError, match="empty"):
        aab.score("")


class LongTokens(Sentences):
    """Token 1 is 100 characters long, as a whitespace run or a long BPE token can be."""

    name = "long-tokens-test"
    PIECES = ("a", " " * 99 + "b", ".")

    def decode(self, ids):
        return "".join(self.PIECES[i] for i in ids)

    def reject_segment(self, tokens):
        return False


def test_stop_string_ending_in_a_long_token_is_found():
    gen = LongTokens()
    full = gen.generate(max_tokens=40, seed=0)[0]
    at = full.find("a ")
    assert at >= 0, "choose another seed"
    assert gen.generate(max_tokens=40, seed=0, stop="a ")[0] == full[:at]
    assert "".join(gen.stream(max_tokens=40, seed=0, stop="a ")) == full[:at]


@pytest.mark.parametrize("stop", [(), ".aa"])
def test_batched_stream_of_refusing_generator_equals_generate(stop):
    """Rows rewound on their own (a refused sentence) stream exactly what `generate` returns for the batch."""
    gen = Sentences()
    for seed in range(4):
        parts = [[] for _ in range(3)]
        for pieces in gen.stream_batch("a", max_tokens=120, num_samples=3, seed=seed, stop=stop):
            for part, piece in zip(parts, pieces, strict=True):
                part.append(piece)
        assert ["".join(p) for p in parts] == gen.generate("a", max_tokens=120, num_samples=3, seed=seed, stop=stop)
