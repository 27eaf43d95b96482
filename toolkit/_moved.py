"""Old import paths kept working after a move: each use warns once with a DeprecationWarning
naming the new path, as the compatibility promise asks (docs/plugins.md).

A stopgap until the shared alias mechanism lands; a moved module calls `warn_moved` at its
top and imports the names from their new home, a module whose names moved out sets
``__getattr__ = moved_names(__name__, {...})``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def warn_moved(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is now ``new``."""
    warnings.warn(f"{old} has moved to {new}; import it from there (the old path will be removed)",
                  DeprecationWarning, stacklevel=stacklevel)


def moved_names(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that serves names moved out of ``module``: ``{"main": "toolkit.cli.compare:run"}``.

    The new home is imported by name when the old name is first used, so the old module
    does not depend on it at import time.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        home, _, attr = names[name].partition(":")
        warn_moved(f"{module}.{name}", f"{home}.{attr}")
        return getattr(importlib.import_module(home), attr)

    return __getattr__
