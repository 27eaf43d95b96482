"""`textgen serve` driven by the official `openai` package: the same text as `textgen generate`, the same score."""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path

import pytest
from served import run_textgen, samples
from served_process import started

import toolkit
from toolkit.generator import UnknownTokensWarning
from toolkit.serving import chat_prompt
from toolkit.serving.protocol import Message

SCORED = "the cat met ☃ dog on the log.\nROMEO: the mat!"  # ☃: a character no model saw, charged its spelling


def test_lists_the_models_by_folder_name(client):
    assert sorted(m.id for m in client.models.list().data) == ["buggy", "lstm-char", "markov-char"]
    assert client.models.retrieve("lstm-char").id == "lstm-char"


def test_completion_is_textgen_generate(client, served_dir: Path):
    flags = {"seed": 3, "max_tokens": 40, "temperature": 0.8, "top_k": 5, "num_samples": 2, "stop": "!"}
    for name in ("markov-char", "lstm-char"):
        answer = client.completions.create(model=name, prompt="the ", max_tokens=40, temperature=0.8, n=2, seed=3,
                                           stop="!", extra_body={"top_k": 5})
        texts = [c.text for c in sorted(answer.choices, key=lambda c: c.index)]
        assert texts == samples(served_dir / name, "the ", **flags)
        assert answer.usage.completion_tokens >= max(len(t) for t in texts)  # one token per character here


def test_streamed_chunks_join_to_the_same_text(client, served_dir: Path):
    model = toolkit.load(served_dir / "lstm-char")
    options = {"max_tokens": 60, "seed": 7, "temperature": 1.2, "top_p": 0.9}
    joined = ["", ""]
    chunks = 0
    for chunk in client.completions.create(model="lstm-char", prompt="ROMEO:", n=2, stream=True, **options):
        for choice in chunk.choices:
            joined[choice.index] += choice.text
        chunks += 1
    assert joined == model.generate("ROMEO:", num_samples=2, **options)
    assert chunks > 3  # pieces as they come, not one block


