"""The LSTM plugin: contract kit at char and word level, unknowns, scoring, seeding, resume, DDP."""

from __future__ import annotations

import json
import math
import os
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import toolkit  # noqa: E402
import toolkit.neural  # noqa: E402
from toolkit.data.corpora import Corpus  # noqa: E402
from toolkit.generator import Generator, UnknownTokensWarning  # noqa: E402
from toolkit.options import OptionError  # noqa: E402
from toolkit.testing import GeneratorContract  # noqa: E402

LINES = ["the cat sat on the mat.", "the dog sat on the log.", "a cat and a dog met on a mat.",
         "ROMEO: is the cat on the mat?", "JULIET: the dog is on the log!"]
TEXT = "\n".join(LINES[i % 5] if i % 3 else LINES[(i * 2) % 5] for i in range(200)) + "\n"
CORPUS = Corpus("tiny", TEXT)
TINY = {"embedding_size": 16, "hidden_size": 32, "batch_size": 4, "seq_len": 16, "max_steps": 30,
        "eval_every": 10, "eval_tokens": 256, "lr": 0.02, "warmup_steps": 5, "device": "cpu", "progress": False}


def train(**options):
    return toolkit.train("lstm", CORPUS, **{**TINY, **options})


class TestCharContract(GeneratorContract):
    prompt = "the "
    score_text = "the cat sat on the log.\n"

    def make_generator(self, tmp_path: Path) -> Generator:
        return train(level="char")


class TestWordContract(GeneratorContract):
    prompt = "the cat"
    score_text = "the dog met the cat.\n"

    def make_generator(self, tmp_path: Path) -> Generator:
        return train(level="word", max_vocab=20)


@pytest.fixture(scope="module")
def char_model():
    return train(level="char", max_steps=40, dropout=0.1)


def test_learns(char_model):
    history = char_model.training["history"]
    assert history[-1]["val_bpc_estimate"] < 0.7 * history[0]["val_bpc_estimate"]
    assert char_model.training["val_bpc"] < math.log2(len(char_model.tokenizer))


def test_unknown_characters_warn_and_are_charged(char_model):
    with pytest.warns(UnknownTokensWarning, match="'☃'"):
        texts = char_model.generate("the ☃", max_tokens=40, num_samples=3, seed=1)
    assert all("\ufffd" not in t for t in texts), "generated <unk>"
    assert char_model.encode("t☃")[1] == 0  # <unk>, never a real character
    plain, odd = char_model.score("the cat"), char_model.score("the ☃at")
    assert odd.unknown == ["☃"]
    assert odd.nats > plain.nats + char_model.unknown_nats("☃") - 1


def test_word_level_reports_unknown_words():
    model = train(level="word", max_vocab=20)
    assert model.unknowns("the zebra sat") == [" zebra"]  # a word carries its leading space
    with pytest.warns(UnknownTokensWarning, match="zebra"):
        model.generate("the zebra", max_tokens=5)
    assert model.decode(model.encode("the cat. sat\n")) == "the cat. sat\n"


def test_fast_nats_equals_step_by_step(char_model, monkeypatch):
    """The chunked whole-text pass carries the state exactly as token-by-token stepping does."""
    import textgen_lstm.generator as gen

    monkeypatch.setattr(gen, "SCORE_CHUNK", 7)  # several chunk borders
    text = "ROMEO: the dog sat on the mat.\nJULIET: a cat!\n"
    ids = char_model.encode(text)
    fast, slow = char_model.token_nats(ids), Generator.token_nats(char_model, ids)
    assert len(fast) == len(slow) == len(text)
    np.testing.assert_allclose(fast, slow, rtol=1e-4)


