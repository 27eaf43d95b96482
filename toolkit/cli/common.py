"""What every command module shares: the subcommand builder, the flags several commands take,
JSON output, reading a UTF-8 file named by a flag and loading the model a command names.

Only argparse at import time, like the whole package, so that ``textgen --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

from ..generation.temperatures import format_temperatures
from ..machine import DEVICES


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Adds each flag's default to its help, unless the default is nothing (None, False, "")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        nothing = action.default is None or action.default is False or action.default in ("", argparse.SUPPRESS)
        if not action.option_strings or nothing or "%(default)" in text:
            return text
        return f"{text} (default: %(default)s)"


def add_command(sub: Any, name: str, summary: str, *examples: str) -> argparse.ArgumentParser:
    """A subcommand whose help ends with example command lines."""
    epilog = "example" + ("s" if len(examples) > 1 else "") + ":\n" + "\n".join(f"  {e}" for e in examples)
    return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                          epilog=epilog, formatter_class=HelpFormatter)


def add_model_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model directory, or PLUGIN:SOURCE such as gpt2:distilgpt2")
    p.add_argument("--plugin", help="plugin for a source that is not a textgen model directory")
    p.add_argument("--device", choices=DEVICES, help="where to run a neural model (default: auto, the best found)")


def add_json(p: argparse.ArgumentParser, what: str = "the result") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def add_temperatures(p: argparse.ArgumentParser) -> None:
    """``--temperatures``, by default the lesson's sweep (`toolkit.generation.temperatures`)."""
    p.add_argument("--temperatures", default=format_temperatures(), help="sampling temperatures, comma-separated")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def read_text_file(path: str, flag: str = "--prompt-file") -> str:
    """A UTF-8 file named by ``flag``, such as a prompt longer than the OS allows one argument (128 KB)."""
    from ..data.corpora import decode
    from ..errors import CorpusError

    try:
        return decode(Path(path).read_bytes(), f"{flag} {path}")
    except OSError as exc:
        raise CorpusError(f"{flag} {path}: cannot read it ({exc.strerror or exc})") from None


def load_model(args: argparse.Namespace) -> Any:
    """Load ``args.model``; warn when ``--device`` was given for a model that has no device."""
    from ..api import load

    model = load(args.model, plugin=args.plugin, device=args.device or "auto")
    if args.device is not None and "device" not in type(model).Options.model_fields:
        warnings.warn(f"--device {args.device} does not apply to {model.name} models (they run without torch); "
                      "ignored", stacklevel=1)
    return model
