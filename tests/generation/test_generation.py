"""The generation engine: processor list, stopping criteria, incremental decoding, linear work."""

from __future__ import annotations

import json

import pytest
from toys import Toy

from toolkit.cli import main
from toolkit.generation.decoding import IncrementalDecoder
from toolkit.generation.processors import SuppressTokens
from toolkit.generation.sampling import SamplingOptions
from toolkit.generation.stopping import Criterion, Verdict


class Uniform(Toy):
    """Uniform over a small alphabet; counts the characters it decodes, to show the work is linear."""

    name = "uniform-test"
    VOCAB = "abcd\n"

    def __init__(self) -> None:
        super().__init__()
        self.decoded_chars = 0

    def decode(self, ids):
        self.decoded_chars += len(ids)
        return super().decode(ids)


class NoD(Uniform):
    """A plugin that masks a token with its own processor."""

    def logits_processors(self):
        return [SuppressTokens([3])]


def test_options_build_processors_in_transformers_order():
    options = SamplingOptions(typical_p=0.9, min_p=0.05, top_p=0.9, top_k=5, temperature=0.7,
                              no_repeat_ngram_size=3, repetition_penalty=1.2)
    labels = [p.label for p in options.processors()]
    assert labels == ["repetition penalty 1.2", "no repeat 3-gram", "temperature 0.7", "top-k 5", "top-p 0.9",
                      "min-p 0.05", "typical-p 0.9"]
    assert SamplingOptions().processors() == []
    greedy = [p.label for p in SamplingOptions(temperature=0, top_k=3, repetition_penalty=1.5).processors()]
    assert greedy == ["repetition penalty 1.5", "temperature 0 (greedy)"]  # nothing after greedy can matter


def test_a_plugin_processor_masks_its_token():
    text = NoD().generate(max_tokens=400, seed=1)[0]
    assert "d" not in text and len(set(text)) == 4


@pytest.mark.parametrize("streaming", [False, True])
def test_max_chars_cuts_each_row(streaming):
    gen = Uniform()
    full = gen.generate(max_tokens=50, seed=3)[0]
    if streaming:
        assert "".join(gen.stream(max_tokens=50, seed=3, max_chars=17)) == full[:17]
    else:
        rows = gen.generate(max_tokens=50, seed=3, num_samples=3)
        assert gen.generate(max_tokens=50, seed=3, max_chars=17, num_samples=3) == [t[:17] for t in rows]
    assert gen.generate(max_tokens=5, seed=3, max_chars=17)[0] == full[:5]  # max tokens first
    assert gen.generate(max_tokens=50, seed=3, max_chars=0) == [""]


def test_a_caller_criterion_stops_rows():
    class AfterNewline(Criterion):
        def after_token(self, row):
            return Verdict.STOP if row.history[-1] == 4 else Verdict.GO

    texts = Uniform().generate(max_tokens=200, seed=0, num_samples=4, criteria=[AfterNewline()])
    assert all(t.endswith("\n") and t.count("\n") == 1 for t in texts)


@pytest.mark.parametrize("kwargs", [{"stream": True}, {"stop": "ddddddddddz"}, {"stream": True, "stop": "zz"}])
def test_decoding_work_per_token_does_not_grow_with_the_output(kwargs):
    """Streaming and stop strings decode a short window per token, not the whole text again."""
    work = {}
    for n in (500, 4000):
        gen = Uniform()
        if kwargs.get("stream"):
            text = "".join(gen.stream(max_tokens=n, seed=0, stop=kwargs.get("stop", ())))
        else:
            text = gen.generate(max_tokens=n, seed=0, stop=kwargs["stop"])[0]
        assert len(text) == n
        work[n] = gen.decoded_chars / n
    assert work[4000] <= work[500] * 1.1 and work[4000] < 6


def utf8_decode(ids):
    return bytes(ids).decode("utf-8", errors="replace")


def test_incremental_decoder_holds_back_a_half_utf8_character():
    ids: list[int] = []
    decoder = IncrementalDecoder(utf8_decode, ids, 0)
    pieces = []
    for byte in "añ€b".encode():
        ids.append(byte)
        pieces.append(decoder.step())
    pieces.append(decoder.flush())
    assert pieces == ["a", "", "ñ", "", "", "€", "b", ""] and decoder.text() == "añ€b"


def test_incremental_decoder_with_word_spacing_matches_decoding_at_once():
    words = ["the", "cat", ",", "sat", "."]

    def decode(ids):  # no space before punctuation: a token's text depends on the one before it
        out = ""
        for i in ids:
            out += words[i] if (not out or words[i] in ",.") else " " + words[i]
        return out

    ids: list[int] = []
    decoder = IncrementalDecoder(decode, ids, 0)
    for token in [0, 1, 2, 3, 4, 0, 1]:
        ids.append(token)
        decoder.step()
    decoder.flush()
    assert decoder.text() == decode(ids) == "the cat, sat. the cat"


@pytest.mark.parametrize(("call", "name"), [
    (lambda g: g.generate(None), "prompt"), (lambda g: g.generate(123), "prompt"),
    (lambda g: g.generate(b"abc"), "prompt"), (lambda g: list(g.stream(b"ab")), "prompt"),
    (lambda g: g.score(123), "text"), (lambda g: g.generate("a", stop=None), "stop"),
    (lambda g: g.generate("a", stop=5), "stop"), (lambda g: g.generate("a", stop=["a", 5]), "stop"),
    (lambda g: g.generate("a", max_chars="9"), "max_chars"),
])
def test_api_type_errors_name_the_parameter(call, name):
    with pytest.raises(TypeError, match=name):
        call(Uniform())


def test_bytes_prompt_error_says_how_to_fix_it():
    with pytest.raises(TypeError, match="decode"):
        Uniform().generate(b"ab")


def test_cli_max_chars(capsys, bigram_dir):
    code = main(["generate", str(bigram_dir), "--max-tokens", "80", "--max-chars", "12", "--num-samples", "2",
                 "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and [len(s) for s in result["samples"]] == [12, 12] and result["chars_per_second"] > 0
    assert main(["generate", str(bigram_dir), "--max-chars", "-1"]) == 2
    assert "max_chars" in capsys.readouterr().err
