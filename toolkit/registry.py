"""Plugin discovery through the ``textgen.generators`` entry-point group, lazily.

Listing plugins reads package metadata only; a plugin's module is imported the first
time it is used. A plugin that fails to import or does not implement `Generator` is
reported with its name, distribution and error, and never breaks the others.
``TEXTGEN_PLUGINS`` (a comma list, empty for none) limits which plugins load.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import PluginError

GROUP = "textgen.generators"


@dataclass
class Plugin:
    """One registered generator: where it comes from, and (once loaded) its class or error."""

    name: str
    distribution: str
    version: str
    entry_point: EntryPoint | None = None
    _class: Any = field(default=None, repr=False)
    _error: str | None = field(default=None, repr=False)

    def load(self) -> Any:
        """Import the plugin's class, or raise `PluginError` saying what went wrong."""
        if self._class is None and self._error is None:
            self._class, self._error = _import(self)
        if self._error is not None:
            raise PluginError(f"plugin {self.name!r} from {self.distribution} {self.version} is broken: {self._error}")
        return self._class

    def status(self) -> dict[str, Any]:
        try:
            self.load()
        except PluginError:
            pass
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "ok": self._error is None, "error": self._error}


def _import(plugin: Plugin) -> tuple[Any, str | None]:
    from .generator import Generator

    try:
        cls = plugin.entry_point.load() if plugin.entry_point else None
    except Exception as exc:  # a plugin's import error must not break the others
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return None, f"{type(exc).__name__}: {exc} (at {last.filename}:{last.lineno})"
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        return None, f"{plugin.entry_point.value} is not a subclass of toolkit.Generator"
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        return None, f"{cls.__name__} does not implement {', '.join(missing)}"
    if cls.name != plugin.name:
        return None, f"{cls.__name__}.name is {cls.name!r}, but it is registered as {plugin.name!r}"
    return cls, None


def _enabled() -> set[str] | None:
    value = os.environ.get("TEXTGEN_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


@cache
def _discover(enabled: frozenset[str] | None) -> dict[str, Plugin]:
    found: dict[str, Plugin] = {}
    for ep in entry_points(group=GROUP):
        if enabled is not None and ep.name not in enabled:
            continue
        dist = ep.dist
        found.setdefault(ep.name, Plugin(ep.name, dist.metadata["Name"] if dist else "?",
                                         dist.version if dist else "?", ep))
    return dict(sorted(found.items()))


def plugins() -> dict[str, Plugin]:
    """Every enabled plugin by name, without importing any of them."""
    enabled = _enabled()
    return _discover(None if enabled is None else frozenset(enabled))


def get(name: str) -> Any:
    """The generator class registered as ``name``."""
    found = plugins()
    if name not in found:
        hint = f"installed: {', '.join(found) or 'none'}"
        if _enabled() is not None:
            hint += " (limited by TEXTGEN_PLUGINS)"
        raise PluginError(f"no plugin named {name!r}; {hint}")
    return found[name].load()


def plugin_version(name: str) -> tuple[str, str]:
    """Distribution and version of a plugin, for manifests; unknown for unregistered classes."""
    plugin = plugins().get(name)
    return (plugin.distribution, plugin.version) if plugin else ("unregistered", "unknown")
