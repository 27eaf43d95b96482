"""``textgen compare``: parse the flags, run `toolkit.compare`, print the table or the JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..generation.temperatures import parse_temperatures
from ..machine import DEVICES
from .common import add_command, add_json, add_temperatures, read_text_file


def read_prompts(prompt: Sequence[str] | None, prompts_file: str | None) -> list[str]:
    """Prompts from repeated --prompt and/or a file of one prompt a line (blank lines skipped)."""
    prompts = list(prompt or [])
    if prompts_file:
        try:
            lines = Path(prompts_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--prompts-file {prompts_file}: cannot read it ({exc})") from None
        prompts += [line for line in lines if line.strip()]
        if not prompts:
            raise ValueError(f"--prompts-file {prompts_file} holds no prompts")
    if not prompts:
        raise ValueError("give --prompt TEXT (repeatable) or --prompts-file F")
    return prompts


def main(args: Any) -> int:
    """Print the Markdown table (or the JSON), write the report to --out; exit 1 if a model failed."""
    from ..comparison.run import compare

    report = compare(args.models, args.corpus, read_prompts(args.prompt, args.prompts_file), samples=args.samples,
                     temperatures=parse_temperatures(args.temperatures), max_tokens=args.max_tokens,
                     max_chars=args.max_chars or None, seed=args.seed,
                     max_score_chars=args.max_score_chars, device=args.device, out=args.out,
                     progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True, default=str))
    else:
        print(report.markdown())
    if report.files:
        print("wrote " + ", ".join(report.files.values()), file=sys.stderr)
    if report.failed:
        failed = "; ".join(f"{f.label}: {f.error}" for f in report.failed)
        print(f"textgen: error: {len(report.failed)} of {len(args.models)} model(s) failed, "
              f"the report has an error row for each ({failed})", file=sys.stderr)
        return 1
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    import importlib

    for module in ("sklearn", "matplotlib") if args.out is not None else ("sklearn",):
        importlib.import_module(module)  # a missing extra is named now, not after every model is evaluated
    if args.prompt_file:
        args.prompt = [*(args.prompt or []), *(read_text_file(path) for path in args.prompt_file)]
    return main(args)


def add_compare(sub: Any) -> None:
    p = add_command(sub, "compare", "evaluate models on the same held-out text and prompts",
                    'textgen compare models/* --corpus tinyshakespeare --prompt "ROMEO:" --out report')
    p.add_argument("models", nargs="+", help="model directories or PLUGIN:SOURCE names")
    p.add_argument("--corpus", required=True, help="corpus whose validation split is scored")
    p.add_argument("--prompt", action="append", help="prompt (repeatable)")
    p.add_argument("--prompt-file", action="append", metavar="FILE",
                   help="one prompt: the text of this UTF-8 file (repeatable)")
    p.add_argument("--prompts-file", help="file of prompts, one a line")
    p.add_argument("--samples", type=int, default=5, help="samples per model, prompt and temperature")
    add_temperatures(p)
    p.add_argument("--max-chars", type=int, default=200,
                   help="sample length in characters, the same for word and character models (0: no cap)")
    p.add_argument("--max-tokens", type=int, help="token cap per sample (default: as many as --max-chars)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--max-score-chars", type=int, help="score only this many validation characters (default: all)")
    p.add_argument("--device", default="auto", choices=DEVICES, help="where to run the neural models")
    p.add_argument("--out", help="folder for report.json, report.md and the PNG plots (a new or empty folder, "
                                 "or an earlier report, which is replaced)")
    add_json(p, "the JSON report instead of the table")
    p.set_defaults(func=cmd_compare)