def test_chat_uses_the_plain_template(client, served_dir: Path):
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "the dog"}]
    prompt = chat_prompt([Message(**m) for m in messages])
    assert prompt == "system: be brief\nuser: the dog\nassistant:"
    with pytest.warns(UnknownTokensWarning):  # the template's letters the tiny corpus lacks, as the server meets them
        expected = toolkit.load(served_dir / "markov-char").generate(prompt, max_tokens=30, seed=2)[0]
    answer = client.chat.completions.create(model="markov-char", messages=messages, max_tokens=30, seed=2)
    assert answer.choices[0].message.content == expected
    assert answer.choices[0].message.role == "assistant"
    stream = client.chat.completions.create(model="markov-char", messages=messages, max_tokens=30, seed=2,
                                            stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == expected


def bits_per_char(client, model: str, text: str) -> float:
    """The client's side of scoring (docs/serve.md): minus the sum of the log-probabilities, in bits, per character."""
    answer = client.completions.create(model=model, prompt=text, max_tokens=0, echo=True, logprobs=0)
    logprobs = answer.choices[0].logprobs
    assert answer.choices[0].text == text
    assert all(text[o:o + len(t)] == t for o, t in zip(logprobs.text_offset, logprobs.tokens, strict=True))
    return -math.fsum(logprobs.token_logprobs) / math.log(2) / len(text)


@pytest.mark.parametrize("name", ["markov-char", "lstm-char"])
def test_scoring_through_the_server_is_textgen_score(client, served_dir: Path, name: str, tmp_path: Path):
    (tmp_path / "text.txt").write_text(SCORED, encoding="utf-8")
    out = run_textgen("score", str(served_dir / name), "--text-file", str(tmp_path / "text.txt"), "--json")
    assert out.returncode == 0, out.stderr
    assert bits_per_char(client, name, SCORED) == pytest.approx(json.loads(out.stdout)["bpc"], abs=1e-6)


def test_generated_tokens_logprobs_are_the_models(client, served_dir: Path):
    answer = client.completions.create(model="markov-char", prompt="the ", max_tokens=12, seed=1, logprobs=0)
    choice = answer.choices[0]
    whole = toolkit.load(served_dir / "markov-char").surprisal("the " + choice.text)
    assert -math.fsum(choice.logprobs.token_logprobs) / math.log(2) == pytest.approx(sum(whole.bits[4:]), abs=1e-6)
    assert choice.logprobs.text_offset[0] == 4


def test_the_plugin_round_trip_generate_score_compare(server, served_dir: Path):
    """`openai:URL#NAME` sources give `compare` the same bits/char as the folders, and the same surprisal."""
    names = ("markov-char", "lstm-char")
    sources = [f"openai:{server.url}#{name}" for name in names]
    models = {**{s: toolkit.load(s) for s in sources}, **{n: toolkit.load(served_dir / n) for n in names}}
    report = toolkit.compare(models, served_dir / "corpus.txt", "the ", samples=1, temperatures=[1.0], max_chars=20)
    bpc = {m.label: m.bpc for m in report.models}
    for source, name in zip(sources, names, strict=True):
        assert bpc[source] == pytest.approx(bpc[name], abs=1e-6)
        with pytest.warns(UnknownTokensWarning, match="☃"):
            local = models[name].surprisal(SCORED).bits
        assert models[source].surprisal(SCORED).bits == pytest.approx(local, abs=1e-9)
    out = run_textgen("compare", sources[0], "--corpus", str(served_dir / "corpus.txt"), "--prompt", "the ",
                      "--samples", "1", "--temperatures", "1.0", "--max-chars", "20", "--json")  # the command too
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["models"][0]["bpc"] == pytest.approx(bpc[names[0]], abs=1e-6)
    streamed = run_textgen("generate", sources[1], "--prompt", "the ", "--seed", "4", "--max-tokens", "30",
                           "--stream")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == "the " + samples(served_dir / "lstm-char", "the ", seed=4, max_tokens=30)[0] + "\n"
    unknown = run_textgen("generate", f"openai:{server.url}#nope")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert f"openai: {server.url}#nope: the server refused to generate: HTTP 404: model 'nope'" in unknown.stderr


def test_refuses_to_listen_beyond_this_machine_without_a_key_or_on_a_taken_port(server, served_dir: Path):
    out = run_textgen("serve", str(served_dir / "markov-char"), "--host", "0.0.0.0", "--port", "0")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "--api-key" in out.stderr and "0.0.0.0" in out.stderr
    port = server.url.rsplit(":", 1)[1].split("/")[0]
    taken = run_textgen("serve", str(served_dir / "markov-char"), "--port", port)
    assert taken.returncode == 2 and taken.stderr == f"textgen: error: cannot serve on 127.0.0.1:{port}: " \
        "Address already in use\n"


def test_api_key_then_sigterm_exits_cleanly(served_dir: Path):
    import openai

    with started([str(served_dir / "markov-char"), "--api-key", "s3cret"]) as running:
        wrong = openai.OpenAI(base_url=running.url, api_key="guess", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="API key"):
            wrong.models.list()
        right = openai.OpenAI(base_url=running.url, api_key="s3cret", max_retries=0)
        assert [m.id for m in right.models.list().data] == ["markov-char"]
        stream = right.completions.create(model="markov-char", prompt="the ", max_tokens=4000, stream=True)
        next(iter(stream))  # a request in flight when the signal comes
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(30) == 0
        assert "stopped by SIGTERM" in running.process.stdout.read()


def test_concurrent_streams_each_get_their_own_text(client, served_dir: Path):
    """Requests on one model at once take turns step by step; none gets another's tokens."""
    from concurrent.futures import ThreadPoolExecutor

    model = toolkit.load(served_dir / "lstm-char")

    def stream(seed: int) -> str:
        chunks = client.completions.create(model="lstm-char", prompt="the ", max_tokens=40, seed=seed, stream=True)
        return "".join(c.choices[0].text for c in chunks if c.choices)

    with ThreadPoolExecutor(6) as pool:
        texts = list(pool.map(stream, range(6)))
    assert texts == [model.generate("the ", max_tokens=40, seed=seed)[0] for seed in range(6)]
