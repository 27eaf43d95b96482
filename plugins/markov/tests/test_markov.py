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
from textgen_markov import chainfile
from textgen_markov.generator import CHAIN_FILE, MARKOVIFY_FILE, MODEL_FILE, MarkovGenerator, finished_sentences
from textgen_markov.levels import END_ID

import toolkit
from toolkit.data.corpora import Corpus, load_corpus
from toolkit.generation.sampling import SamplingOptions, distribution
from toolkit.generator import UnknownTokensWarning
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
    nats_check = "none"  # samples raw counts, scores Kneser-Ney words with spelled-out spacing

    def make_generator(self, tmp_path: Path) -> MarkovGenerator:
        return toolkit.train("markov", corpus_slice("sherlock", 80_000))


class TestNoveltyContract(TestWordContract):
    def make_generator(self, tmp_path: Path) -> MarkovGenerator:
        return toolkit.train("markov", corpus_slice("sherlock", 80_000), novelty=True, sentences="newline")


class TestCharContract(GeneratorContract):
    prompt = "ROMEO:"
    score_text = "ROMEO:\nI know not, sir.\n"
    nats_check = "normalised"  # samples raw counts, scores Kneser-Ney

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
    assert words.options.well_formed is False  # Sherlock's dialogue: the filter would drop over a fifth
    reference = markovify.Text(sherlock.train, state_size=2, well_formed=False)
    assert words.info()["states"] == len(reference.chain.model)
    assert words.info()["transitions"] == sum(len(f) for f in reference.chain.model.values())
    saved = tmp_path / "m.json"
    words.export("markovify", saved)
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
    after_holmes = {b for s in markovify.Text(sherlock.train, well_formed=False).parsed_sentences
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
    reference = markovify.Text(sherlock.train, state_size=2, well_formed=False)
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
        toolkit.train("markov", Corpus("t", '"All quoted." "Also quoted."\n' * 5), well_formed=True)
    assert toolkit.train("markov", Corpus("t", '"All quoted." "Also quoted."\n' * 5)).info()  # the rule: filter off


# -- files: the array format, markovify export and import, old directories --------------------


def test_array_format_round_trips_and_is_safetensors(words: MarkovGenerator, tmp_path: Path) -> None:
    load_file = pytest.importorskip("safetensors.numpy").load_file  # the neural extra's; markov needs none

    chars = toolkit.train("markov", corpus_slice("tinyshakespeare", 60_000), level="char", state_size=5)
    for model in (words, chars):
        folder = model.save(tmp_path / model.level.name)
        assert not (folder / MARKOVIFY_FILE).exists()
        on_disk = load_file(str(folder / CHAIN_FILE))  # plain safetensors readers take it too
        assert all(a.dtype.itemsize <= 4 for a in on_disk.values()), "narrow arrays on disk"
        arrays, _ = chainfile.read(folder / CHAIN_FILE)
        assert all(not a.flags.owndata and not a.flags.writeable for a in arrays.values()), "views of the mmap"
        loaded = toolkit.load(folder)
        for mine, theirs in zip(model.counts.ngram_keys + model.counts.context_keys + model.counts.continuation,
                                loaded.counts.ngram_keys + loaded.counts.context_keys + loaded.counts.continuation,
                                strict=True):
            assert np.array_equal(mine, theirs)
        assert loaded.generate("The", max_tokens=40, seed=5) == model.generate("The", max_tokens=40, seed=5)
        assert loaded.score("The end of it.\n").bpc == model.score("The end of it.\n").bpc


def test_continuation_counts_match_a_direct_count() -> None:
    """Kneser-Ney's continuation count of (b, w) is the number of distinct a with (a, b, w) seen."""
    model = MarkovGenerator.train(Corpus("t", "abracadabra, cabbage, abacab\n" * 3),
                                  MarkovGenerator.Options(level="char", state_size=2), seed=0)
    text = "abracadabra, cabbage, abacab\n" * 3
    padded = "\0\0" + text  # the chain pads with two BEGINs, which count as a left extension
    grams = {padded[i : i + 3] for i in range(len(padded) - 2)}
    counts, radix = model.counts, model.counts.radix
    names = [*model.level.vocab, "\0"]
    checked = 0
    for key, distinct in zip(counts.ngram_keys[1].tolist(), counts.continuation[1].tolist(), strict=True):
        b, w = names[int(counts.context_keys[1][key // radix]) % radix], names[key % radix]
        if b != "\0":  # a context starting at the text's start keeps its raw count
            assert distinct == len({g for g in grams if g[1:] == b + w})
            checked += 1
    assert checked > 10


def test_markovify_export_import_round_trip(words: MarkovGenerator, tmp_path: Path) -> None:
    chars = toolkit.train("markov", corpus_slice("tinyshakespeare", 40_000), level="char", state_size=4)
    for model, prompt in ((words, "Sherlock Holmes"), (chars, "ROMEO:")):
        exported = tmp_path / f"{model.level.name}.json"
        model.export("markovify", exported)
        back = toolkit.load(exported)
        assert back.level.name == model.level.name and back.state_size == model.state_size
        assert back.generate(prompt, max_tokens=60, seed=7, num_samples=3) == model.generate(
            prompt, max_tokens=60, seed=7, num_samples=3)
        assert back.score("A text to score.\n").bpc == pytest.approx(model.score("A text to score.\n").bpc)


def test_plain_markovify_file_loads(sherlock: Corpus, tmp_path: Path) -> None:
    reference = markovify.NewlineText(sherlock.train[:20_000], state_size=2)
    (tmp_path / "text.json").write_text(reference.to_json())
    (tmp_path / "chain.json").write_text(reference.chain.to_json())
    for name in ("text.json", "chain.json"):
        model = toolkit.load(tmp_path / name)
        assert model.level.name == "word" and model.state_size == 2
        assert model.info()["transitions"] == sum(len(f) for f in reference.chain.model.values())
        assert len(model.generate("", max_tokens=30, seed=1)[0].split()) > 5
    (tmp_path / "bad.json").write_text('{"state_size": 2, "chain": "[[[\\"a\\"], {\\"b\\": 1}]]"}')
    with pytest.raises(toolkit.TextgenError, match="state of size 2"):
        toolkit.load(tmp_path / "bad.json")


def test_old_model_directory_loads_with_a_hint(words: MarkovGenerator, tmp_path: Path) -> None:
    folder = words.save(tmp_path / "old")
    model = json.loads((folder / MODEL_FILE).read_text())
    del model["format_version"]
    (folder / MODEL_FILE).write_text(json.dumps(model))
    words.export("markovify", folder / MARKOVIFY_FILE)
    (folder / CHAIN_FILE).unlink()
    with pytest.warns(FutureWarning, match="textgen export .* --format textgen"):
        old = toolkit.load(folder)
    assert old.generate("Holmes", max_tokens=30, seed=2) == words.generate("Holmes", max_tokens=30, seed=2)


def test_cli_export_and_convert(words: MarkovGenerator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from toolkit.cli import main

    folder = words.save(tmp_path / "m")
    assert main(["export", str(folder), "--format", "markovify", str(tmp_path / "m.json")]) == 0
    assert markovify.Text.from_json((tmp_path / "m.json").read_text()).state_size == 2
    assert main(["export", str(tmp_path / "m.json"), "--format", "textgen", str(tmp_path / "again")]) == 0
    assert main(["generate", str(tmp_path / "again"), "--prompt", "Holmes", "--seed", "3", "--max-tokens", "20"]) == 0
    from_dir = capsys.readouterr().out.splitlines()[-1]
    assert from_dir == "Holmes" + words.generate("Holmes", seed=3, max_tokens=20)[0]
    with pytest.raises(SystemExit, match="2"):
        main(["export", str(folder), "--format", "jsonl", str(tmp_path / "x")])
    assert "invalid choice" in capsys.readouterr().err


# -- sentence mode (one item per line or running prose) ---------------------------------------------


@pytest.fixture(scope="module")
def titles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AG News titles, one short item per line, written at test time (skips if the corpora are not here)."""
    source = CORPORA / "ag_news_test.csv"
    if not source.is_file():
        pytest.skip(f"ag_news_test.csv is not in TEXTGEN_CORPORA ({CORPORA})")
    import csv

    with source.open(encoding="utf-8", newline="") as file:
        lines = [row[1] for row, _ in zip(csv.reader(file), range(3000), strict=False)]
    path = tmp_path_factory.mktemp("titles") / "titles.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_item_per_line_corpus_gets_newline_mode(titles: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no dropped-sentence warning by default
        model = toolkit.train("markov", titles, level="word")
    report = model.training["sentences"]
    assert report["mode"] == "newline" and "one item per line" in report["why"]
    lines = [line for line in titles.read_text().split("\n") if line.strip()]
    assert report["split"] >= 0.9 * len(lines) * 0.9  # the training split: the first 90% of the lines
    assert report["kept"] >= 0.95 * report["split"], report["summary"]
    assert "\n" in model.generate("", max_tokens=80, seed=1)[0], "one item per line comes back out"
    with pytest.warns(UserWarning, match="dropped .*more than a fifth"):
        forced = toolkit.train("markov", titles, level="word", sentences="text", well_formed=True)
    assert forced.training["sentences"]["why"] == "set with -o sentences"
    assert forced.training["val_bpc"] > model.training["val_bpc"]


def test_text_mode_turns_the_input_filter_off_when_it_would_drop_over_a_fifth() -> None:
    """markovify refuses every sentence with a quote: in a dialogue-heavy text that is most of them."""
    said = "".join(f'"I see {i} ships," said he. "They sail at dawn." She looked at the sea.\n' for i in range(200))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped, so nothing to warn about
        auto = toolkit.train("markov", Corpus("dialogue", said), level="word")
    report = auto.training["sentences"]
    assert report["mode"] == "text" and report["dropped"] == 0 and "would drop 67%" in report["why"]
    assert auto.options.well_formed is False
    with pytest.warns(UserWarning, match="more than a fifth"):
        kept_on = toolkit.train("markov", Corpus("dialogue", said), level="word", well_formed=True)
    assert kept_on.training["sentences"]["dropped"] * 3 >= 2 * kept_on.training["sentences"]["split"]
    plain = "".join(f"The ship {i} sails at dawn. She looked at the sea.\n" for i in range(200))
    assert toolkit.train("markov", Corpus("plain", plain), level="word").options.well_formed is True


def test_prose_gets_text_mode(sherlock: Corpus) -> None:
    report = toolkit.train("markov", sherlock).training["sentences"]
    assert report["mode"] == "text" and "running prose" in report["why"]
    assert report["summary"].startswith("sentences: text") and f"{report['kept']:,} of" in report["summary"]


def test_training_summary_states_the_mode(titles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from toolkit.cli import main

    assert main(["train", "markov", "--corpus", str(titles), "--level", "word", "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "sentences: newline (" in out and "dropped)" in out


def test_shard_counts_merge_to_the_whole() -> None:
    """docs/markov-at-scale.md: count shards apart (each with the context before it), merge the tables."""
    from textgen_markov.ngrams import NgramCounts, count_rows, unique_rows

    corpus = Corpus("t", "the cat sat on the mat; the dog sat on the log.\n" * 40)
    whole = MarkovGenerator.train(corpus, MarkovGenerator.Options(level="char", state_size=3), seed=0)
    level, radix = whole.level, whole.counts.radix
    tokens = np.concatenate([np.full(3, level.begin_id), level.ids(corpus.train)])
    cut = len(tokens) // 2
    shards = [count_rows([(tokens[:cut], np.arange(3, cut))], 3, radix),
              count_rows([(tokens[cut - 3 :], np.arange(3, len(tokens) - cut + 3))], 3, radix)]
    rows, counts = unique_rows(np.concatenate([r for r, _ in shards]), np.concatenate([c for _, c in shards]), radix)
    merged = NgramCounts.build(rows[:, :-1], rows[:, -1], radix, level.begin_id, counts)
    for mine, theirs in zip(merged.ngram_keys + merged.counts, whole.counts.ngram_keys + whole.counts.counts,
                            strict=True):
        assert np.array_equal(mine, theirs)
