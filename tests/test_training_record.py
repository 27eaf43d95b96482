"""What every built-in plugin's training records: one val_bpc, the curve, the reuse key, resumes.

``val_bpc`` must be exactly what ``textgen score --corpus`` prints, for a validation split
holding characters the training split never saw; the curve and the corpus key are the
formats `compare` reads.
"""

from __future__ import annotations

import json
import math

import pytest

import toolkit
from toolkit.cli import main
from toolkit.data.corpora import Corpus

pytest.importorskip("torch")

#: The validation split (last 10%) holds "Z", "ü" and "ζ", which training never saw.
TEXT = "the cat sat on the mat; a dog ran to the cat. " * 40 + "Zebras über ζeta! the cat sat."
CORPUS = Corpus("odd-chars", TEXT)
NEURAL = {"batch_size": 4, "max_steps": 12, "eval_every": 6, "eval_tokens": 256, "lr": 0.01, "device": "cpu",
          "progress": False}
TINY = {
    "markov": {"level": "char", "state_size": 3},
    "lstm": {**NEURAL, "embedding_size": 16, "hidden_size": 32, "seq_len": 16},
    "gpt2": {**NEURAL, "layers": 1, "heads": 2, "width": 16, "context": 16},
}
CURVE_KEYS = {"seconds", "tokens", "chars", "flops", "val_bpc_estimate"}
COMPUTE_KEYS = {"flops_per_token", "formula", "flops", "flops_per_second", "tokens_per_second", "kind", "budget",
                "machine"}


def test_the_validation_split_holds_unseen_characters():
    assert {"Z", "ü", "ζ"} <= set(CORPUS.val) - set(CORPUS.train)


@pytest.mark.parametrize("plugin", sorted(TINY))
def test_val_bpc_is_the_whole_split_scored_like_textgen_score(plugin, tmp_path, capsys):
    model = toolkit.train(plugin, CORPUS, out=tmp_path / "m", **TINY[plugin])
    manifest = json.loads((tmp_path / "m" / "textgen.json").read_text())
    scored = toolkit.load(tmp_path / "m").score(CORPUS.val).bpc
    # On a CPU: the same figure. On a GPU the kernels picked for the trained and the reloaded weights may
    # round float32 differently (seen on an H200: 5e-6 bits/char apart in TF32, before scoring went IEEE).
    same = 1e-9 if model.info().get("device", "cpu") == "cpu" else 1e-6
    assert manifest["training"]["val_bpc"] == pytest.approx(scored, abs=same)
    assert model.training["val_bpc"] == pytest.approx(scored, abs=same)
    assert main(["score", str(tmp_path / "m"), "--text-file", str(_val_file(tmp_path)), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bpc"] == pytest.approx(scored, abs=same)


def _val_file(tmp_path):
    path = tmp_path / "val.txt"
    path.write_text(CORPUS.val, encoding="utf-8")
    return path


@pytest.mark.parametrize("plugin", sorted(TINY))
def test_training_records_curve_and_reuse_key(plugin):
    training = toolkit.train(plugin, CORPUS, **TINY[plugin]).training
    curve = training["curve"]
    assert curve and all(set(point) == CURVE_KEYS for point in curve)
    assert all(math.isfinite(p["val_bpc_estimate"]) and p["tokens"] > 0 and p["chars"] > 0 for p in curve)
    assert [p["seconds"] for p in curve] == sorted(p["seconds"] for p in curve)
    assert set(training["curve_slice"]) >= {"chars", "how"} and training["curve_slice"]["chars"] > 0
    if plugin == "markov":
        assert len(curve) == 1 and curve[0]["chars"] == len(CORPUS.train)  # the build is one point
    else:
        assert [p["tokens"] for p in curve] == sorted({p["tokens"] for p in curve}) and len(curve) > 2
        assert training["stopped"].startswith("stopped at ")
    assert {"name", "sha256", "split"} <= set(training["corpus"])
    assert training["corpus"]["sha256"] == CORPUS.sha256 or not CORPUS.sha256
    _check_compute(plugin, training)
    assert training["corpus"]["split"]["val_fraction"] == CORPUS.val_fraction
    assert training["toolkit_version"] == toolkit.__version__
    assert training["resumed_from"] is None


def _check_compute(plugin: str, training: dict) -> None:
    """``training["compute"]`` as the agreed schema has it; the curve's last FLOPs are the total."""
    compute = training["compute"]
    assert set(compute) == COMPUTE_KEYS and compute["formula"]
    assert compute["flops"] == training["curve"][-1]["flops"] == training["curve"][-1]["tokens"] * \
        compute["flops_per_token"] > 0
    assert compute["flops_per_second"] == pytest.approx(compute["tokens_per_second"] * compute["flops_per_token"])
    assert set(compute["machine"]) == {"cpu", "threads", "device"} and compute["machine"]["device"] == "cpu"
    if plugin == "markov":  # a point at its counting cost: one update per n-gram order (1 .. 4) per token
        assert compute["kind"] == "counting" and compute["flops_per_token"] == 4
        assert compute["budget"] == {"unit": "tokens", "value": training["curve"][0]["tokens"]}
    else:
        assert compute["kind"] == "training" and compute["budget"] == {"unit": "steps", "value": 12}
        assert compute["machine"]["threads"] >= 1


def _interrupted(tmp_path, monkeypatch, at: int = 6) -> None:
    """Leave OUT/train-state behind as a Ctrl-C at step ``at`` does."""
    import toolkit.neural

    real = toolkit.neural.fit

    def stop(step, record):
        if step == at:
            raise KeyboardInterrupt

    monkeypatch.setattr(toolkit.neural, "fit", lambda *a, **k: real(*a, callback=stop, **k))
    with pytest.raises(KeyboardInterrupt):
        toolkit.train("lstm", CORPUS, out=tmp_path / "m", **TINY["lstm"])
    monkeypatch.setattr(toolkit.neural, "fit", real)
    assert (tmp_path / "m" / "train-state" / "state.json").is_file()


def _cli_train(tmp_path, *extra: str) -> list[str]:
    options = [f"-o{k}={v}" for k, v in TINY["lstm"].items()]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    return ["train", "lstm", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--json", *options, *extra]


def test_resume_is_announced_and_recorded(tmp_path, monkeypatch, capsys):
    _interrupted(tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(_cli_train(tmp_path)) == 0
    out, err = capsys.readouterr()
    assert "resuming from step 6 of a run interrupted at " in err and "(--fresh to start over)" in err
    assert json.loads(out)["resumed_from"] == 6


def test_fresh_starts_over(tmp_path, monkeypatch, capsys):
    _interrupted(tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(_cli_train(tmp_path, "--fresh")) == 0
    out, err = capsys.readouterr()
    assert "resuming" not in err and json.loads(out)["resumed_from"] is None


def test_worse_than_uniform_saves_but_warns(tmp_path):
    with pytest.warns(UserWarning, match="worse than a uniform guess over the .* tokens"):
        model = toolkit.train("lstm", CORPUS, out=tmp_path / "m", **{**TINY["lstm"], "lr": 1e6, "warmup_steps": 0})
    assert model.training["val_bpc"] > math.log2(model.info()["vocab_size"])
    assert "worse than a uniform guess" in toolkit.load(tmp_path / "m").training["warning"]


@pytest.mark.parametrize("plugin", sorted(TINY))
def test_a_model_that_learned_something_is_not_warned_about(plugin, recwarn):
    toolkit.train(plugin, CORPUS, **{**TINY[plugin], **({"max_steps": 40} if plugin != "markov" else {})})
    assert not [w for w in recwarn if "uniform guess" in str(w.message)]