def test_word_bits_per_char_charge_every_character(word_model, monkeypatch):
    """Runs of spaces, tabs and newlines are tokens too: the fast pass equals stepping, every char counted."""
    import textgen_lstm.generator as gen

    monkeypatch.setattr(gen, "SCORE_CHUNK", 5)
    text = "the cat  sat\ton the\t\tmat.\n\n\nthe   dog,\n  a zebra!  \n"
    ids = word_model.encode(text)
    fast, slow = word_model.token_nats(ids), Generator.token_nats(word_model, ids)
    assert len(fast) == len(slow) == len(ids)
    np.testing.assert_allclose(fast, slow, rtol=1e-4)
    score = word_model.score(text)
    fast = fast.sum() + word_model.unknown_nats(text)
    assert score.chars == len(text) and score.bpc == pytest.approx(fast / len(text) / math.log(2))
    assert " zebra" in score.unknown and fast > word_model.unknown_nats(text) > 0  # unknowns spelled in full


def test_word_samples_never_glue_two_words(word_model):
    """Even at a high temperature, every sample splits back into the very tokens drawn: no "thecat"."""
    prompt = "the cat"
    done = word_model.complete(prompt, max_tokens=25, num_samples=12, temperature=3.0, seed=4)
    for text, tokens in zip(done.texts, done.tokens, strict=True):
        assert word_model.encode(prompt + text) == word_model.encode(prompt) + tokens, text
    _, scores = word_model.begin(word_model.encode(prompt), 1)
    starts_word = [i for i, piece in enumerate(word_model.tokenizer.vocab) if i and piece[0].isalnum()]
    assert starts_word and np.isneginf(scores[0, starts_word]).all()  # after " cat", "sat" cannot come
    assert word_model.score("the cat sat").nats < math.inf


def test_batch_rows_match_single_rows(char_model):
    """num_samples is one batch, and each row is the sample its seed would give alone: state is per row."""
    state, scores = char_model.begin(char_model.encode("the "), 3)
    _, one = char_model.begin(char_model.encode("the "), 1)
    np.testing.assert_allclose(scores, np.repeat(one, 3, axis=0), rtol=1e-5)
    state, scores = char_model.advance(state, np.array([1, 2, 3]))
    assert scores.shape == (3, len(char_model.tokenizer)) and scores.dtype == np.float32
    assert not np.allclose(scores[0], scores[1])


@pytest.fixture(scope="module")
def word_model():
    return train(level="word", max_vocab=30, max_steps=40)


@pytest.mark.parametrize("which", ["char_model", "word_model"])
def test_start_is_the_same_in_generate_stream_and_score(which, request):
    """The first scores of generation are the code lengths `score` charges after the same prompt."""
    model = request.getfixturevalue(which)
    prompt = "ROMEO: the"
    _, scores = model.begin(model.encode(prompt), 1)
    log_probs = torch.log_softmax(torch.from_numpy(scores[0]).double(), 0).numpy()
    base = model.score(prompt).nats
    for token in range(1, len(model.tokenizer)):
        text = prompt + model.decode([token])
        if model.encode(text) == [*model.encode(prompt), token]:  # the text splits there
            assert model.score(text).nats - base == pytest.approx(-log_probs[token], abs=1e-3), model.decode([token])
    best = model.decode([int(np.argmax(log_probs[1:])) + 1])
    assert model.generate(prompt, max_tokens=1, temperature=0)[0] == best
    assert next(model.stream(prompt, max_tokens=1, temperature=0)) == best


def test_start_resets_train_from_the_zero_state():
    """With start_resets=1 every training window starts from zero, whatever state was carried in."""
    from textgen_lstm.model import LSTMModel, LSTMTask

    module = LSTMModel(10, 8, 16, 1, 0.0, False).train()
    x, y = torch.randint(10, (2, 12)), torch.randint(10, (2, 12))
    carried = tuple(torch.randn(1, 2, 16) for _ in range(2))
    with torch.no_grad():
        fresh = float(LSTMTask(module).loss(module, x, y, module.zero_state(2, torch.device("cpu")))[0])
        reset = float(LSTMTask(module, 1.0).loss(module, x, y, carried)[0])
        kept = float(LSTMTask(module).loss(module, x, y, carried)[0])
        validation = float(LSTMTask(module.eval(), 1.0).loss(module, x, y, carried)[0])
    assert reset == pytest.approx(fresh) and kept != pytest.approx(fresh)
    assert validation == pytest.approx(kept), "validation must carry the state untouched"


