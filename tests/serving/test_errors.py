"""Bad requests get a 4xx with OpenAI's error JSON naming the parameter, a plugin bug a one-line 500; serving goes on"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from served import MAX_PROMPT_CHARS

from toolkit.serving import LIMITS

GOOD = {"model": "markov-char", "prompt": "the ", "max_tokens": 5}


@dataclass
class Answer:
    status: int
    text: str

    def json(self) -> dict:
        return json.loads(self.text)


def post(server, body: object, path: str = "/completions", raw: bytes | None = None,
         method: str = "POST") -> Answer:
    """A request as any HTTP client sends it (urllib: the openai client would refuse to send the bad ones)."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return Answer(answer.status, answer.read().decode())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read().decode())


def declared(server, length: int) -> Answer:
    """A request that declares a body of ``length`` bytes and sends none: refused from the header alone."""
    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest("POST", parts.path + "/completions")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        answer = connection.getresponse()
        return Answer(answer.status, answer.read().decode())
    finally:
        connection.close()


def refused(answer: Answer, status: int, param: str | None) -> str:
    assert answer.status == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert "\n" not in error["message"] and "Traceback" not in answer.text
    return error["message"]


def still_serving(server) -> None:
    answer = post(server, GOOD)
    assert answer.status == 200 and answer.json()["choices"][0]["text"]


@pytest.mark.parametrize(("change", "status", "param"), [
    ({"model": "nope"}, 404, "model"),
    ({"model": "../markov-char"}, 404, "model"),
    ({"temperature": -1}, 400, "temperature"),
    ({"temperature": "hot"}, 400, "temperature"),
    ({"top_p": 0}, 400, "top_p"),
    ({"top_k": 1.5}, 400, "top_k"),
    ({"n": True}, 400, "n"),
    ({"seed": -3}, 400, "seed"),
    ({"max_tokens": "ten"}, 400, "max_tokens"),
    ({"stop": [""]}, 400, "stop"),
    ({"prompt": [1, 2, 3]}, 400, "prompt"),
    ({"n": LIMITS.max_n + 1}, 400, "n"),
    ({"max_tokens": LIMITS.max_tokens + 1}, 400, "max_tokens"),
    ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, 400, "prompt"),
    ({"presence_penalty": 0.5}, 400, "presence_penalty"),
    ({"stream": True, "logprobs": 0}, 400, "logprobs"),
])
def test_bad_values_are_named(server, change: dict, status: int, param: str):
    refused(post(server, {**GOOD, **change}), status, param)
    still_serving(server)


def test_malformed_bodies(server):
    assert "not valid JSON" in refused(post(server, None, raw=b'{"model": "markov-char",'), 400, None)
    refused(post(server, [1, 2]), 400, None)
    refused(post(server, {"messages": []}, "/chat/completions"), 400, "model")
    refused(post(server, {"model": "markov-char", "messages": [{"role": "user"}], "max_tokens": 99999},
                 "/chat/completions"), 400, "max_tokens")
    refused(declared(server, 6 * MAX_PROMPT_CHARS + 2**20 + 1), 413, "prompt")
    assert refused(post(server, None, "/nothing", method="GET"), 404, None).startswith("GET /v1/nothing")
    still_serving(server)


def test_a_plugin_bug_is_a_one_line_500(server):
    message = refused(post(server, {**GOOD, "model": "buggy"}), 500, None)
    assert "plugin 'buggy-fixture'" in message and "decode" in message and "IndexError" in message
    streamed = post(server, {**GOOD, "model": "buggy", "stream": True})
    events = [line for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert len(events) == 1 and "plugin 'buggy-fixture'" in events[0]  # the error event, then the stream ends
    still_serving(server)
