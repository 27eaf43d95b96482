"""The openai plugin without a model server: option mapping, a server that cannot score, network failures.

Generation and scoring against a real server (`textgen serve`) are in tests/serving.
"""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

openai = pytest.importorskip("openai")

import toolkit  # noqa: E402
from toolkit import cli  # noqa: E402
from toolkit.data.corpora import Corpus  # noqa: E402
from toolkit.errors import PluginError, ScoringUnavailable  # noqa: E402

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 30


class NoLogprobs:
    """A client of a server that generates but gives no log-probabilities (and refuses vLLM's field)."""

    def __init__(self) -> None:
        self.completions = self
        self.sent: list[dict] = []

    def close(self) -> None:
        """Nothing to close: no connections."""

    def create(self, **request: object) -> SimpleNamespace:
        self.sent.append(request)
        if "extra_body" in request and "prompt_logprobs" in request["extra_body"]:
            raise openai.BadRequestError("unknown field", response=_response(400), body={"message": "no such field"})
        n = int(request.get("n", 1))
        return SimpleNamespace(choices=[SimpleNamespace(index=i, text="the cat", logprobs=None, model_extra={})
                                        for i in range(n)], usage=SimpleNamespace(completion_tokens=3 * n))


def _response(status: int):
    import httpx2

    return httpx2.Response(status, request=httpx2.Request("POST", "http://127.0.0.1/v1/completions"))


@pytest.fixture()
def no_logprobs(monkeypatch: pytest.MonkeyPatch) -> NoLogprobs:
    client = NoLogprobs()
    monkeypatch.setattr(openai, "OpenAI", lambda **_: client)
    return client


def test_options_map_onto_the_request(no_logprobs):
    model = toolkit.load("openai:http://127.0.0.1:9/v1#m")
    model.generate("the", max_tokens=7, num_samples=2, seed=5, stop="\n", max_chars=4, temperature=0.5, top_k=3)
    assert no_logprobs.sent[-1] == {"model": "m", "prompt": "the", "max_tokens": 7, "n": 2, "seed": 5,
                                    "stop": ["\n"], "temperature": 0.5, "extra_body": {"top_k": 3, "max_chars": 4}}
    assert model.generate("the", max_chars=4) == ["the "]  # a server that ignores max_chars is cut here


def test_a_server_that_cannot_score(no_logprobs, tmp_path, capsys):
    model = toolkit.load("openai:http://127.0.0.1:9/v1#m")
    with pytest.raises(ScoringUnavailable, match="cannot score text"):
        model.score("the cat")
    (tmp_path / "t.txt").write_text("the cat", encoding="utf-8")
    assert cli.main(["score", "openai:http://127.0.0.1:9/v1#m", "--text-file", str(tmp_path / "t.txt")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "cannot score text" in lines[0] and "http://127.0.0.1:9/v1#m" in lines[0]


def test_compare_shows_a_dash_for_its_bits_per_char(no_logprobs):
    served = toolkit.load("openai:http://127.0.0.1:9/v1#m")
    report = toolkit.compare({"served": served, "bigram": toolkit.train("bigram", Corpus("tiny", TEXT))},
                             Corpus("tiny", TEXT), "the ", samples=1, temperatures=[1.0], max_chars=20)
    assert not report.failed
    rows = [line for line in report.markdown().splitlines() if line.startswith(("| served |", "| bigram |"))]
    table = {line.split("|")[1].strip(): line for line in reversed(rows)}  # each label's first row: the main table
    assert "| — |" in table["served"] and "| — |" not in table["bigram"]


@pytest.fixture()
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTGEN_OPENAI_MAX_RETRIES", "0")
    monkeypatch.setenv("TEXTGEN_OPENAI_TIMEOUT", "0.5")


def test_network_errors_are_one_line_naming_the_endpoint(no_retries):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    model = toolkit.load(f"openai:http://127.0.0.1:{port}/v1#m")
    with pytest.raises(PluginError, match=rf"^openai: http://127.0.0.1:{port}/v1#m: cannot reach the server"):
        model.generate("the")
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        model = toolkit.load(f"openai:http://127.0.0.1:{port}/v1#m")
        with pytest.raises(PluginError, match=rf"^openai: http://127.0.0.1:{port}/v1#m: timed out"):
            model.score("the cat")


def test_bad_sources_and_settings(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(PluginError, match="must be URL#MODEL"):
        toolkit.load("openai:ftp://host/v1#m")
    monkeypatch.setenv("TEXTGEN_OPENAI_TIMEOUT", "soon")
    with pytest.raises(PluginError, match="TEXTGEN_OPENAI_TIMEOUT must be a number"):
        toolkit.load("openai:http://127.0.0.1:9/v1#m")
    monkeypatch.delenv("TEXTGEN_OPENAI_TIMEOUT")
    with pytest.raises(PluginError, match="cannot train"):
        toolkit.train("openai", Corpus("tiny", TEXT))
