"""The models `textgen serve` serves, and what a request asks of one, run in a worker thread.

Generation goes through `Generator.stream_batch`, the code ``textgen generate`` runs, so
the same seed and options give the same text; a request's samples are one batch. Each
step of the run holds the model's lock, so the runs of several requests on one model
take turns step by step (a plugin need not be thread-safe, and no request waits for
another to finish). Log-probabilities are the model's `Charges`: the pieces
``textgen score`` adds up, so a client's sum of them is ``textgen score``'s figure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import load
from ..errors import TextgenError
from ..generation.rows import Row
from ..generation.stopping import Criterion, Verdict
from ..generator import Generator
from ..registry import plugin_fault


@dataclass
class Served:
    """One served model: its name in requests, where it came from, and the lock its steps take."""

    name: str
    source: str
    model: Generator
    created: int = field(default_factory=lambda: int(time.time()))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def card(self) -> dict[str, Any]:
        """The model's entry in ``GET /v1/models``."""
        return {"id": self.name, "object": "model", "created": self.created, "owned_by": "textgen",
                "plugin": self.model.name}

    def fault(self, exc: BaseException) -> str:
        """One line for a failure of the model's plugin, naming it (the traceback goes to the server's log)."""
        line = plugin_fault(exc) or f"plugin {self.model.name!r} failed: {type(exc).__name__}: {exc}"
        return f"model {self.name!r}: " + " ".join(line.split())


def model_name(source: str) -> str:
    """A model's name in requests: its folder's name, or a ``PLUGIN:SOURCE`` as written."""
    path = Path(source).expanduser()
    return path.resolve().name if path.is_dir() else source


def load_models(sources: Sequence[str], device: str = "auto") -> dict[str, Served]:
    """Load every source before serving starts; two sources with one name are refused."""
    served: dict[str, Served] = {}
    for source in sources:
        name = model_name(source)
        if name in served:
            raise TextgenError(f"two models would both be served as {name!r} ({served[name].source} and {source}); "
                               "rename one folder")
        served[name] = Served(name, source, load(source, device=device))
    return served


class Cancel(Criterion):
    """Ends every row once one of ``events`` is set (the client left, the server stops); counts row tokens."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events
        self.tokens: list[int] = []

    def start(self, rows: int) -> None:
        self.tokens = [0] * rows

    def after_token(self, row: Row) -> Verdict:
        self.tokens[row.index] = row.steps
        return Verdict.STOP if any(e.is_set() for e in self.events) else Verdict.GO


@dataclass
class Job:
    """One prompt's samples as a request asks for them."""

    prompt: str
    n: int
    max_tokens: int
    seed: int
    stops: list[str]
    max_chars: int | None
    sampling: dict[str, Any]


@dataclass
class Finished:
    texts: list[str]
    tokens: list[int]
    reasons: list[str]


def generate(served: Served, job: Job, sink: Callable[[list[str]], None] | None,
             *events: threading.Event) -> Finished:
    """Run ``job`` on ``served``, one locked step at a time; each step's pieces go to ``sink`` as they come."""
    counter = Cancel(*events)
    steps = served.model.stream_batch(job.prompt, max_tokens=job.max_tokens, num_samples=job.n, seed=job.seed,
                                      stop=job.stops, max_chars=job.max_chars, criteria=[counter], **job.sampling)
    pieces: list[list[str]] = [[] for _ in range(job.n)]
    while True:
        with served.lock:
            step = next(steps, None)
        if step is None:
            break
        for kept, piece in zip(pieces, step, strict=True):
            kept.append(piece)
        if sink is not None:
            sink(step)
    texts = ["".join(p) for p in pieces]
    tokens = counter.tokens or [0] * job.n
    long = [t >= job.max_tokens or (job.max_chars is not None and len(text) >= job.max_chars)
            for t, text in zip(tokens, texts, strict=True)]
    return Finished(texts, tokens, ["length" if cut else "stop" for cut in long])


def prompt_tokens(served: Served, text: str) -> int:
    with served.lock:
        return len(served.model.encode(text))


def logprobs(served: Served, text: str, start: int) -> dict[str, Any]:
    """OpenAI's ``logprobs`` object for the charges of ``text`` from character ``start`` on.

    Each entry is one of the model's charges (`Charges`): a token, with the negative of
    what it costs in nats as ``token_logprobs``, then any unknown piece's spelling on the
    same characters. ``tokens[i]`` is ``text[text_offset[i]:text_offset[i] + len(tokens[i])]``.
    Minus their sum over ln 2 and the text's length is ``textgen score``'s bits per character.
    """
    if not text:
        return {"tokens": [], "token_logprobs": [], "top_logprobs": None, "text_offset": []}
    with served.lock:
        charges, _ = served.model._charged(text)  # the checks and figures `score` uses
    keep = [i for i, s in enumerate(charges.starts.tolist()) if s >= start]
    starts, ends, nats = charges.starts.tolist(), charges.ends.tolist(), charges.nats.tolist()
    return {"tokens": [text[starts[i]:ends[i]] for i in keep], "token_logprobs": [-nats[i] for i in keep],
            "top_logprobs": None, "text_offset": [starts[i] for i in keep]}

