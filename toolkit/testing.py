"""The plugin contract kit: the checks every generator must pass, for any plugin author.

Use it from pytest by subclassing `GeneratorContract` and building a small model::

    from toolkit.testing import GeneratorContract

    class TestMyPlugin(GeneratorContract):
        prompt = "The "
        score_text = "The cat sat on the mat.\\n"

        def make_generator(self, tmp_path):
            return toolkit.train("myplugin", corpus_of_a_few_kb)

Each check is also a plain function (``check_*``) that raises AssertionError, and
`check_generator` runs them all outside pytest. The plugin must be registered under
``textgen.generators`` for the save-and-load checks, which go through `toolkit.load`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Literal

import pytest

from .api import load
from .errors import ModelDirError
from .generator import Generator
from .modeldir import MANIFEST

NatsCheck = Literal["steps", "normalised", "none"]

BAD_OPTIONS = [
    ("temperature", -0.5), ("temperature", float("nan")), ("top_p", 0.0), ("top_p", 1.5),
    ("top_k", -1), ("min_p", 2.0), ("typical_p", 0.0), ("repetition_penalty", 0.0), ("no_repeat_ngram_size", -2),
]


def check_deterministic(gen: Generator, prompt: str = "") -> None:
    """Same seed, same text; temperature 0 is greedy, so the seed does not matter."""
    first = gen.generate(prompt, max_tokens=30, num_samples=2, seed=7)
    assert first == gen.generate(prompt, max_tokens=30, num_samples=2, seed=7), "same seed gave different text"
    greedy = gen.generate(prompt, max_tokens=20, seed=1, temperature=0)
    assert greedy == gen.generate(prompt, max_tokens=20, seed=2, temperature=0), "temperature 0 is not greedy"
    others = [gen.generate(prompt, max_tokens=30, seed=s)[0] for s in (1, 2, 3, 4)]
    assert len(set(others)) > 1, "different seeds always gave the same text"


def check_max_tokens(gen: Generator, prompt: str = "") -> None:
    for limit in (0, 1, 7):
        completion = gen.complete(prompt, max_tokens=limit, num_samples=3, seed=3)
        assert len(completion.texts) == 3
        assert all(len(t) <= limit for t in completion.tokens), f"more than max_tokens={limit} tokens"
    assert gen.generate(prompt, max_tokens=0) == [""]


def check_stop(gen: Generator, prompt: str = "") -> None:
    """Generation ends before the first stop string, and is otherwise the same text."""
    full = gen.generate(prompt, max_tokens=60, seed=5)[0]
    assert len(full) >= 6, f"the model produced too little text to test stop strings: {full!r}"
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    expected = full[: full.find(stop)]
    assert gen.generate(prompt, max_tokens=60, seed=5, stop=stop)[0] == expected
    assert gen.generate(prompt, max_tokens=60, seed=5, stop=[stop, "\x00never"])[0] == expected


def check_stream(gen: Generator, prompt: str = "") -> None:
    """Streamed pieces join to exactly the text `generate` returns, with and without stops."""
    for kwargs in ({}, {"temperature": 0.8, "top_k": 5}):
        pieces = list(gen.stream(prompt, max_tokens=40, seed=9, **kwargs))
        assert "".join(pieces) == gen.generate(prompt, max_tokens=40, seed=9, **kwargs)[0]
    full = gen.generate(prompt, max_tokens=40, seed=9)[0]
    if len(full) >= 4:
        stop = full[len(full) // 2 : len(full) // 2 + 2]
        streamed = "".join(gen.stream(prompt, max_tokens=40, seed=9, stop=stop))
        assert streamed == gen.generate(prompt, max_tokens=40, seed=9, stop=stop)[0]


def check_score(gen: Generator, text: str) -> None:
    score = gen.score(text)
    assert math.isfinite(score.bpc) and score.bpc > 0, f"bits per character is {score.bpc}"
    assert score.chars == len(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        odd = gen.score(text + " \u2603\u00e9\u4e2d ")  # characters a small model never saw
    assert math.isfinite(odd.bpc), "an unknown character made the score infinite"


def check_nats(gen: Generator, text: str, rel_tol: float = 1e-6) -> None:
    """A plugin's faster ``token_nats`` gives the code length the step-by-step default does.

    Bits per character is the headline of ``compare``, so a scorer that is off (say, one
    that halves the code length) must fail here rather than win comparisons.
    """
    if type(gen).token_nats is Generator.token_nats:
        return
    ids = gen.encode(text)
    fast = gen.token_nats(ids)
    slow = Generator.token_nats(gen, ids)
    assert len(fast) == len(slow), f"token_nats gave {len(fast)} values for {len(slow)} tokens"
    fast_total, slow_total = math.fsum(fast.tolist()), math.fsum(slow.tolist())
    assert math.isclose(fast_total, slow_total, rel_tol=rel_tol), (
        f"{type(gen).__name__}.token_nats gives {fast_total} nats for {text[:30]!r}, but stepping through "
        f"begin/advance gives {slow_total} "
        f"(relative difference {abs(fast_total - slow_total) / max(abs(slow_total), 1e-300):.2e} > {rel_tol})")


def check_surprisal(gen: Generator, text: str) -> None:
    """``surprisal`` gives every character finite, non-negative bits that add up to ``score``'s code length."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sample in (text, text + " \u2603\u00e9\u4e2d "):  # with characters a small model never saw
            found, score = gen.surprisal(sample), gen.score(sample)
            assert len(found.bits) == len(sample), f"surprisal gave {len(found.bits)} values for {len(sample)} chars"
            assert all(math.isfinite(b) and b >= -1e-9 for b in found.bits), "a character got negative or no bits"
            assert math.isclose(found.total_bits, score.nats / math.log(2), rel_tol=1e-9), (
                f"{type(gen).__name__}: surprisal adds up to {found.total_bits} bits for {sample[:30]!r}, "
                f"score to {score.nats / math.log(2)}")
            assert found.bpc == score.bpc


