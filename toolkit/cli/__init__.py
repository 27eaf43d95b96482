"""The ``textgen`` command line. Only argparse at import time, so ``--help`` is instant.

One module per group of commands, each exposing an ``add_NAME(sub)`` per command that builds
its subparser and sets ``func``: `plugins` (plugins, options), `models` (train, generate,
score, export), `compare`, `dashboard`, `demo`; `common` holds the flags and helpers they
share. Adding a command is one new module plus one line in `COMMANDS` (whose order is the
order ``textgen --help`` lists them in). A command module imports only the standard library
and light toolkit modules at its top (no pydantic, numpy or torch); the rest inside the
function that runs the command, so that ``--help`` stays instant (`tests/test_registry.py`).

A user's mistake (`TextgenError`, a bad option value) prints one line and exits 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from ..machine import DEVICES
from . import compare, dashboard, demo, models, plugins
from .common import HelpFormatter, read_text_file
from .compare import cmd_compare
from .dashboard import main as cmd_dashboard
from .demo import main as cmd_demo
from .models import SAMPLING_FLAGS, cmd_export, cmd_generate, cmd_score, cmd_train
from .plugins import cmd_options, cmd_plugins

__all__ = [
    "COMMANDS", "DEVICES", "EXTRAS", "SAMPLING_FLAGS", "build_parser", "cmd_compare", "cmd_dashboard", "cmd_demo",
    "cmd_export", "cmd_generate", "cmd_options", "cmd_plugins", "cmd_score", "cmd_train", "main", "read_text_file",
]

#: Optional packages a command may import -> (distribution, the extra of textgen-toolkit that installs it).
EXTRAS = {
    "sklearn": ("scikit-learn", "compare"), "matplotlib": ("matplotlib", "compare"),
    "streamlit": ("Streamlit", "dashboard"), "torch": ("torch", "neural"), "safetensors": ("safetensors", "neural"),
    "pytest": ("pytest", "test"), "hypothesis": ("hypothesis", "test"),
}

#: Each command's subparser builder, in the order ``textgen --help`` lists them.
COMMANDS: tuple[Callable[[Any], None], ...] = (
    plugins.add_plugins,
    plugins.add_options,
    models.add_train,
    models.add_generate,
    models.add_score,
    compare.add_compare,
    models.add_export,
    dashboard.add_dashboard,
    demo.add_demo,
)


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one ``textgen: error:`` line too, pointing at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"textgen: error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="textgen", description="Train, run and compare text generators.",
                     epilog="`textgen COMMAND --help` describes each command, with an example.",
                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of any error (also TEXTGEN_DEBUG=1), for plugin authors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    for p in sub.choices.values():  # `textgen generate M --debug` works as well as `textgen --debug generate M`
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of any error (also TEXTGEN_DEBUG=1), for plugin authors")
    return parser


def _one_line(exc: Exception, command: str) -> str | None:
    """The error line for a user's mistake, a plugin's bug or a missing extra; None for a bug of the core."""
    from ..errors import TextgenError
    from ..registry import plugin_fault

    if isinstance(exc, TextgenError):
        return str(exc)
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] in EXTRAS:
        package, extra = EXTRAS[(exc.name or "").partition(".")[0]]
        return f"`textgen {command}` needs {package}, which is not installed: pip install 'textgen-toolkit[{extra}]'"
    return plugin_fault(exc) or (str(exc) if isinstance(exc, ValueError) else None)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if not sys.warnoptions:  # -W or PYTHONWARNINGS decide, else every warning once but deprecations, which are
        warnings.simplefilter("default")  # for plugin authors (their tests show them), not for the user
        warnings.simplefilter("ignore", DeprecationWarning)
    warnings.formatwarning = lambda msg, cat, *a, **k: f"textgen: warning: {msg}\n"
    debug = args.debug or os.environ.get("TEXTGEN_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    try:
        return args.func(args)
    except Exception as exc:
        message = None if debug else _one_line(exc, args.command)
        if message is None:
            raise
        print(f"textgen: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("textgen: interrupted", file=sys.stderr)
        return 130
