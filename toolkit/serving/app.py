"""The HTTP side of `textgen serve`: a Starlette app, Server-Sent Events for streams, uvicorn to run it.

Imported only when serving (``pip install 'textgen-toolkit[serve]'``). Model work runs
in a thread pool of its own (`toolkit.serving.work`), never on the event loop, so one
request never blocks another; a stream's pieces reach the loop through a queue.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .protocol import ChatRequest, CompletionRequest, Limits, RequestError, chat_prompt, parse, requested_tokens
from .work import Finished, Job, Served, generate, logprobs, prompt_tokens

log = logging.getLogger("textgen.serve")
#: Worker threads for model work: enough for every stream of a busy server to hold one.
WORKERS = 64
_DONE = object()


class View:
    """How `/v1/completions` shapes its answers; `ChatView` shapes chat's."""

    kind = "text_completion"

    def __init__(self, name: str, echo: str | None = None) -> None:
        self.name, self.echo = name, echo
        self.id = f"cmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.name, "choices": choices}

    def choice(self, index: int, text: str, reason: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"index": index, "text": text, "logprobs": (extra or {}).get("logprobs"), "finish_reason": reason}

    def chunk(self, index: int, text: str, reason: str | None = None) -> dict[str, Any]:
        return self.envelope(self.kind, [self.choice(index, text, reason)])

    def opening(self, index: int) -> dict[str, Any] | None:
        """The first chunk of choice ``index``: the echoed prompt, if asked for."""
        return self.chunk(index, self.echo) if self.echo else None

    def whole(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return self.envelope(self.kind, choices)


class ChatView(View):
    kind = "chat.completion"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.id = f"chatcmpl-{uuid.uuid4().hex}"

    def choice(self, index: int, text: str, reason: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"index": index, "message": {"role": "assistant", "content": text}, "logprobs": None,
                "finish_reason": reason}

    def chunk(self, index: int, text: str, reason: str | None = None) -> dict[str, Any]:
        delta = {"content": text} if text or reason is None else {}
        return self.envelope("chat.completion.chunk",
                             [{"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}])

    def opening(self, index: int) -> dict[str, Any] | None:
        return self.envelope("chat.completion.chunk", [{"index": index, "delta": {"role": "assistant", "content": ""},
                                                        "logprobs": None, "finish_reason": None}])


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data)}\n\n"


class Api:
    """The endpoints, over the served models; `stopping` is set when the server shuts down."""

    def __init__(self, models: dict[str, Served], *, api_key: str | None, limits: Limits) -> None:
        self.models, self.api_key, self.limits = models, api_key, limits
        self.executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="textgen-serve")
        self.stopping = threading.Event()

    # -- checks ------------------------------------------------------------------------

    def authorize(self, request: Request) -> None:
        """With an API key, every request must carry it as ``Authorization: Bearer KEY`` (compared in constant time)."""
        if self.api_key is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.api_key.encode()):
            raise RequestError("missing or wrong API key: send it as `Authorization: Bearer KEY`", status=401,
                               code="invalid_api_key")

    async def body(self, request: Request) -> object:
        """The request's JSON, refused unread when it is larger than the limits allow."""
        limit = self.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RequestError(f"the request body ({int(declared):,} bytes) is larger than {limit:,} bytes "
                               "(textgen serve --max-prompt-chars)", param="prompt", status=413)
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise RequestError(f"the request body is larger than {limit:,} bytes", param="prompt", status=413)
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise RequestError(f"the request body is not valid JSON: {exc}", code="invalid_json") from None

    def model(self, name: str) -> Served:
        """A served model by its name; never a path from the request."""
        if name not in self.models:
            raise RequestError(f"model {name!r} is not served here (served: {', '.join(self.models)})",
                               param="model", status=404, code="model_not_found")
        return self.models[name]

    # -- endpoints ---------------------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse({"object": "list", "data": [m.card() for m in self.models.values()]})

    async def get_model(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(self.model(request.path_params["name"]).card())

    async def completions(self, request: Request) -> Response:
        self.authorize(request)
        req: CompletionRequest = parse(CompletionRequest, await self.body(request), self.limits)
        served = self.model(req.model)
        if req.stream and req.logprobs is not None:
            raise RequestError("logprobs: ask for log-probabilities without stream", param="logprobs")
        jobs = [self._job(req, prompt) for prompt in req.prompts()]
        if req.stream:
            views = [View(served.name, job.prompt if req.echo else None) for job in jobs]
            return self._stream(served, jobs, views)
        view = View(served.name)
        finished = [await self._work(served, generate, job, None, self.stopping) for job in jobs]
        choices = []
        for job, done in zip(jobs, finished, strict=True):
            for i, text in enumerate(done.texts):
                extra = {"logprobs": await self._logprobs(served, req, job.prompt, text)} if req.logprobs is not None \
                    else None
                shown = job.prompt + text if req.echo else text
                choices.append(view.choice(len(choices), shown, done.reasons[i], extra))
        return JSONResponse({**view.whole(choices), "usage": await self._usage(served, jobs, finished)})

    async def chat(self, request: Request) -> Response:
        self.authorize(request)
        req: ChatRequest = parse(ChatRequest, await self.body(request), self.limits)
        served = self.model(req.model)
        job = self._job(req, chat_prompt(req.messages))
        view = ChatView(served.name)
        if req.stream:
            return self._stream(served, [job], [view])
        done = await self._work(served, generate, job, None, self.stopping)
        choices = [view.choice(i, text, done.reasons[i]) for i, text in enumerate(done.texts)]
        return JSONResponse({**view.whole(choices), "usage": await self._usage(served, [job], [done])})

    # -- the work ----------------------------------------------------------------------

    @staticmethod
    def _job(req: CompletionRequest | ChatRequest, prompt: str) -> Job:
        return Job(prompt=prompt, n=req.n, max_tokens=requested_tokens(req), seed=req.seed or 0, stops=req.stops(),
                   max_chars=req.max_chars, sampling=req.sampling())

    async def _work(self, served: Served, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(served, *args)`` in a worker thread; a failure is the plugin's, a 500 naming it."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, served, *args)
        except Exception as exc:
            log.exception("textgen serve: %s failed", served.name)
            raise RequestError(served.fault(exc), status=500, kind="server_error", code="plugin_error") from None

    async def _logprobs(self, served: Served, req: CompletionRequest, prompt: str, text: str) -> dict[str, Any]:
        return await self._work(served, logprobs, prompt + text, 0 if req.echo else len(prompt))

    async def _usage(self, served: Served, jobs: list[Job], finished: list[Finished]) -> dict[str, int]:
        prompt = sum([await self._work(served, prompt_tokens, job.prompt) * job.n for job in jobs])
        completion = sum(sum(done.tokens) for done in finished)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _stream(self, served: Served, jobs: list[Job], views: list[View]) -> StreamingResponse:
        return StreamingResponse(self._events(served, jobs, views), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def _events(self, served: Served, jobs: list[Job], views: list[View]) -> AsyncIterator[str]:
        """Server-Sent Events: each choice's pieces as they come, its finish reason, then ``[DONE]``.

        A failure after the stream began is sent as an ``error`` event (the status line is gone).
        """
        left = threading.Event()  # the client went away: the run stops at its next step
        base = 0
        try:
            for job, view in zip(jobs, views, strict=True):
                for i in range(job.n):
                    if (first := view.opening(base + i)) is not None:
                        yield _sse(first)
                async for event in self._job_events(served, job, view, base, left):
                    yield event
                base += job.n
            yield "data: [DONE]\n\n"
        except RequestError as exc:
            yield _sse(exc.body())
        finally:
            left.set()

    async def _job_events(self, served: Served, job: Job, view: View, base: int,
                          left: threading.Event) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def sink(pieces: list[str]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, pieces)

        work = asyncio.ensure_future(self._work(served, generate, job, sink, self.stopping, left))
        work.add_done_callback(lambda _: queue.put_nowait(_DONE))
        finished = False
        while not finished:
            steps = [await queue.get()]
            while not queue.empty():  # pieces that came while the last chunk was sent go out together
                steps.append(queue.get_nowait())
            finished = steps[-1] is _DONE
            for i, text in enumerate(["".join(p) for p in zip(*(s for s in steps if s is not _DONE), strict=True)]):
                if text:
                    yield _sse(view.chunk(base + i, text))
        done: Finished = work.result()
        for i, reason in enumerate(done.reasons):
            yield _sse(view.chunk(base + i, "", reason))


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(RequestError(message, param, status, kind, code).body(), status_code=status)


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("textgen serve: %s %s failed", request.method, request.url.path)
    return _error(500, f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}")


def build_app(models: dict[str, Served], *, api_key: str | None = None, limits: Limits | None = None) -> Starlette:
    """The app serving ``models``; ``app.state.api`` holds the `Api` (its ``stopping`` event, its thread pool)."""
    api = Api(models, api_key=api_key, limits=limits or Limits())
    routes = [Route("/v1/models", api.list_models, methods=["GET"]),
              Route("/v1/models/{name:path}", api.get_model, methods=["GET"]),
              Route("/v1/completions", api.completions, methods=["POST"]),
              Route("/v1/chat/completions", api.chat, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={RequestError: _request_error, HTTPException: _http_error,
                                                       Exception: _server_error})
    app.state.api = api
    return app
