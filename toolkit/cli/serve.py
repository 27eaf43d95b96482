"""``textgen serve``: the models over the OpenAI HTTP API until Ctrl-C or SIGTERM (`toolkit.serving`, docs/serve.md)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..machine import DEVICES
from .common import add_command


def cmd_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..serving import API_KEY_ENV, LIMITS, serve

    key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    limits = LIMITS
    if args.max_prompt_chars is not None:
        if args.max_prompt_chars < 1:
            raise ValueError(f"--max-prompt-chars must be a whole number >= 1, got {args.max_prompt_chars}")
        limits = replace(LIMITS, max_prompt_chars=args.max_prompt_chars)
    serve(args.models, host=args.host, port=args.port, api_key=key, limits=limits, device=args.device)
    return 0


def add_serve(sub: Any) -> None:
    p = add_command(sub, "serve", "serve models over the OpenAI HTTP API (docs/serve.md)",
                    "textgen serve models/markov-char models/lstm-char --port 8000",
                    'textgen serve models/* --host 0.0.0.0 --api-key "$KEY"')
    p.add_argument("models", nargs="+", help="model directories (served by folder name) or PLUGIN:SOURCE names")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; beyond this machine needs --api-key")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free port)")
    p.add_argument("--api-key", help="key every request must send as `Authorization: Bearer KEY` "
                                     "(default: $TEXTGEN_SERVE_API_KEY, else none)")
    p.add_argument("--max-prompt-chars", type=int, metavar="N",
                   help="characters of prompt one request may send (default: 1,000,000)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="where to run the neural models")
    p.set_defaults(func=cmd_serve)
