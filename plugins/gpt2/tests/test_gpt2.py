"""GPT-2 plugin: contract kit (char and BPE from scratch), HF checkpoints, windows, scoring."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from textgen_gpt2 import GPT2Generator
from textgen_gpt2.checkpoints import PickleWeights, PretrainedNotFound
from textgen_gpt2.decoding import GPT2Window, HFWindow
from textgen_gpt2.vocab import HFVocab
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

import toolkit
from toolkit.cli import main
from toolkit.data.corpora import Corpus
from toolkit.generator import Generator
from toolkit.options import OptionError
from toolkit.testing import GeneratorContract

TEXT = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\nDeny thy father and refuse thy name.\n\n"
) * 12
CORPUS = Corpus("tiny", TEXT)
#: A model so small that a few steps train in well under a second.
TINY = {"layers": 2, "heads": 2, "width": 32, "context": 16, "batch_size": 8, "max_steps": 40, "eval_every": 20,
        "eval_tokens": 512, "device": "cpu", "progress": False}


class TestCharContract(GeneratorContract):
    prompt = "ROMEO:\n"
    score_text = "JULIET:\nIt is the sun.\n"
    nats_text = "JULIET:\nIt is"  # fits TINY's 16-token context, where the sliding window is exact

    def make_generator(self, tmp_path: Path) -> Generator:
        return toolkit.train("gpt2", CORPUS, level="char", **TINY)


class TestBPEContract(GeneratorContract):
    prompt = "ROMEO:"
    score_text = "JULIET:\nIt is the sun.\n"
    nats_text = "JULIET:\nIt is"  # fits TINY's 16-token context, where the sliding window is exact

    def make_generator(self, tmp_path: Path) -> Generator:
        return toolkit.train("gpt2", CORPUS, level="bpe", vocab_size=300, **TINY)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain ``save_pretrained`` directory: a tiny random GPT-2 and a byte-level BPE tokenizer."""
    folder = tmp_path_factory.mktemp("hf") / "tiny-gpt2"
    vocab = HFVocab.fit(TEXT, 300)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=vocab.size, n_layer=2, n_head=2, n_embd=32, n_positions=24,
                        bos_token_id=vocab.bos, eos_token_id=vocab.bos)
    GPT2LMHeadModel(config).save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=vocab.backend, bos_token="<|endoftext|>",
                            eos_token="<|endoftext|>").save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def char_model() -> GPT2Generator:
    return toolkit.train("gpt2", CORPUS, level="char", **TINY)


def test_loads_save_pretrained_directory_by_path(hf_dir: Path, capsys: pytest.CaptureFixture) -> None:
    model = toolkit.load(hf_dir)
    assert isinstance(model, GPT2Generator) and GPT2Generator.recognizes(hf_dir)
    assert model.info()["parameters"] == sum(p.numel() for p in model.model.parameters())
    texts = model.generate("ROMEO:", max_tokens=10, num_samples=2, seed=1)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    assert toolkit.load(f"gpt2:{hf_dir}").generate("ROMEO:", max_tokens=10, num_samples=2, seed=1) == texts
    assert main(["generate", str(hf_dir), "--prompt", "ROMEO:", "--max-tokens", "5", "--json"]) == 0
    assert '"plugin": "gpt2"' in capsys.readouterr().out


