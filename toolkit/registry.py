"""Plugin discovery through the ``textgen.generators`` entry-point group, lazily.

Listing plugins reads package metadata only; a plugin's module is imported the first
time it is used. A plugin that fails to import or does not implement `Generator` is
reported with its name, distribution and error, and never breaks the others.
``TEXTGEN_PLUGINS`` (a comma list, empty for none) limits which plugins load.

Two distributions may claim one name. That is never resolved silently: both are listed,
each marked, and using the name needs the distribution to be chosen, by the model's
manifest or as ``NAME@DISTRIBUTION``; otherwise the error names both.

An exception that escapes a plugin's own method is the plugin's bug: `plugin_fault` names
the plugin, its distribution and the method, for the CLI's one-line error.
"""

from __future__ import annotations

import os
import re
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
    #: The other distributions that register the same name.
    rivals: list[Plugin] = field(default_factory=list, repr=False)
    _class: Any = field(default=None, repr=False)
    _error: str | None = field(default=None, repr=False)
    #: Whether the error is that the plugin needs a plugin API this toolkit does not provide.
    _incompatible: bool = field(default=False, repr=False)

    def load(self) -> Any:
        """Import the plugin's class, or raise `PluginError` saying what went wrong."""
        if self._class is None and self._error is None:
            self._class, self._error = _import(self)
            if self._class is not None and (needs := api_problem(self._class)):
                self._class, self._error, self._incompatible = None, needs, True
        if self._error is not None:
            what = "is incompatible" if self._incompatible else "is broken"
            raise PluginError(f"plugin {self.name!r} from {self.distribution} {self.version} {what}: {self._error}")
        return self._class

    def status(self) -> dict[str, Any]:
        try:
            self.load()
        except PluginError:
            pass
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "ok": self._error is None, "error": self._error, "incompatible": self._incompatible,
                "conflict": [f"{r.distribution} {r.version}" for r in self.rivals]}

    @property
    def label(self) -> str:
        return f"{self.distribution} {self.version}"


def _import(plugin: Plugin) -> tuple[Any, str | None]:
    from .generator import Generator
    from .modeldir import stamp

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
    if cls.requires_api is not None and _api_version(cls.requires_api) < (0, 0):
        return None, f"{cls.__name__}.requires_api is {cls.requires_api!r}, not a plugin API version such as '1.0'"
    stamp(cls, plugin.distribution, plugin.version)  # what its saved models' manifests record
    return cls, None


def api_problem(cls: Any) -> str | None:
    """Why ``cls`` cannot run on this toolkit's plugin API, or None if it can (docs/plugins.md, "The plugin API").

    A plugin may declare the plugin API version it needs as ``requires_api = "MAJOR.MINOR"``
    (a class attribute). It runs on the same major version from that minor on: a new minor
    version only adds, a new major version removes or changes.
    """
    from . import PLUGIN_API_VERSION, __version__

    needed = cls.requires_api
    wanted, have = _api_version(needed), _api_version(PLUGIN_API_VERSION)
    if needed is None or (wanted[0] == have[0] and wanted[1] <= have[1]):
        return None
    return f"needs plugin API {needed}, but textgen-toolkit {__version__} provides plugin API {PLUGIN_API_VERSION}"


def _api_version(text: object) -> tuple[int, int]:
    """``(major, minor)`` of a version such as ``"1.0"``; (-1, -1) for anything else."""
    match = re.fullmatch(r"(\d+)\.(\d+)", text) if isinstance(text, str) else None
    return (int(match[1]), int(match[2])) if match else (-1, -1)


