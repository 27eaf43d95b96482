"""The shared training loop on toy tasks: learning, seeding, best weights, early stopping, resume."""

from __future__ import annotations

import itertools
import math
import re
import time

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
    assert result.best_val_bpc_estimate < 0.8 * first
    assert [h["step"] for h in result.history] == [1, 2, 4, 8, 10, 20, 30, 40]  # doubling, then every 10
    assert result.tokens == 40 * 4 * 8


def test_same_seed_same_weights():
    runs = []
    for _ in range(2):
        task = Recurrent()
        result = fit(task, PATTERN, PATTERN[:300], config(seed=3))
        runs.append((weights(task), [{**h, "seconds": 0} for h in result.history]))
    assert runs[0][1] == runs[1][1]
    assert all(torch.equal(runs[0][0][k], runs[1][0][k]) for k in runs[0][0])


@pytest.mark.parametrize("budget", [{}, {"max_steps": None, "eval_every": None,
                                         "max_flops": 40 * 4 * 8 * Recurrent().flops_per_token()}])
def test_interrupt_saves_and_resume_continues_exactly(tmp_path, capsys, budget):
    """Under a step budget or a FLOP budget alike, a resumed run ends where the uninterrupted one does."""
    whole = Recurrent()
    fit(whole, PATTERN, PATTERN[:300], config(**budget))

    def interrupt(step, record):
        if step == 23:
            raise KeyboardInterrupt

    task = Recurrent()
    with pytest.raises(KeyboardInterrupt):
        fit(task, PATTERN, PATTERN[:300], config(**budget), checkpoint_dir=tmp_path / "ckpt", callback=interrupt)
    _, meta = read_checkpoint(tmp_path / "ckpt")
    assert meta["step"] == 23
    task = Recurrent()  # a fresh process would start from new weights
    result = fit(task, PATTERN, PATTERN[:300], config(**budget), checkpoint_dir=tmp_path / "ckpt")
    assert result.resumed_from == 23 and result.steps == 40
    assert "resuming from step 23 of a run interrupted at" in capsys.readouterr().err
    assert all(torch.equal(weights(whole)[k], weights(task)[k]) for k in weights(task))


def test_keeps_best_weights_and_stops_early():
    """Trained on a cycle, validated on a text it contradicts: the first validation is the best."""
    task = Bigram()
    result = fit(task, PATTERN, [1, 1, 1, 1] * 50, config(max_steps=200, patience=2, batching="random"))
    assert result.stopped == "patience"
    assert result.best_step == 1 and result.steps == 4  # validated at steps 1, 2, 4
    assert len(result.history) == 3
    assert re.fullmatch(r"stopped at \d+ s \(step 4\): held-out bits/char stopped improving for 2 evaluations",
                        result.message)


def test_patience_zero_never_stops_early():
    result = fit(Bigram(), PATTERN, [1, 1, 1, 1] * 50, config(max_steps=60, patience=0, batching="random"))
    assert result.stopped == "max_steps" and result.steps == 60 and result.patience is None


def test_the_stop_line_gives_the_tasks_advice():
    task = Bigram()
    task.plateau_hint = "a larger model (-o width=64) could use the rest of the budget"
    result = fit(task, PATTERN, [1, 1, 1, 1] * 50, config(max_steps=200, patience=2, batching="random"))
    assert result.message.endswith("stopped improving for 2 evaluations; " + task.plateau_hint)
    assert result.to_json()["patience"] == 2


def test_validations_spread_over_a_seconds_budget():
    """``eval_every`` unset: regular validations every max_seconds / EVALUATIONS, by the clock."""
    from toolkit.neural.trainer import EVALUATIONS

    budget = 1.0
    result = fit(Bigram(), PATTERN, PATTERN[:100], config(max_steps=None, max_seconds=budget, eval_every=None,
                                                          batching="random"))
    seconds = [h["seconds"] for h in result.history]
    regular = [s for s in seconds if s >= budget / EVALUATIONS]
    assert EVALUATIONS // 2 <= len(regular) <= EVALUATIONS + 1  # spread over the budget, not bunched at the start
    # each is scheduled every max_seconds / EVALUATIONS; the time recorded is after its own scoring, so allow jitter
    assert all(b - a >= budget / EVALUATIONS * 0.8 for a, b in itertools.pairwise(regular[:-1]))
    assert len(seconds) > len(regular) and seconds[0] < budget / EVALUATIONS / 2  # dense at the start
    assert "max_seconds / 20" in result.evaluations


class SlowToValidate(Bigram):
    """A validation costs far more than the clock cadence's interval."""

    def loss(self, model, x, y, state):
        if not model.training:
            time.sleep(0.01)
        return super().loss(model, x, y, state)