def test_a_pickle_only_folder_is_refused_in_one_line(hf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "pickled"
    shutil.copytree(hf_dir, folder)
    torch.save(AutoModelForCausalLM.from_pretrained(hf_dir).state_dict(), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()

    def no_unpickling(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load was called on a pickle checkpoint")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(PickleWeights, match=r"only safetensors weights are loaded; convert with python -c"):
        toolkit.load(folder)
    capsys.readouterr()  # transformers' progress bar from saving the fixture
    assert main(["generate", str(folder), "--max-tokens", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "only safetensors weights are loaded; convert with" in err[0]


def test_missing_pretrained_model_offline_says_what_to_fetch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PretrainedNotFound, match=r"not in the Hugging Face cache.*hf download nobody/missing-gpt"):
        toolkit.load("gpt2:nobody/missing-gpt")
    assert main(["generate", "gpt2:nobody/missing-gpt", "--max-tokens", "5"]) == 2
    err = capsys.readouterr().err
    assert "HF_HUB_OFFLINE is set" in err and "Traceback" not in err


def test_fine_tunes_a_pretrained_directory(hf_dir: Path, tmp_path: Path) -> None:
    before = toolkit.load(hf_dir).score(TEXT[:300]).bpc
    model = toolkit.train("gpt2", CORPUS, out=tmp_path / "tuned", source=str(hf_dir), lr=3e-3, warmup_steps=2,
                          **{**TINY, "layers": None, "heads": None, "width": None, "context": None})
    assert model.training["fit"]["steps"] == TINY["max_steps"]
    assert model.score(TEXT[:300]).bpc < before
    assert toolkit.load(tmp_path / "tuned").generate("ROMEO:", max_tokens=5, seed=3) == model.generate(
        "ROMEO:", max_tokens=5, seed=3)


def test_word_level_is_refused_clearly() -> None:
    with pytest.raises(OptionError, match=r"level.*no word level"):
        toolkit.train("gpt2", CORPUS, level="word", **TINY)


def test_generates_past_the_context_window(char_model: GPT2Generator) -> None:
    context = char_model.model.config.n_positions
    completion = char_model.complete("ROMEO:\n" * 5, max_tokens=5 * context, num_samples=2, seed=4)
    assert [len(t) for t in completion.tokens] == [5 * context] * 2
    assert all(len(t) == 5 * context for t in completion.texts)


@pytest.mark.parametrize("batch", [1, 3])
def test_hand_written_cache_matches_hf_forward_across_slides(char_model: GPT2Generator, batch: int) -> None:
    """The fast GPT-2 pass gives the HF module's logits, before and after the window slides."""
    model, bos = char_model.model, char_model.tokenizer.bos
    assert GPT2Window.supports(model)
    rng = np.random.default_rng(0)
    with torch.inference_mode():
        fast, slow = GPT2Window(model, bos, batch), HFWindow(model, bos, batch)
        prompt = char_model.encode("ROMEO:")
        a, b = fast.start(prompt), slow.start(prompt)
        for _ in range(3 * model.config.n_positions):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
            tokens = rng.integers(1, char_model.tokenizer.bos, size=batch)
            a, b = fast.step(tokens), slow.step(tokens)
        history = [bos, *(int(t[0]) for t in fast.history)]
        full = model(input_ids=torch.tensor([history])).logits[0, -1]
    torch.testing.assert_close(a[0], full, atol=1e-4, rtol=1e-4)


def test_sliding_score_is_exact_when_the_text_fits(char_model: GPT2Generator) -> None:
    text = "ROMEO:\nIt is"  # shorter than the 16-token context
    ids = char_model.encode(text)
    nats, step_by_step = char_model.token_nats(ids), Generator.token_nats(char_model, ids)
    assert len(nats) == len(text)
    np.testing.assert_allclose(nats, step_by_step, rtol=1e-5)
    long_text = TEXT[:200]
    score = char_model.score(long_text)
    assert score.chars == 200 and 0 < score.bpc < 8


def test_unknown_characters_are_charged_and_warned(char_model: GPT2Generator) -> None:
    plain, odd = char_model.score("It is the sun."), char_model.score("It is the sun\u2603")
    assert odd.unknown == ["\u2603"] and odd.nats > plain.nats
    with pytest.warns(UserWarning, match="outside the vocabulary"):
        char_model.generate("\u2603", max_tokens=3)
    assert 0 in char_model.suppress_ids and char_model.tokenizer.bos in char_model.suppress_ids


@pytest.mark.parametrize("level", ["char", "bpe"])
def test_output_directory_loads_in_plain_transformers(level: str, tmp_path: Path) -> None:
    model = toolkit.train("gpt2", CORPUS, out=tmp_path / level, level=level, vocab_size=300,
                          **{**TINY, "max_steps": 2})
    hf_model = AutoModelForCausalLM.from_pretrained(tmp_path / level)
    for tokenizer in (AutoTokenizer.from_pretrained(tmp_path / level),
                      PreTrainedTokenizerFast.from_pretrained(tmp_path / level)):
        ids = tokenizer("ROMEO: It is", add_special_tokens=False)["input_ids"]
        assert ids == model.encode("ROMEO: It is")
        assert tokenizer.decode(ids) == "ROMEO: It is"
    with torch.inference_mode():
        row = torch.tensor([[model.tokenizer.bos, *ids]])
        torch.testing.assert_close(hf_model(input_ids=row).logits, model.model(input_ids=row).logits)


def test_training_flops_are_kaplans_count(char_model: GPT2Generator) -> None:
    """6N + 6*n_layer*n_ctx*d_model per token, N the weights outside the token and position embeddings."""
    n = sum(p.numel() for name, p in char_model.model.named_parameters() if ".wte." not in name and ".wpe." not in name)
    compute = char_model.training["compute"]
    assert compute["flops_per_token"] == 6 * n + 6 * 2 * 16 * 32
    assert 12 * 2 * 32**2 <= n < 1.1 * 12 * 2 * 32**2  # Kaplan's 12 * n_layer * d_model**2, plus biases and norms
    assert "Kaplan" in compute["formula"] and compute["flops"] == compute["flops_per_token"] * 40 * 8 * 16


def test_a_compute_budget_gives_the_same_model_twice() -> None:
    """Same FLOP budget, seed and thread count: the same steps and val_bpc, whatever the clock did."""
    budget = {**TINY, "max_steps": None, "eval_every": None, "max_flops": 6e8, "cpu_threads": 1}
    a, b = (toolkit.train("gpt2", CORPUS, level="char", **budget) for _ in range(2))
    assert a.training["fit"]["steps"] == b.training["fit"]["steps"] < 40
    assert a.training["fit"]["stopped"] == "max_flops"
    assert a.training["val_bpc"] == pytest.approx(b.training["val_bpc"], abs=1e-9)
    assert a.training["compute"]["budget"] == {"unit": "flops", "value": 6e8}


def test_training_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """An interrupted run (its checkpoint left in OUT/train-state) goes on from where it stopped."""
    options = GPT2Generator.Options(level="char", **{**TINY, "max_steps": 10, "eval_every": 5})
    first = GPT2Generator.train(CORPUS, options, seed=0, out=tmp_path)
    assert (tmp_path / "train-state").is_dir() and first.training["fit"]["resumed_from"] is None
    more = GPT2Generator.train(CORPUS, options.model_copy(update={"max_steps": 20}), seed=0, out=tmp_path)
    assert more.training["fit"]["resumed_from"] == 10 and more.training["fit"]["steps"] == 20


# -- GPT-2 folders without transformers ----------------------------------------------------------

_NO_TRANSFORMERS = """
import sys, toolkit
model = toolkit.load(sys.argv[1])
texts = model.generate("ROMEO:", max_tokens=12, num_samples=2, seed=4)
print(repr(texts), repr(model.score("JULIET:\\nIt is the sun.\\n").bpc))
sys.exit(3 if "transformers" in sys.modules else 0)
"""


@pytest.mark.parametrize("level", ["char", "plain"])
def test_gpt2_folders_load_without_transformers(level: str, hf_dir: Path, tmp_path: Path) -> None:
    """The toolkit's own folder and a plain save_pretrained one load, generate and score in a process that never
    imports transformers, and give what the transformers module gives."""
    import subprocess
    import sys

    from textgen_gpt2 import native

    folder = hf_dir
    if level == "char":
        folder = tmp_path / "m"
        toolkit.train("gpt2", CORPUS, level="char", out=folder, **{**TINY, "max_steps": 3})
    run = subprocess.run([sys.executable, "-c", _NO_TRANSFORMERS, str(folder)], capture_output=True, text=True,
                         check=False, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    light = toolkit.load(folder)
    assert isinstance(light.model, native.GPT2)
    hf_model = AutoModelForCausalLM.from_pretrained(folder).to(light.device)  # on a GPU, the same GPU
    # The two modules' attention kernels differ; on a GPU they round float32 differently.
    close = {} if light.device.type == "cpu" else {"rtol": 1e-4, "atol": 1e-4}
    with torch.inference_mode():
        row = torch.tensor([[light.tokenizer.bos, *light.encode("ROMEO: It is")]], device=light.device)
        torch.testing.assert_close(light.model(input_ids=row).logits, hf_model(input_ids=row).logits, **close)
    texts = light.generate("ROMEO:", max_tokens=12, num_samples=2, seed=4)
    assert run.stdout.strip() == f"{texts!r} {light.score('JULIET:' + chr(10) + 'It is the sun.' + chr(10)).bpc!r}"
    light.save(tmp_path / "again")  # and what it writes back loads in plain transformers
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "again").to(light.device)
    with torch.inference_mode():
        torch.testing.assert_close(again(input_ids=row).logits, hf_model(input_ids=row).logits, **close)


def test_surprisal_follows_the_tokens(char_model: GPT2Generator) -> None:
    """Characters: each its own token's bits. BPE: a token's bits spread over its characters, a character
    split over several byte-level tokens paying for all of them; both add up to the score."""
    text = "ROMEO:\nIt is"
    found = char_model.surprisal(text)
    np.testing.assert_allclose(found.bits, char_model.token_nats(char_model.encode(text)) / math.log(2), rtol=1e-9)
    bpe = toolkit.train("gpt2", CORPUS, level="bpe", vocab_size=300, **TINY)
    text = "ROMEO: wherefore art thou, Romeo? caf\u00e9"
    found, score = bpe.surprisal(text), bpe.score(text)
    assert math.isclose(found.total_bits, score.nats / math.log(2), rel_tol=1e-9)
    encoding = bpe.tokenizer.backend.encode(text, add_special_tokens=False)
    nats = bpe.token_nats(encoding.ids)
    word = max(range(len(nats)), key=lambda i: encoding.offsets[i][1] - encoding.offsets[i][0])
    start, end = encoding.offsets[word]
    assert end - start > 1  # a token of several characters
    assert np.allclose(found.bits[start:end], nats[word] / (end - start) / math.log(2))
    last = len(text) - 1  # "é" is two byte-level tokens, both on the one character
    assert math.isclose(found.bits[last], sum(n for n, (s, _) in zip(nats, encoding.offsets, strict=True) if s == last)
                        / math.log(2), rel_tol=1e-9)


def test_the_sizing_probe_times_each_row_at_its_context(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Under a seconds budget the rule times GPT-2 rows (speeds injected, not timed) and caches them."""
    from textgen_gpt2 import GPT2Options
    from textgen_gpt2.training import measure_speed
    from textgen_gpt2.vocab import CharVocab

    from toolkit.neural import probe

    monkeypatch.setenv("TEXTGEN_CACHE", str(tmp_path))
    timed: list[tuple[int, int, int]] = []

    def fake(task, train, batch_size, seq_len, device, steps=probe.PROBE_STEPS):
        timed.append((task.module.config.n_layer, batch_size, seq_len))
        return 1e9  # a machine so fast that every row's threshold is passed

    monkeypatch.setattr(probe, "tokens_per_second", fake)
    vocab = CharVocab.fit(TEXT)
    options = GPT2Options(max_seconds=200)
    measure = measure_speed(options, vocab, vocab.encode(TEXT), torch.device("cpu"))
    sized, sizing = options.sized(1_000_000, "cpu", measure)
    assert sizing.row == "cpu-long" and (sized.layers, sized.width) == (4, 128)
    assert timed == [(3, 12, 64), (4, 12, 64)]  # cpu-short, then baby; the largest row is not timed
    options.sized(1_000_000, "cpu", measure_speed(options, vocab, vocab.encode(TEXT), torch.device("cpu")))
    assert len(timed) == 2  # a second run on this machine reads the speeds from the cache


def test_pretrained_gpt2_is_found_on_disk_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's hook (`local_pretrained`): ``$TEXTGEN_GPT2_PATH``, else a cache snapshot with weights; else
    LookupError saying how to add one."""
    monkeypatch.delenv("TEXTGEN_GPT2_PATH", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(LookupError, match="TEXTGEN_GPT2_PATH"):
        GPT2Generator.local_pretrained()
    snapshot = tmp_path / "hub" / "models--openai-community--gpt2" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    with pytest.raises(LookupError):
        GPT2Generator.local_pretrained()  # no weights
    (snapshot / "model.safetensors").write_bytes(b"")
    assert GPT2Generator.local_pretrained() == snapshot
    monkeypatch.setenv("TEXTGEN_GPT2_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(LookupError):
        GPT2Generator.local_pretrained()
    monkeypatch.setenv("TEXTGEN_GPT2_PATH", str(snapshot))
    assert GPT2Generator.local_pretrained() == snapshot