def _enabled() -> set[str] | None:
    value = os.environ.get("TEXTGEN_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _normal(distribution: str) -> str:
    return distribution.lower().replace("_", "-").replace(".", "-")


@cache
def _claims(enabled: frozenset[str] | None) -> dict[str, list[Plugin]]:
    """Every distribution's claim on each enabled name, in discovery order."""
    found: dict[str, list[Plugin]] = {}
    for ep in entry_points(group=GROUP):
        if enabled is not None and ep.name not in enabled:
            continue
        dist = ep.dist
        plugin = Plugin(ep.name, dist.metadata["Name"] if dist else "?", dist.version if dist else "?", ep)
        claims = found.setdefault(ep.name, [])
        if all(_normal(c.distribution) != _normal(plugin.distribution) for c in claims):
            claims.append(plugin)
    for claims in found.values():
        for plugin in claims:
            plugin.rivals = [c for c in claims if c is not plugin]
    return dict(sorted(found.items()))


def claims() -> dict[str, list[Plugin]]:
    """Every enabled name with each distribution that registers it (more than one is a conflict)."""
    enabled = _enabled()
    return _claims(None if enabled is None else frozenset(enabled))


def plugins() -> dict[str, Plugin]:
    """Every enabled plugin by name, without importing any of them; see `Plugin.rivals` for conflicts."""
    return {name: found[0] for name, found in claims().items()}


def choose(name: str, distribution: str | None = None) -> Plugin:
    """The plugin registered as ``name`` (or ``NAME@DISTRIBUTION``), refusing an unresolved conflict.

    ``distribution`` is the one a model's manifest names; a conflict without it, or one
    it does not resolve, is an error naming every claimant.
    """
    name, _, wanted = name.partition("@")
    found = claims().get(name)
    if not found:
        hint = f"installed: {', '.join(claims()) or 'none'}"
        if _enabled() is not None:
            hint += " (limited by TEXTGEN_PLUGINS)"
        raise PluginError(f"no plugin named {name!r}; {hint}")
    wanted = wanted or distribution or ""
    picked = [p for p in found if _normal(p.distribution) == _normal(wanted)]
    if picked:
        return picked[0]
    claimants = " and ".join(p.label for p in found)
    if wanted and wanted != "unregistered":
        raise PluginError(f"plugin {name!r} from {wanted} is not installed; {name!r} is provided by {claimants}")
    if len(found) > 1:
        raise PluginError(f"plugin name {name!r} is claimed by {claimants}; uninstall one, or name one as "
                          f"{name}@{found[0].distribution}")
    return found[0]


def get(name: str, distribution: str | None = None) -> Any:
    """The generator class registered as ``name``; see `choose` for conflicts."""
    return choose(name, distribution).load()


def plugin_version(name: str, cls: type | None = None) -> tuple[str, str]:
    """Distribution and version of a plugin (of the claimant whose class is ``cls``), for manifests.

    Unknown for unregistered classes and for a name two distributions claim when ``cls``
    was not loaded through either.
    """
    found = claims().get(name, [])
    mine = [p for p in found if cls is not None and p._class is cls] or (found if len(found) == 1 else [])
    return (mine[0].distribution, mine[0].version) if mine else ("unregistered", "unknown")


#: The methods of a plugin the core calls; an exception escaping one of them is the plugin's bug.
PLUGIN_METHODS = frozenset({
    "encode", "decode", "begin", "advance", "begin_rows", "token_nats", "token_ends", "unknown_charges", "charges",
    "unknowns", "unknown_nats", "logits_processors", "stopping_criteria", "info", "save_files", "load_files", "train",
    "from_pretrained", "recognizes", "nats", "reject_segment",  # the last two: first-release hooks (toolkit._compat)
})


def plugin_fault(exc: BaseException) -> str | None:
    """One line naming the plugin and method an unexpected exception escaped from, if it did.

    Walks the traceback for the outermost frame of a plugin's own method (one the core
    called, defined outside ``toolkit``), so a plugin's ``IndexError`` reads as the
    plugin's bug instead of a traceback through the core. None when no plugin is involved.
    """
    from .generator import Generator

    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
        module = frame.f_globals.get("__name__", "")
        kind = owner if isinstance(owner, type) else type(owner)
        if (frame.f_code.co_name in PLUGIN_METHODS and issubclass(kind, Generator)
                and module.split(".")[0] != "toolkit"):
            distribution, version = plugin_version(kind.name, kind)
            where = f"{distribution} {version}" if distribution != "unregistered" else kind.__module__
            return (f"plugin {kind.name!r} ({where}) failed in its {frame.f_code.co_name} method: "
                    f"{type(exc).__name__}: {exc} (a bug in the plugin; `textgen --debug ...` or TEXTGEN_DEBUG=1 "
                    "shows the traceback)")
        tb = tb.tb_next
    return None
