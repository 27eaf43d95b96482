"""`textgen serve`: the toolkit's models over the OpenAI HTTP API (``pip install 'textgen-toolkit[serve]'``).

`protocol` holds the request bodies, limits and errors (pydantic only), `work` the
served models and what a request asks of one (run in worker threads), `app` the
Starlette app; Starlette and uvicorn are imported only when a server starts.
Docs: docs/serve.md.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Sequence
from typing import TextIO

from ..errors import TextgenError
from .protocol import DEFAULT_MAX_TOKENS, LIMITS, Limits, RequestError, chat_prompt
from .work import load_models

#: Hosts that only this machine can reach: serving on any other needs an API key.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Seconds the requests in flight get to finish after Ctrl-C or SIGTERM; then they are cancelled.
GRACE_SECONDS = 5
#: Where ``--api-key`` is read from when the flag is not given (a key on the command line shows in ``ps``).
API_KEY_ENV = "TEXTGEN_SERVE_API_KEY"

__all__ = ["API_KEY_ENV", "DEFAULT_MAX_TOKENS", "GRACE_SECONDS", "LIMITS", "LOOPBACK", "Limits", "RequestError",
           "chat_prompt", "check_bind", "serve"]


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without an API key."""
    if host not in LOOPBACK and not api_key:
        raise TextgenError(f"refusing to serve on {host} without an API key: anyone who can reach it could use "
                           f"the models; pass --api-key KEY (or set {API_KEY_ENV}), or serve on 127.0.0.1")


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so a taken port is one clear line (port 0 picks a free one)."""
    sock = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise TextgenError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(sources: Sequence[str], *, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
          limits: Limits = LIMITS, device: str = "auto", out: TextIO = sys.stdout) -> None:
    """Serve the models of ``sources`` until Ctrl-C or SIGTERM; the requests in flight finish or are cancelled."""
    check_bind(host, api_key)
    import uvicorn  # the [serve] extra, named by the CLI when missing

    from .app import build_app

    models = load_models(sources, device)
    sock = listen(host, port)
    app = build_app(models, api_key=api_key, limits=limits)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS))
    bound = sock.getsockname()
    where = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    print(f"textgen serve: {', '.join(models)} on http://{where}:{bound[1]}/v1 (Ctrl-C stops)", file=out, flush=True)
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _: caught.append(number))  # uvicorn raises it again after
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        app.state.api.stopping.set()  # a run still going stops at its next step
        app.state.api.executor.shutdown(wait=True, cancel_futures=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    print(f"textgen serve: stopped{' by ' + signal.Signals(caught[0]).name if caught else ''}", file=out, flush=True)