def check_nats_normalised(gen: Generator, text: str, alphabet: str, tol: float = 1e-6) -> None:
    """A smoothed character-level scorer never gives the next character more than probability 1 in all.

    For a model that samples one distribution and scores another (so `check_nats` does not
    apply), the probabilities its code length implies for each character after a prefix of ``text``
    must sum to at most 1 over ``alphabet``: a scorer that undercounts (halves the code
    length, say) claims more.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cut in sorted({1, len(text) // 2, len(text) - 1}):
            prefix = text[:cut]
            base = gen.score(prefix).nats
            total = math.fsum(math.exp(base - gen.score(prefix + c).nats) for c in sorted(set(alphabet)))
            assert total <= 1 + tol, (f"{type(gen).__name__}.charges gives the characters after {prefix[-20:]!r} "
                                      f"a total probability of {total:.6f} > 1")


def check_bad_options(gen: Generator, prompt: str = "") -> None:
    """Each bad sampling value raises a ValueError whose message names the parameter."""
    for name, value in BAD_OPTIONS:
        with pytest.raises(ValueError, match=name):
            gen.generate(prompt, max_tokens=3, **{name: value})
    with pytest.raises(ValueError, match="temprature"):
        gen.generate(prompt, max_tokens=3, temprature=1.0)
    for name, value in (("max_tokens", -1), ("num_samples", 0), ("seed", -3)):
        with pytest.raises(ValueError, match=name):
            gen.generate(prompt, **{name: value})


def check_unknown_prompt(gen: Generator) -> None:
    """A prompt full of characters the model never saw still generates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        texts = gen.generate("\u2603\u4e2d\u6587 zqxj \U0001f600", max_tokens=10, seed=1)
    assert len(texts) == 1 and isinstance(texts[0], str)


