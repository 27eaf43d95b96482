"""Deprecated: the dashboard's launcher is `toolkit.cli.apps` (``textgen dashboard``)."""

from ._moved import warn_moved
from .cli.apps import MODELS_ENV, command
from .cli.apps import cmd_dashboard as main

__all__ = ["MODELS_ENV", "command", "main"]

warn_moved("toolkit.dashboard", "toolkit.cli.apps (main is cmd_dashboard)")