def test_costly_validations_space_out_under_a_seconds_budget():
    """Validating may take only a small share of a seconds budget, however the interval falls."""
    from toolkit.neural.trainer import EVAL_SHARE

    budget = 1.5
    result = fit(SlowToValidate(), PATTERN, PATTERN[:100],
                 config(max_steps=None, max_seconds=budget, eval_every=None, batching="random"))
    evaluation = 0.01 * 100 / 8  # 100 validation tokens in windows of seq_len 8, each loss call sleeping
    assert len(result.history) <= 2 + budget / (evaluation / EVAL_SHARE) + 4  # first, last, early ones
    assert result.stopped == "max_seconds"


def test_a_step_budget_spreads_validations_when_eval_every_is_unset():
    from toolkit.neural.trainer import EVALUATIONS

    result = fit(Bigram(), PATTERN, PATTERN[:100], config(max_steps=200, eval_every=None, batching="random"))
    every = 200 // EVALUATIONS
    assert [h["step"] for h in result.history if h["step"] >= every] == list(range(every, 201, every))
    assert result.evaluations == f"every {every} steps"


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
                                             ("batching", "shuffled"), ("max_steps", None),
                                             ("max_flops", 0.0), ("max_tokens", -5)])
def test_bad_config_names_parameter(name, value):
    with pytest.raises(ValueError, match=name if value is not None else "budget"):
        config(**{name: value})


def test_too_little_data_is_a_clear_error():
    with pytest.raises(ValueError, match="batch_size"):
        fit(Recurrent(), PATTERN[:20], PATTERN[:20], config())


def test_curve_points_are_dense_early_and_count_what_was_seen():
    result = fit(Recurrent(), PATTERN, PATTERN[:300], config(max_steps=32, eval_every=32), val_chars=600,
                 train_chars=3200)
    steps = [h["step"] for h in result.history]
    assert steps == [2, 4, 8, 16, 32]
    assert [set(p) for p in result.curve] == [{"seconds", "tokens", "chars", "flops", "val_bpc_estimate"}] * 5
    assert [p["tokens"] for p in result.curve] == [s * 4 * 8 for s in steps]
    per_token = Recurrent().flops_per_token()
    assert [p["flops"] for p in result.curve] == [s * 4 * 8 * per_token for s in steps]
    assert [p["chars"] for p in result.curve] == [s * 4 * 8 * 2 for s in steps]  # 3200 chars in 1600 tokens
    seconds = [p["seconds"] for p in result.curve]
    assert seconds == sorted(seconds)
    assert result.curve[-1]["val_bpc_estimate"] < result.curve[0]["val_bpc_estimate"]


def test_default_flops_count_the_weights_that_multiply_not_the_lookups():
    task = Bigram()  # a 6 x 16 embedding (a lookup) and a 16 -> 6 linear layer
    assert task.flops_per_token() == 6 * (16 * 6 + 6)


class Counted(Bigram):
    """A third-party task stating its own count."""

    flops_formula = "1,000 per token, for the test"

    def flops_per_token(self):
        return 1000.0


@pytest.mark.parametrize(("budget", "steps", "unit"), [({"max_flops": 1000 * 32 * 25.5}, 25, "max_flops"),
                                                        ({"max_tokens": 32 * 30}, 30, "max_tokens"),
                                                        ({"max_flops": 1e12, "max_steps": 12}, 12, "max_steps")])
def test_a_token_or_flop_budget_buys_whole_steps_and_is_recorded(budget, steps, unit):
    """A compute budget becomes steps before the first one (rounded down); the tightest budget wins."""
    result = fit(Counted(), PATTERN, PATTERN[:100], config(**{"max_steps": None, "eval_every": None,
                                                              "batching": "random", **budget}))
    assert result.steps == steps and result.stopped == unit
    compute = result.manifest()["compute"]
    assert compute["flops"] == steps * 32 * 1000.0 == result.curve[-1]["flops"]
    assert compute["formula"] == Counted.flops_formula and compute["kind"] == "training"
    assert compute["budget"] == {"unit": unit.removeprefix("max_"), "value": budget[unit]}
    assert compute["flops_per_second"] == pytest.approx(compute["tokens_per_second"] * 1000.0)
    assert compute["machine"]["device"] == "cpu" and compute["machine"]["threads"] >= 1
    assert f"budget {unit}=" in result.message