def check_save_load(gen: Generator, folder: Path, prompt: str = "", text: str = "") -> None:
    """A saved model loads by itself (here and in a fresh process) and behaves the same."""
    path = gen.save(folder / "model")
    assert (path / MANIFEST).exists()
    loaded = load(path)
    assert type(loaded) is type(gen)
    kwargs = {"max_tokens": 25, "num_samples": 2, "seed": 11}
    expected = gen.generate(prompt, **kwargs)
    assert loaded.generate(prompt, **kwargs) == expected
    if text:
        assert math.isclose(loaded.score(text).bpc, gen.score(text).bpc, rel_tol=1e-5)
    code = ("import json,sys,toolkit; m=toolkit.load(sys.argv[1]); "
            "print(json.dumps(m.generate(sys.argv[2], max_tokens=25, num_samples=2, seed=11)))")
    out = subprocess.run([sys.executable, "-c", code, str(path), prompt], capture_output=True, text=True,
                         check=False, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected, "another process made other text"


def check_corrupt_dir(gen: Generator, folder: Path) -> None:
    """Damaged or foreign model directories raise ModelDirError, never a raw traceback."""
    path = gen.save(folder / "corrupt")
    (path / MANIFEST).write_text("{not json")
    with pytest.raises(ModelDirError):
        load(path)
    for victim in sorted(p for p in gen.save(folder / "damaged").rglob("*") if p.is_file() and p.name != MANIFEST):
        fresh = gen.save(folder / "damaged")
        (fresh / victim.relative_to(folder / "damaged")).write_bytes(b"\x00garbage")
        with pytest.raises(ModelDirError):
            load(fresh)
    foreign = folder / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("hello")
    with pytest.raises(ModelDirError):
        load(foreign)


def check_generator(gen: Generator, folder: Path, prompt: str = "", text: str = "",
                    nats_check: NatsCheck = "steps") -> None:
    """Run every check; for use outside a `GeneratorContract` test class (see its attributes)."""
    check_deterministic(gen, prompt)
    check_max_tokens(gen, prompt)
    check_stop(gen, prompt)
    check_stream(gen, prompt)
    sample = text or gen.generate(prompt, max_tokens=50, seed=0)[0] or prompt
    check_score(gen, sample)
    check_surprisal(gen, sample)
    _check_scorer(gen, nats_check, sample)
    check_bad_options(gen, prompt)
    check_unknown_prompt(gen)
    check_save_load(gen, folder, prompt, text)
    check_corrupt_dir(gen, folder)


def _check_scorer(gen: Generator, how: NatsCheck, text: str) -> None:
    if how == "steps":
        check_nats(gen, text)
    elif how == "normalised":
        check_nats_normalised(gen, text, text + gen.generate(max_tokens=200, seed=0)[0])


class GeneratorContract:
    """Subclass in a test module and implement `make_generator`; pytest runs every check.

    The generator is built once per test class, so a plugin that trains can keep it cheap.
    """

    prompt: str = ""
    score_text: str = "The quick brown fox jumps over the lazy dog.\n"
    #: How the scorer is checked. ``"steps"``: ``token_nats`` scores the distribution
    #: ``begin``/``advance`` sample from, so it must equal the step-by-step default
    #: (`check_nats`). A model that samples raw counts and scores a smoothed model (a
    #: Markov chain and Kneser-Ney) cannot match it: ``"normalised"`` checks instead that a
    #: character-level scorer's next-character probabilities sum to at most 1
    #: (`check_nats_normalised`); ``"none"`` skips the check, for a scorer that is neither.
    nats_check: NatsCheck = "steps"
    #: The text `check_nats` scores both ways (default `score_text`). A windowed scorer
    #: agrees with stepping only on text that fits one window, so keep it that short.
    nats_text: str | None = None

    def make_generator(self, tmp_path: Path) -> Generator:
        raise NotImplementedError("return a small trained generator")

    @pytest.fixture(scope="class")
    @classmethod
    def generator(cls, tmp_path_factory: pytest.TempPathFactory) -> Generator:
        return cls().make_generator(tmp_path_factory.mktemp("contract"))

    def test_deterministic(self, generator: Generator) -> None:
        check_deterministic(generator, self.prompt)

    def test_max_tokens(self, generator: Generator) -> None:
        check_max_tokens(generator, self.prompt)

    def test_stop_strings(self, generator: Generator) -> None:
        check_stop(generator, self.prompt)

    def test_stream_matches_generate(self, generator: Generator) -> None:
        check_stream(generator, self.prompt)

    def test_score_is_finite(self, generator: Generator) -> None:
        check_score(generator, self.score_text)

    def test_surprisal_adds_up_to_the_score(self, generator: Generator) -> None:
        check_surprisal(generator, self.score_text)

    def test_nats_agrees_with_the_model(self, generator: Generator) -> None:
        if self.nats_check == "none":
            pytest.skip("nats scores another model than the sampling one, and not by characters (nats_check)")
        _check_scorer(generator, self.nats_check, self.nats_text or self.score_text)

    def test_rejects_bad_options(self, generator: Generator) -> None:
        check_bad_options(generator, self.prompt)

    def test_unknown_prompt(self, generator: Generator) -> None:
        check_unknown_prompt(generator)

    def test_save_and_load(self, generator: Generator, tmp_path: Path) -> None:
        check_save_load(generator, tmp_path, self.prompt, self.score_text)

    def test_corrupt_directory(self, generator: Generator, tmp_path: Path) -> None:
        check_corrupt_dir(generator, tmp_path)