def test_fresh_start_from_a_prompt_picks_its_only_follower():
    """A speaker's name is always followed by a line break; a fresh-start sample from it writes one."""
    names, lines = ["ROMEO", "JULIET", "NURSE"], LINES[:3]
    text = "".join(f"{names[i % 3]}:\n{lines[i * 7 % 3]}\n{lines[i % 3]}\n\n" for i in range(150))
    model = toolkit.train("lstm", Corpus("speakers", text), **{**TINY, "max_steps": 100, "eval_every": 50})
    samples = model.generate("ROMEO:", max_tokens=1, temperature=0.3, num_samples=20, seed=0)
    assert samples == ["\n"] * 20
    assert (model.score("ROMEO:\n").nats - model.score("ROMEO:").nats) / math.log(2) < 0.5


def test_same_seed_same_weights_and_losses():
    a, b = train(max_steps=15), train(max_steps=15)
    assert a.training["history"] and [h["val_bpc_estimate"] for h in a.training["history"]] == [
        h["val_bpc_estimate"] for h in b.training["history"]]
    for (name, x), (_, y) in zip(a.module.state_dict().items(), b.module.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    c = train(max_steps=15, seed=1)
    assert not torch.equal(a.module.head.weight, c.module.head.weight)


def test_training_flops_follow_the_stated_formula():
    model = train(max_steps=3, layers=2)
    vocab, compute = len(model.tokenizer), model.training["compute"]
    # 3 x forward: 4 gates x 2*(input + hidden)*hidden per layer (16 then 32 in), plus 2*hidden*vocab
    assert compute["flops_per_token"] == 3 * (8 * (16 + 32) * 32 + 8 * (32 + 32) * 32 + 2 * 32 * vocab)
    assert "4 gates" in compute["formula"] and compute["kind"] == "training"
    assert compute["flops"] == 3 * 4 * 16 * compute["flops_per_token"] == model.training["curve"][-1]["flops"]


def test_a_compute_budget_gives_the_same_model_twice():
    """Same FLOP budget, seed and thread count: the same steps and val_bpc, whatever the clock did."""
    budget = {"max_steps": None, "eval_every": None, "max_flops": 1e8, "cpu_threads": 1}
    a, b = train(**budget), train(**budget)
    assert a.training["fit"]["steps"] == b.training["fit"]["steps"] < 60
    assert a.training["fit"]["stopped"] == "max_flops"
    assert a.training["val_bpc"] == pytest.approx(b.training["val_bpc"], abs=1e-9)
    assert a.training["compute"]["budget"] == {"unit": "flops", "value": 1e8}
    assert a.training["compute"]["machine"]["threads"] == 1


def test_interrupt_then_resume_continues_from_saved_step(tmp_path, monkeypatch):
    real_fit = toolkit.neural.fit

    def interrupted_fit(*args, **kwargs):
        def stop(step, record):
            if step == 12:
                raise KeyboardInterrupt
        return real_fit(*args, callback=stop, **kwargs)

    monkeypatch.setattr(toolkit.neural, "fit", interrupted_fit)
    with pytest.raises(KeyboardInterrupt):
        train(max_steps=20, out=tmp_path / "model")
    state = json.loads((tmp_path / "model" / "train-state" / "state.json").read_text())
    assert state["step"] == 12 and [h["step"] for h in state["history"]] == [1, 2, 4, 8, 10]
    monkeypatch.setattr(toolkit.neural, "fit", real_fit)
    resumed = train(max_steps=20, out=tmp_path / "model")
    assert resumed.training["fit"]["resumed_from"] == 12 and resumed.training["fit"]["steps"] == 20
    whole = train(max_steps=20)
    for (name, x), (_, y) in zip(whole.module.state_dict().items(), resumed.module.state_dict().items(), strict=True):
        assert torch.equal(x, y), f"{name} differs from the uninterrupted run"
    assert toolkit.load(tmp_path / "model").generate("the ", max_tokens=5, seed=1) == resumed.generate(
        "the ", max_tokens=5, seed=1)


def test_early_stopping_keeps_best():
    """Validation text that contradicts the training text gets worse as training goes on."""
    contrary = Corpus("contrary", "abc" * 900 + "cba" * 100)
    model = toolkit.train("lstm", contrary, **{**TINY, "max_steps": 200, "eval_every": 5, "patience": 2})
    fit, history = model.training["fit"], model.training["history"]
    assert fit["stopped"] == "patience" and fit["steps"] < 200
    assert fit["best_val_bpc_estimate"] == min(h["val_bpc_estimate"] for h in history)
    assert [h["step"] for h in history][-3] == fit["best_step"]
    assert model.training["val_bpc"] == pytest.approx(fit["best_val_bpc_estimate"], rel=0.05)  # best weights restored


def test_options_are_checked():
    with pytest.raises(OptionError, match="tie_weights"):
        train(tie_weights=True, embedding_size=16, hidden_size=32)
    with pytest.raises(OptionError, match="hidden_size"):
        train(hidden_size=0)
    with pytest.raises(OptionError, match="max_seconds or max_flops, not both"):
        train(max_seconds=5, max_flops=1e9)
    with pytest.raises(OptionError, match="max_tokens"):
        train(max_tokens=0)
    tied = train(tie_weights=True, embedding_size=32, hidden_size=32, max_steps=3)
    assert tied.module.head.weight is tied.module.embed.weight


def test_plugin_module_imports_without_torch():
    import subprocess
    import sys

    code = "import sys, textgen_lstm; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _ddp_worker(rank: int, world: int, port: int, folder: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world)})
    from textgen_lstm import LSTMGenerator, LSTMOptions

    options = LSTMOptions(**{**TINY, "batch_size": 2, "max_steps": 40})
    model = LSTMGenerator.train(CORPUS, options, seed=0, out=Path(folder) / f"rank{rank}")
    weights = torch.cat([p.detach().flatten() for p in model.module.parameters()])
    with open(Path(folder) / f"result{rank}.json", "w") as f:
        json.dump({"fit": model.training["fit"], "history": model.training["history"],
                   "checksum": float(weights.double().sum())}, f)


def test_ddp_two_cpu_processes(tmp_path):
    """torchrun-style training in two gloo processes: loss falls, replicas agree, only rank 0 writes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.start_processes(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True,
                                          start_method="spawn")
    results = [json.loads((tmp_path / f"result{r}.json").read_text()) for r in range(2)]
    for result in results:
        assert result["fit"]["world_size"] == 2 and result["fit"]["steps"] == 40
        vals = [h["val_bpc_estimate"] for h in result["history"]]
        assert vals[-1] < vals[0] - 0.5, vals
    assert results[0]["checksum"] == pytest.approx(results[1]["checksum"], rel=1e-6)
    assert [h["val_bpc_estimate"] for h in results[0]["history"]] == [
        h["val_bpc_estimate"] for h in results[1]["history"]]
    assert (tmp_path / "rank0" / "train-state" / "state.safetensors").is_file()
    assert not (tmp_path / "rank1").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_train_then_load_on_cpu(tmp_path):
    model = train(device="cuda", max_steps=20)
    assert model.info()["device"].startswith("cuda")
    path = model.save(tmp_path / "gpu")
    cpu = toolkit.load(path, device="cpu")
    assert cpu.info()["device"] == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isclose(cpu.score(TEXT[:300]).bpc, model.score(TEXT[:300]).bpc, rel_tol=1e-3)
    back = toolkit.load(path, device="cuda")
    assert back.generate("the ", max_tokens=20, seed=3) == model.generate("the ", max_tokens=20, seed=3)


def test_word_surprisal_spreads_each_piece_evenly_and_adds_up_to_the_score(word_model):
    text = "the cat sat on the log.\n\na zebra!"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found, score = word_model.surprisal(text), word_model.score(text)
    assert len(found.bits) == len(text) and math.isclose(found.total_bits, score.nats / math.log(2), rel_tol=1e-9)
    at = 0
    for piece in word_model.tokenizer.split(text):
        assert len(set(found.bits[at : at + len(piece)])) == 1, piece  # one value over the piece's characters
        at += len(piece)