@pytest.mark.parametrize("make", [Bigram, Recurrent])
def test_a_compute_budget_reproduces_with_the_clock_out_of_the_loop(make, monkeypatch):
    """Validations, early stopping and the schedule count steps under a FLOP budget: a clock running at
    different speeds (a slower machine) changes nothing, down to the last bit."""
    from toolkit.neural import trainer

    runs, real = [], time.perf_counter
    for speed in (1.0, 1000.0):
        monkeypatch.setattr(trainer.time, "perf_counter", lambda speed=speed: real() * speed)
        task = make()
        per_step = 4 * 8 * task.flops_per_token()
        result = fit(task, PATTERN, PATTERN[:300], config(max_steps=None, max_flops=per_step * 60, eval_every=None,
                                                          patience=3, cpu_threads=1), val_chars=300)
        runs.append(([(h["step"], h["val_bpc_estimate"]) for h in result.history], result.best_val_bpc_estimate,
                     weights(task)))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert [step for step, _ in runs[0][0]][-1] <= 60
    assert all(torch.equal(runs[0][2][k], runs[1][2][k]) for k in runs[0][2])


def test_a_flop_budget_needs_a_positive_count():
    class Free(Bigram):
        def flops_per_token(self):
            return 0.0

    with pytest.raises(ValueError, match="flops_per_token"):
        fit(Free(), PATTERN, PATTERN[:100], config(max_steps=None, max_flops=1e6, batching="random"))


def test_estimate_charges_unknown_characters_like_score():
    from toolkit.data.heldout import HeldOut
    from toolkit.data.tokenize import CharTokenizer

    chars = CharTokenizer.fit("abcd" * 100)
    plain = HeldOut.from_text("abcd" * 100, chars, None)
    odd = HeldOut.from_text("abcd" * 99 + "abxd", chars, None)
    assert plain.unknown_nats == 0 and odd.unknown_nats == chars.unknown_nats("x") > 0

    class Letters(Bigram):
        def __init__(self):
            super().__init__(vocab=len(chars))

    base = fit(Letters(), chars.encode("abcd" * 200), plain, config(max_steps=3, batching="random"))
    charged = fit(Letters(), chars.encode("abcd" * 200), odd, config(max_steps=3, batching="random"))
    gap = charged.history[-1]["val_bpc_estimate"] - base.history[-1]["val_bpc_estimate"]
    assert gap >= odd.unknown_nats / odd.chars / math.log(2) * 0.99


class Exploding(Recurrent):
    """Trains normally, then its loss turns NaN at step 16."""

    calls = 0

    def loss(self, model, x, y, state):
        loss, state = super().loss(model, x, y, state)
        if model.training:
            self.calls += 1
            if self.calls == 16:
                loss = loss * math.nan
        return loss, state


def test_divergence_is_one_line_and_keeps_the_last_finite_checkpoint(tmp_path):
    from toolkit.errors import TextgenError
    from toolkit.neural.trainer import Diverged

    with pytest.raises(Diverged, match=r"diverged at step 16.*lower lr.*warmup_steps") as caught:
        fit(Exploding(), PATTERN, PATTERN[:300], config(), checkpoint_dir=tmp_path / "ckpt")
    assert isinstance(caught.value, TextgenError) and "\n" not in str(caught.value)
    tensors, meta = read_checkpoint(tmp_path / "ckpt")
    assert meta["step"] == 10
    assert all(torch.isfinite(t).all() for k, t in tensors.items() if k.startswith("model."))


def test_a_checkpoint_with_non_finite_weights_is_never_resumed(tmp_path, capsys):
    from toolkit.neural import save_tensors

    fit(Recurrent(), PATTERN, PATTERN[:300], config(max_steps=10), checkpoint_dir=tmp_path / "ckpt")
    tensors, _ = read_checkpoint(tmp_path / "ckpt")
    name = next(k for k in tensors if k.startswith("model."))
    tensors[name] = tensors[name] * math.inf
    save_tensors(tmp_path / "ckpt" / "state.safetensors", tensors)
    result = fit(Recurrent(), PATTERN, PATTERN[:300], config(max_steps=20), checkpoint_dir=tmp_path / "ckpt")
    assert result.resumed_from is None and result.steps == 20
    err = capsys.readouterr().err
    assert "not resuming" in err and "non-finite weights" in err and "starting fresh" in err
    _, meta = read_checkpoint(tmp_path / "ckpt")
    assert meta["step"] == 20


def test_progress_line_speaks_bits_per_character_and_shows_no_estimate_before_one(capsys):
    seen = []
    fit(Recurrent(), PATTERN, PATTERN[:300], config(max_steps=12, progress=True, eval_every=100),
        callback=lambda step, record: seen.append(record))
    err = capsys.readouterr().err
    assert "inf" not in err
    assert "held-out" in err and "val_bpc_estimate" in err and "bits/char" in err
    assert [r["step"] for r in seen if "val_bpc_estimate" in r] == [6, 12]  # none before the first validation
    assert all("train_bpc" in r for r in seen)
