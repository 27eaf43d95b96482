"""Versions that decide a run's numbers, recorded in every report."""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from importlib import metadata

from .. import __version__, registry

#: Distributions a report always records (compare uses them), and those it records when imported.
USED_PACKAGES = ("scikit-learn", "matplotlib")
OPTIONAL_PACKAGES = {"torch": "torch", "transformers": "transformers", "tokenizers": "tokenizers",
                     "markovify": "markovify"}


def versions(plugins: Sequence[str] = ()) -> dict[str, str]:
    """Python, numpy, the toolkit, the plugins compared and the libraries they imported."""
    import numpy as np

    found = {"python": platform.python_version(), "platform": platform.platform(), "numpy": np.__version__,
             "textgen-toolkit": __version__}
    for name, plugin in registry.plugins().items():
        if name in plugins:
            found[f"plugin {name}"] = f"{plugin.distribution} {plugin.version}"
    for dist in [*USED_PACKAGES, *(d for m, d in OPTIONAL_PACKAGES.items() if m in sys.modules)]:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found
