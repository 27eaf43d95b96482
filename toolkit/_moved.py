"""Old import paths kept working after a move: each warns once with a DeprecationWarning
naming the new path, as the compatibility promise asks (docs/plugins.md).

A moved module's old file holds only ``moved(__name__, "its.new.path")``; a module whose
names moved out sets ``__getattr__ = moved_names(__name__, {...})``. A stopgap for the CLI's
moves until the shared alias mechanism (`toolkit._compat`) lands; its ``moved`` works the same.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from typing import Any


def _warn(old: str, new: str) -> None:
    # stacklevel 4: past this function, `moved` or the module __getattr__, to the line that used the old path
    warnings.warn(f"{old} has moved to {new}; import it from there (the old path will be removed)",
                  DeprecationWarning, stacklevel=4)


def moved(old: str, new: str) -> None:
    """Make the module being imported as ``old`` the module ``new`` itself, with one warning."""
    _warn(old, new)
    sys.modules[old] = importlib.import_module(new)


def moved_names(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names moved out of ``module``: ``{"main": "toolkit.cli.demo:main"}``.

    The new home is imported by name when an old name is used, so the old module does not
    depend on it at import time.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        home, _, attr = names[name].partition(":")
        _warn(f"{module}.{name}", f"{home}.{attr}")
        return getattr(importlib.import_module(home), attr)

    return __getattr__
