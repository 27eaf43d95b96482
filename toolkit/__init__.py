"""textgen-toolkit: train, run and compare text generators behind one interface.

The public API is imported lazily, so ``import toolkit`` and ``textgen --help`` stay fast
and never pull in numpy, torch or a plugin until they are used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"
#: The plugin API (docs/plugins.md, "The plugin API"), MAJOR.MINOR: a minor version adds, a major one removes.
PLUGIN_API_VERSION = "1.1"

_API = {
    "load": "toolkit.api", "train": "toolkit.api", "load_corpus": "toolkit.data.corpora",
    "Corpus": "toolkit.data.corpora", "Generator": "toolkit.generator", "Completion": "toolkit.generator",
    "Score": "toolkit.generator", "Tokenized": "toolkit.generator",
    "SamplingOptions": "toolkit.generation.sampling", "Candidates": "toolkit.generation.sampling",
    "Options": "toolkit.options", "TextgenError": "toolkit.errors", "plugins": "toolkit.registry",
    "compare": "toolkit.comparison",
}

__all__ = [  # noqa: RUF022 - grouped as _API is
    "__version__", "PLUGIN_API_VERSION", "load", "train", "load_corpus", "Corpus", "Generator", "Tokenized",
    "Completion", "Score", "SamplingOptions", "Candidates", "Options", "TextgenError", "plugins", "compare",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
