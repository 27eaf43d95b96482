"""The shared training loop on toy tasks: learning, seeding, best weights, early stopping, resume."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from toolkit.neural import TrainConfig, fit, read_checkpoint  # noqa: E402
from toolkit.neural.checkpoint import optimizer_from_tensors, optimizer_to_tensors  # noqa: E402
from toolkit.neural.trainer import Task  # noqa: E402

PATTERN = [1, 2, 3, 4, 2, 3, 1, 4] * 200  # a cycle a model can learn


class Bigram(Task):
    """Stateless: next token from the current one (nanoGPT-style random windows)."""

    def __init__(self, vocab: int = 6) -> None:
        torch.manual_seed(0)
        self.module = nn.Sequential(nn.Embedding(vocab, 16), nn.Linear(16, vocab))

    def loss(self, model, x, y, state):
        return nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten()), None


class Recurrent(Task):
    """Stateful: a GRU whose hidden state the loop carries across contiguous windows."""

    def __init__(self, vocab: int = 6) -> None:
        torch.manual_seed(0)
        self.module = nn.ModuleDict({"emb": nn.Embedding(vocab, 8), "rnn": nn.GRU(8, 16, batch_first=True),
                                     "out": nn.Linear(16, vocab)})

    def init_state(self, batch_size, device):
        return torch.zeros(1, batch_size, 16, device=device)

    def loss(self, model, x, y, state):
        h, state = model["rnn"](model["emb"](x), state)
        return nn.functional.cross_entropy(model["out"](h).flatten(0, 1), y.flatten()), state


def config(**kw) -> TrainConfig:
    base = {"max_steps": 40, "batch_size": 4, "seq_len": 8, "lr": 0.05, "warmup_steps": 5, "eval_every": 10,
            "eval_tokens": 200, "device": "cpu", "progress": False}
    return TrainConfig(**{**base, **kw})


def weights(task: Task) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in task.module.state_dict().items()}


@pytest.mark.parametrize(("make", "batching"), [(Bigram, "random"), (Recurrent, "contiguous")])
def test_learns_and_reports_bpc(make, batching):
    task = make()
    result = fit(task, PATTERN, PATTERN[:300], config(batching=batching), val_chars=300)
    first = math.log2(6)  # about where an untrained model starts
    assert result.steps == 40 and result.stopped == "max_steps"
    assert result.best_val_bpc < 0.8 * first
    assert [h["step"] for h in result.history] == [10, 20, 30, 40]
    assert result.tokens == 40 * 4 * 8


def test_same_seed_same_weights():
    runs = []
    for _ in range(2):
        task = Recurrent()
        result = fit(task, PATTERN, PATTERN[:300], config(seed=3))
        runs.append((weights(task), [{**h, "seconds": 0} for h in result.history]))
    assert runs[0][1] == runs[1][1]
    assert all(torch.equal(runs[0][0][k], runs[1][0][k]) for k in runs[0][0])


def test_interrupt_saves_and_resume_continues_exactly(tmp_path):
    whole = Recurrent()
    fit(whole, PATTERN, PATTERN[:300], config())

    def interrupt(step, record):
        if step == 23:
            raise KeyboardInterrupt

    task = Recurrent()
    with pytest.raises(KeyboardInterrupt):
        fit(task, PATTERN, PATTERN[:300], config(), checkpoint_dir=tmp_path / "ckpt", callback=interrupt)
    _, meta = read_checkpoint(tmp_path / "ckpt")
    assert meta["step"] == 23
    task = Recurrent()  # a fresh process would start from new weights
    result = fit(task, PATTERN, PATTERN[:300], config(), checkpoint_dir=tmp_path / "ckpt")
    assert result.resumed_from == 23 and result.steps == 40
    assert all(torch.equal(weights(whole)[k], weights(task)[k]) for k in weights(task))


def test_keeps_best_weights_and_stops_early():
    """Trained on a cycle, validated on a text it contradicts: the first validation is the best."""
    task = Bigram()
    result = fit(task, PATTERN, [1, 1, 1, 1] * 50, config(max_steps=200, patience=2, batching="random"))
    assert result.stopped == "patience"
    assert result.best_step == 10 and result.steps == 30
    assert len(result.history) == 3


def test_time_budget():
    result = fit(Bigram(), PATTERN, PATTERN[:100], config(max_steps=None, max_seconds=0.5, batching="random"))
    assert result.stopped == "max_seconds" and result.seconds < 3


def test_optimizer_state_round_trip():
    task = Bigram()
    fit(task, PATTERN, PATTERN[:100], config(max_steps=5, batching="random"))
    opt = torch.optim.AdamW(task.module.parameters(), lr=0.01)
    task.module(torch.tensor([[1, 2]])).sum().backward()
    opt.step()
    tensors, meta = optimizer_to_tensors(opt)
    fresh = torch.optim.AdamW(task.module.parameters(), lr=0.5)
    optimizer_from_tensors(fresh, tensors, meta)
    assert fresh.param_groups[0]["lr"] == 0.01
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


@pytest.mark.parametrize(("name", "value"), [("batch_size", 0), ("lr", -1.0), ("seq_len", 0), ("device", "tpu"),
                                             ("batching", "shuffled"), ("max_steps", None)])
def test_bad_config_names_parameter(name, value):
    with pytest.raises(ValueError, match=name if value is not None else "budget"):
        config(**{name: value})


def test_too_little_data_is_a_clear_error():
    with pytest.raises(ValueError, match="batch_size"):
        fit(Recurrent(), PATTERN[:20], PATTERN[:20], config())
