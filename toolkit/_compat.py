"""What a plugin written for an earlier release uses keeps working, with a DeprecationWarning.

Two kinds of thing moved: modules, and `Generator` hooks.

**Modules.** When a public module moves, its old file stays as a two-line alias::

    \"\"\"Moved to `toolkit.data.tokenize`; an alias until textgen-toolkit 1.0 (toolkit._compat).\"\"\"
    from toolkit._compat import moved

    moved(__name__)

and one line joins `MOVED` below (old path: new path). Importing the old path then warns
once, with a `DeprecationWarning` naming the new path and the release that removes it,
and hands back the new module itself, so ``toolkit.tokenize.CharTokenizer is
toolkit.data.tokenize.CharTokenizer``. The test suite imports every path in `MOVED`
and checks its warning; `docs/plugins.md` ("The plugin API") states how long an alias lives.
A module whose *names* moved out (and that stays) serves them with
``__getattr__ = moved_names(__name__, {"main": "toolkit.cli.demo:main"})``, each warning alike.

**Hooks.** `adapt_old_hooks` runs for every `Generator` subclass. A class that defines a
first-release hook that today's core calls under another name gets one warning at its
definition, naming the new hook, and the old hook keeps doing its job: ``nats(text)`` still
scores (``Generator.score`` calls it), ``reject_segment`` with ``segment_end_ids`` still
redraws segments (as a `SegmentFilter` from ``stopping_criteria``). The canary plugin
under ``tests/canary`` uses both, and the main suite checks it.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import Any

#: The release that removes the aliases below (the next major release, and at least two minor ones away).
REMOVED_IN = "1.0"

#: Every module path a release documented or a plugin could import, that has moved since: old -> new.
MOVED = {
    "toolkit.tokenize": "toolkit.data.tokenize",
    "toolkit.corpora": "toolkit.data.corpora",
    "toolkit.heldout": "toolkit.data.heldout",
    "toolkit.metrics": "toolkit.evaluation.metrics",
    "toolkit.sampling": "toolkit.generation.sampling",
    "toolkit.compare": "toolkit.comparison",
    "toolkit.comparison.references": "toolkit.evaluation.references",
    "toolkit.dashboard": "toolkit.cli.dashboard",
    "toolkit.comparison.cli": "toolkit.cli.compare",
    "toolkit.sizing": "toolkit.neural.sizing",
}


#: Hooks of the first release that today's core calls under another name: old hook -> what replaced it.
RENAMED_HOOKS = {
    "nats": "token_nats(ids) (each token's nats as an array)",
    "reject_segment": "stopping_criteria() (returning a toolkit.generation.stopping.SegmentFilter)",
}


def moved(old: str) -> None:
    """Make the module being imported as ``old`` an alias of its new home, with one warning.

    Called from the old module's body: the warning points at the line that imported the
    old path (``stacklevel`` skips this function, that body and the import machinery).
    """
    new = MOVED[old]
    _warn(old, new, stacklevel=4)
    module = import_module(new)
    parent, _, leaf = old.rpartition(".")
    function = getattr(sys.modules[parent], leaf, None)  # a name the package serves besides (toolkit.compare)
    sys.modules[old] = _CallableModule(old, module, function) if callable(function) else module


def moved_names(module: str, names: dict[str, str], *,
                computed: dict[str, Callable[[], Any]] | None = None) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names that moved out of ``module``: ``{"main": "toolkit.cli.demo:main"}``.

    The new home is imported when an old name is used, so the old module does not depend on it.
    ``computed`` serves names the module works out afresh on each use, without a warning.
    """

    def __getattr__(name: str) -> Any:
        if computed and name in computed:
            return computed[name]()
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        home, _, attr = names[name].partition(":")
        _warn(f"{module}.{name}", f"{home}.{attr}", stacklevel=3)
        return getattr(import_module(home), attr)

    return __getattr__


def _warn(old: str, new: str, *, stacklevel: int) -> None:
    """The one deprecation of an old path; ``stacklevel`` reaches the line that used it."""
    warnings.warn(f"{old} has moved to {new}; import it from there (the old path is removed in "
                  f"textgen-toolkit {REMOVED_IN})", DeprecationWarning, stacklevel=stacklevel)


class _CallableModule(ModuleType):
    """A moved module whose old name is also a function of its package (``toolkit.compare``).

    Importing the old module binds it over the function on the package, so it must stay
    callable: calls go to the function, attributes to the new module.
    """

    def __init__(self, name: str, module: ModuleType, function: Any) -> None:
        super().__init__(name, module.__doc__)
        self.__wrapped__ = function  # inspect.signature sees the function's signature
        self._module = module

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def __dir__(self) -> list[str]:
        return dir(self._module)


def adapt_old_hooks(cls: type) -> None:
    """Keep the first-release hooks ``cls`` defines working, with one DeprecationWarning per hook."""
    own = vars(cls)
    if "token_nats" in own or "charges" in own:  # today's scoring hooks win, also over an inherited nats
        cls._old_nats = False
    elif callable(own.get("nats")):
        _deprecated(cls, "nats")
        cls._old_nats = True
    if callable(own.get("reject_segment")) and _from_core(cls, "stopping_criteria"):
        _deprecated(cls, "reject_segment")
        cls.stopping_criteria = _segment_filters


def _from_core(cls: type, name: str) -> bool:
    """Whether ``cls`` has ``name`` from the core (or from `adapt_old_hooks`), not from a plugin's own class."""
    owner = next(base for base in cls.__mro__ if name in vars(base))
    return owner.__module__ == "toolkit.generator" or vars(owner)[name] is _segment_filters


def _deprecated(cls: type, hook: str) -> None:
    """Warn, at the class statement, that ``cls`` defines the old ``hook``."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__") != cls.__module__:
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{cls.__module__}.{cls.__qualname__} defines {hook}(), a first-release hook: it still works, "
                  f"but is deprecated and ignored from textgen-toolkit {REMOVED_IN}; define {RENAMED_HOOKS[hook]} "
                  "instead (docs/plugins.md)", DeprecationWarning, stacklevel=level if frame is not None else 2)


def _segment_filters(self: Any) -> list[Any]:
    """``stopping_criteria`` for a plugin with the first release's ``reject_segment``/``segment_end_ids``."""
    from .generation.stopping import SegmentFilter

    ends = frozenset(getattr(self, "segment_end_ids", ()))
    tries = getattr(self, "max_segment_tries", 10)
    return [SegmentFilter(ends, self.reject_segment, tries)] if ends else []
