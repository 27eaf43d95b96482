"""Training speeds measured on this machine, cached, so that the sizing rule pays for a probe once.

The sizing rule (`toolkit.neural.sizing`) picks a row under a seconds budget by the tokens
those seconds buy here. A plugin hands it a `Measure` built by `measured`: the speed of a
row's model from the cache when this machine timed it before, else from the plugin's probe
(`toolkit.neural.probe`), which is timed and then cached. The cache key is everything that
changes the speed: the CPU model, the thread count, the torch version, the device, and the
model and data shape (the row's values, the plugin, its vocabulary). The cache is
``speeds.json`` in the user's cache folder (``$XDG_CACHE_HOME/textgen``, else
``~/.cache/textgen``; ``TEXTGEN_CACHE`` overrides), written atomically.

Torch-free: the keys' torch version and thread count come from the caller.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import atomic
from ..data.corpora import cache_dir
from .sizing import Measure, Speed

#: The cache file's name in the user's textgen cache folder.
FILE = "speeds.json"


def cache_path() -> Path:
    """Where this machine's measured speeds are kept (beside the corpora cache)."""
    return cache_dir().parent / FILE


def _key(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


class SpeedCache:
    """Measured training speeds (tokens/s) by key, in one JSON file; a file that cannot be read is empty."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: dict[str, Any]) -> float | None:
        entry = self._read().get(_key(key))
        speed = entry.get("tokens_per_second") if isinstance(entry, dict) else None
        return float(speed) if isinstance(speed, int | float) and speed > 0 else None

    def put(self, key: dict[str, Any], tokens_per_second: float) -> None:
        """Add one speed, keeping the others (re-read just before the atomic write)."""
        data = self._read()
        data[_key(key)] = {"tokens_per_second": tokens_per_second, "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            atomic.write_json(self.path, data)
        except OSError:  # a read-only home: the speed is still used, only not kept
            pass


def measured(probe: Callable[[dict[str, Any]], float], machine: dict[str, Any],
             cache: SpeedCache | None = None) -> Measure:
    """A `Measure` for the sizing rule: a row's speed from ``cache``, else timed by ``probe`` and cached.

    ``probe(values)`` returns the training tokens/s of a model with those option values; ``machine``
    names what else sets the speed (CPU, threads, torch, device, plugin, vocabulary) for the key.
    """
    cache = cache or SpeedCache()

    def measure(values: dict[str, Any]) -> Speed:
        key = {**machine, "values": values}
        known = cache.get(key)
        if known is not None:
            return Speed(known, "cache")
        began = time.perf_counter()
        speed = probe(values)
        spent = time.perf_counter() - began
        cache.put(key, speed)
        return Speed(speed, "probe", spent)

    return measure
