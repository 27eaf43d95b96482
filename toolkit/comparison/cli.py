"""``textgen compare``: parse the flags, run `compare`, print the table or the JSON."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .run import compare


def parse_temperatures(text: str) -> list[float]:
    """``"0.3,0.8"`` -> ``[0.3, 0.8]``, or a ValueError naming --temperatures."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--temperatures must be numbers separated by commas, got {text!r}") from None
    if not values or any(not (0 <= v < math.inf) for v in values):
        raise ValueError(f"--temperatures must be one or more numbers >= 0, got {text!r}")
    return values


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
    report = compare(args.models, args.corpus, read_prompts(args.prompt, args.prompts_file), samples=args.samples,
                     temperatures=parse_temperatures(args.temperatures), max_tokens=args.max_tokens,
                     max_chars=args.max_chars or None, seed=args.seed,
                     max_score_chars=args.max_score_chars, device=args.device, out=args.out, seeds=args.seeds,
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


