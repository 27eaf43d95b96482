"""``textgen demo``: train every installed family on Tiny Shakespeare and compare them (`toolkit.demo`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import add_command, add_temperatures


def main(args: argparse.Namespace) -> int:
    """`toolkit.demo.run` with the flags."""
    from ..demo import parse_overrides, run
    from ..generation.temperatures import parse_temperatures

    run(args.out, corpus=args.corpus, seed=args.seed, max_seconds=args.max_seconds, prompt=args.prompt,
        samples=args.samples, max_tokens=args.max_tokens, temperatures=parse_temperatures(args.temperatures),
        max_score_chars=args.max_score_chars or None, pretrained=not args.no_pretrained,
        overrides=parse_overrides(args.option))
    sys.stdout.flush()
    return 0


def add_demo(sub: Any) -> None:
    p = add_command(sub, "demo", "train every installed family on Tiny Shakespeare and compare them",
                    "textgen demo --max-seconds 30 --out demo-output")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="models/ and report/ go here")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--corpus", default="tinyshakespeare", help="corpus to train and score on")
    p.add_argument("--max-seconds", type=float, default=70.0, help="training budget of each neural model")
    p.add_argument("--prompt", default="ROMEO:", help="prompt the models continue")
    p.add_argument("--samples", type=int, default=5, help="samples per model and temperature")
    p.add_argument("--max-tokens", type=int, default=200, help="new tokens per sample")
    add_temperatures(p)
    p.add_argument("--max-score-chars", type=int, default=0,
                   help="score only this many validation characters, a slice named in the report (0: all)")
    p.add_argument("--no-pretrained", action="store_true", help="leave out a locally cached pretrained GPT-2")
    p.add_argument("-o", "--option", action="append", metavar="PLUGIN.KEY=VALUE",
                   help="training option for one family, e.g. lstm.hidden_size=128")
    p.set_defaults(func=main)
