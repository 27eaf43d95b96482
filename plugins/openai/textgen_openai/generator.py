"""`OpenAIGenerator`: a model behind an OpenAI-compatible server, through the official ``openai`` client.

A source is ``URL#MODEL``, the server's base URL (up to ``/v1``) and the model's name
there: ``openai:http://127.0.0.1:8000/v1#lstm-char``. Without ``#MODEL`` the server's
only model is taken. Generation is one ``/v1/completions`` request per call, the
toolkit's options mapped onto it (OpenAI's own fields, the rest as extra body fields
under the toolkit's names, sent only when set). Scoring asks for the prompt's
log-probabilities (``echo`` with ``logprobs`` and ``max_tokens: 0``, as ``textgen serve``
and vLLM answer it; vLLM's ``prompt_logprobs`` form is read too) and turns them into
`Charges`, so `score`, `surprisal` and `compare` work on it as on any model.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from toolkit.data.corpora import Corpus
from toolkit.errors import PluginError, ScoringUnavailable
from toolkit.generation.sampling import SamplingOptions, Scores, sampling_options
from toolkit.generation.stopping import Criterion
from toolkit.generator import Charges, Completion, Generator
from toolkit.options import Options

#: The API key sent to the server (``OPENAI_API_KEY`` when unset; a local server needs none).
API_KEY_ENV = "TEXTGEN_OPENAI_API_KEY"
#: Seconds one request may take before it fails (default 600: scoring a long text is one request).
TIMEOUT_ENV = "TEXTGEN_OPENAI_TIMEOUT"
#: Retries of a request that failed on the network or with a 408/429/5xx (default 2).
MAX_RETRIES_ENV = "TEXTGEN_OPENAI_MAX_RETRIES"
#: Sampling options OpenAI's API names itself; the others go as extra body fields.
OPENAI_FIELDS = ("temperature", "top_p")


def _number(env: str, default: float, kind: type) -> Any:
    raw = os.environ.get(env, "").strip()
    try:
        value = kind(raw) if raw else default
    except ValueError:
        value = -1
    if value < 0:
        raise PluginError(f"{env} must be a number >= 0, got {raw!r}")
    return value


class OpenAIGenerator(Generator):
    """Generation and scoring through an OpenAI-compatible HTTP server; it has no local tokens or weights."""

    name = "openai"
    Options = Options

    def __init__(self, base_url: str, model: str, client: Any) -> None:
        super().__init__()
        self.base_url, self.model, self.client = base_url, model, client
        self.endpoint = f"{base_url}#{model}"

    # -- loading -----------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, source: str, *, device: str = "auto") -> OpenAIGenerator:
        """``URL#MODEL`` (``device`` does not apply: the server decides where its model runs)."""
        import openai

        url, _, model = source.partition("#")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PluginError(f"openai source {source!r} must be URL#MODEL, such as http://127.0.0.1:8000/v1#lstm-char")
        key = os.environ.get(API_KEY_ENV) or os.environ.get("OPENAI_API_KEY") or "none"
        client = openai.OpenAI(base_url=url.rstrip("/"), api_key=key,
                               timeout=_number(TIMEOUT_ENV, 600.0, float),
                               max_retries=_number(MAX_RETRIES_ENV, 2, int))
        generator = cls(url.rstrip("/"), model, client)
        weakref.finalize(generator, client.close)  # its connections close with it, or at exit, never left to GC
        if not model:
            names = [m.id for m in generator._call("list its models", client.models.list).data]
            if len(names) != 1:
                raise PluginError(f"openai: {url} serves {len(names)} models ({', '.join(names) or 'none'}); "
                                  "name one as URL#MODEL")
            generator.model, generator.endpoint = names[0], f"{generator.base_url}#{names[0]}"
        return generator

    @classmethod
    def train(cls, corpus: Corpus, options: Options, *, seed: int, out: Path | None = None) -> Generator:
        raise PluginError("the openai plugin uses models served elsewhere and cannot train one; "
                          "give openai:URL#MODEL to generate, score or compare")

    def save_files(self, folder: Path) -> dict[str, Any]:
        raise PluginError(f"{self.endpoint} is served over HTTP; there are no files to save")

    @classmethod
    def load_files(cls, folder: Path, manifest: dict[str, Any], *, device: str = "auto") -> Generator:
        raise PluginError("the openai plugin has no model directories; give openai:URL#MODEL")

    def info(self) -> dict[str, Any]:
        return {"endpoint": self.base_url, "served_model": self.model}

    # -- what a served model does not have -----------------------------------------------

    def _local(self, what: str) -> PluginError:
        return PluginError(f"{self.endpoint} is served over HTTP: its {what} are not available here")

    def encode(self, text: str) -> list[int]:
        raise self._local("token ids")

    def decode(self, ids: Sequence[int]) -> str:
        raise self._local("token ids")

    def begin(self, prompt: list[int], n: int) -> tuple[Any, Scores]:
        raise self._local("next-token scores")

    def advance(self, state: Any, tokens: np.ndarray) -> tuple[Any, Scores]:
        raise self._local("next-token scores")

    # -- requests ----------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One request; a timeout, a network error or an error answer is one line naming the endpoint."""
        import openai

        try:
            return fn(*args, **kwargs)
        except openai.APITimeoutError:
            raise PluginError(f"openai: {self.endpoint}: timed out trying to {what} "
                              f"(after retries; {TIMEOUT_ENV} sets the seconds)") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise PluginError(f"openai: {self.endpoint}: cannot reach the server to {what}: "
                              f"{' '.join(str(cause).split()) or type(cause).__name__}") from None
        except openai.APIStatusError as exc:
            raise PluginError(f"openai: {self.endpoint}: the server refused to {what}: HTTP {exc.status_code}: "
                              f"{_message(exc)}") from None

    def _request(self, prompt: str, max_tokens: int, n: int, seed: int, stop: str | Sequence[str],
                 max_chars: int | None, options: SamplingOptions | None, criteria: Sequence[Criterion],
                 sampling: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``client.completions.create`` for a generation call."""
        if criteria:
            raise PluginError(f"{self.endpoint}: stopping criteria run in this process and cannot stop a "
                              "server's run; use stop strings, max_tokens or max_chars")
        chosen = sampling_options(options, **sampling)
        default = SamplingOptions()
        changed = {k: v for k, v in chosen.model_dump().items() if v != getattr(default, k)}
        extra = {k: v for k, v in changed.items() if k not in OPENAI_FIELDS}
        if max_chars is not None:
            extra["max_chars"] = max_chars
        stops = [stop] if isinstance(stop, str) else list(stop)
        return {"model": self.model, "prompt": prompt, "max_tokens": max_tokens, "n": n, "seed": seed,
                **({"stop": stops} if stops else {}), **{k: changed[k] for k in OPENAI_FIELDS if k in changed},
                **({"extra_body": extra} if extra else {})}

    def complete(self, prompt: str = "", *, max_tokens: int = 100, num_samples: int = 1, seed: int = 0,
                 stop: str | Sequence[str] = (), max_chars: int | None = None,
                 options: SamplingOptions | None = None, criteria: Sequence[Criterion] = (),
                 **sampling: Any) -> Completion:
        """``num_samples`` continuations, one request; token ids are not sent back, so ``tokens`` holds -1s."""
        import time

        request = self._request(prompt, max_tokens, num_samples, seed, stop, max_chars, options, criteria, sampling)
        started = time.perf_counter()
        answer = self._call("generate", self.client.completions.create, **request)
        seconds = time.perf_counter() - started
        texts = [""] * num_samples
        for choice in answer.choices:
            texts[choice.index] = choice.text[:max_chars]
        used = answer.usage.completion_tokens if answer.usage else sum(len(t) for t in texts)
        chars = sum(len(t) for t in texts) or 1
        tokens = [[-1] * round(used * len(t) / chars) for t in texts]  # the server's count, shared by length
        return Completion(texts=texts, tokens=tokens, prompt=prompt, seconds=seconds, first_token_seconds=seconds)

    def stream_batch(self, prompt: str = "", *, max_tokens: int = 100, num_samples: int = 1, seed: int = 0,
                     stop: str | Sequence[str] = (), max_chars: int | None = None,
                     options: SamplingOptions | None = None, criteria: Sequence[Criterion] = (),
                     **sampling: Any) -> Iterator[list[str]]:
        """Each streamed chunk as one step: every sample's new piece ('' if none)."""
        request = self._request(prompt, max_tokens, num_samples, seed, stop, max_chars, options, criteria, sampling)
        lengths = [0] * num_samples
        for chunk in self._call("generate", self.client.completions.create, **request, stream=True):
            pieces = [""] * num_samples
            for choice in chunk.choices:
                room = None if max_chars is None else max_chars - lengths[choice.index]
                pieces[choice.index] = (choice.text or "")[:room]
                lengths[choice.index] += len(pieces[choice.index])
            yield pieces

    # -- scoring -----------------------------------------------------------------------

    def charges(self, text: str) -> Charges:
        """The text's code length from the server's log-probabilities of it as a prompt."""
        answer = self._call("score text", self.client.completions.create, model=self.model, prompt=text,
                            max_tokens=0, echo=True, logprobs=0)
        entries = _echoed(answer.choices[0] if answer.choices else None, text)
        if not entries:  # vLLM's own form; a server that refuses the field cannot score either
            try:
                answer = self._call("score text", self.client.completions.create, model=self.model, prompt=text,
                                    max_tokens=1, extra_body={"prompt_logprobs": 0})
            except PluginError:
                answer = None
            entries = _prompt_logprobs(answer.choices[0] if answer and answer.choices else None)
        if not entries:
            raise ScoringUnavailable(f"openai: {self.endpoint} cannot score text: it gave no log-probabilities "
                                     "for the prompt (it needs echo with logprobs, or vLLM's prompt_logprobs)")
        starts = np.array([e[0] for e in entries], dtype=np.int64)
        ends = np.minimum(np.array([e[1] for e in entries], dtype=np.int64), len(text))
        return Charges(np.array([e[2] for e in entries], dtype=np.float64), starts, ends, len(entries))


def _message(exc: Any) -> str:
    """The error's message from OpenAI's error JSON, else the body, on one line."""
    body = exc.body
    if isinstance(body, dict):
        body = body.get("message", body)
    return " ".join(str(body or exc.message).split())[:300]


def _nats(logprob: float | None) -> float:
    """A token's charge: ``None`` (the first token, which a server cannot score without context) costs 0."""
    return 0.0 if logprob is None else -float(logprob)


def _echoed(choice: Any, text: str) -> list[tuple[int, int, float]]:
    """(start, end, nats) of each prompt token from ``choice.logprobs`` of an echoed completion."""
    found = getattr(choice, "logprobs", None)
    if found is None or not found.token_logprobs:
        return []
    tokens, offsets = found.tokens or [], found.text_offset
    if not offsets or len(offsets) != len(tokens):
        offsets = np.r_[0, np.cumsum([len(t) for t in tokens])[:-1]].astype(int).tolist()
    return [(start, start + len(token), _nats(logprob))
            for start, token, logprob in zip(offsets, tokens, found.token_logprobs, strict=False)
            if start < len(text)]


def _prompt_logprobs(choice: Any) -> list[tuple[int, int, float]]:
    """vLLM's form: ``prompt_logprobs``, a list of ``{token_id: {"logprob", "decoded_token", ...}}``.

    The first entry is None (no context to score the first token by): that token is free,
    and the offsets of the others start after it is skipped, so they may sit a token early.
    """
    rows = (getattr(choice, "model_extra", None) or {}).get("prompt_logprobs") or []
    entries, start = [], 0
    for row in rows:
        if not row:
            continue
        best = next(iter(row.values()))
        token = best.get("decoded_token") or ""
        logprob = best.get("logprob")
        entries.append((start, start + len(token), _nats(logprob if math.isfinite(logprob or 0.0) else None)))
        start += len(token)
    return entries
