"""The declared plugin API, written out as text: what `tests/api_surface.txt` holds.

The surface is what docs/plugins.md ("The plugin API") promises plugin authors and API users:
the top-level `toolkit` names, the modules the docs tell plugin authors to import, and the
classes of other modules a plugin subclasses or calls, each with its signature; classes
with their public members, and the moved paths that still import. Anything else is internal.

`tests/test_api_surface.py` fails when the code and the checked-in file differ. A change to
the surface, deliberate, is made in the same commit as its record, so a reviewer sees it::

    python tests/support/api_surface.py --update     # rewrite tests/api_surface.txt from the code
    python tests/support/api_surface.py              # print it
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import enum
import inspect
import re
import sys
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

SNAPSHOT = Path(__file__).resolve().parents[1] / "api_surface.txt"

#: Modules whose every public name is promised (their ``__all__``, else the names they define).
MODULES = (
    "toolkit", "toolkit.data.tokenize", "toolkit.data.corpora", "toolkit.options", "toolkit.errors",
    "toolkit.generation.sampling", "toolkit.generation.processors", "toolkit.generation.stopping",
    "toolkit.evaluation.metrics", "toolkit.testing", "toolkit.neural", "toolkit.neural.sizing",
)
#: Names of other modules that a plugin subclasses, returns or catches.
NAMES = (
    "toolkit.generator.Charges", "toolkit.generator.DemoRecipe", "toolkit.generator.Surprisal",
    "toolkit.generator.UnknownTokensWarning",
    "toolkit.neural.probe.speed_probe",
)
#: Values that are part of the promise themselves (other constants are listed with their type only).
VALUES = ("toolkit.PLUGIN_API_VERSION",)
SIMPLE = (str, int, float, bool, type(None), tuple, frozenset)


def surface() -> list[str]:
    """The surface, one line per name or member, in a fixed order."""
    lines: list[str] = []
    seen: dict[int, str] = {}
    for module_name in MODULES:
        module = import_module(module_name)
        for name in public_names(module):
            lines += describe(f"{module_name}.{name}", getattr(module, name), seen)
    for path in NAMES:
        module_name, _, name = path.rpartition(".")
        lines += describe(path, getattr(import_module(module_name), name), seen)
    from toolkit._compat import MOVED, REMOVED_IN

    lines += [f"alias {old} -> {new} (until {REMOVED_IN})" for old, new in MOVED.items()]
    return lines


def public_names(module: Any) -> list[str]:
    """A module's ``__all__``, else the public functions and classes it defines and the constants it assigns."""
    if hasattr(module, "__all__"):
        return sorted(module.__all__)
    tree = ast.parse(inspect.getsource(module))
    assigned = {target.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)}
    defined = {name for name, obj in vars(module).items()
               if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__}
    constants = {name for name in assigned if name.isupper() and not isinstance(getattr(module, name), TypeVar)}
    return sorted(name for name in defined | constants if not name.startswith("_"))


def describe(path: str, obj: Any, seen: dict[int, str]) -> list[str]:
    """Lines for one public name; a class's members only where it first appears."""
    if id(obj) in seen and not isinstance(obj, SIMPLE):
        return [f"{path} = {seen[id(obj)]}"]
    seen[id(obj)] = path
    if inspect.isclass(obj):
        bases = ", ".join(_name(b) for b in obj.__bases__)
        fields = issubclass(obj, BaseModel | enum.Enum)  # listed field by field, not by their noisy signature
        return [f"class {path}({bases}){'' if fields else signature(obj)}", *members(obj)]
    if callable(obj):
        return [f"def {path}{signature(obj)}"]
    if path in VALUES:
        return [f"{path} = {obj!r}"]
    return [f"{path}: {type(obj).__name__}"]


def members(cls: type) -> list[str]:
    """A class's own public members: methods with signatures, properties, attributes; fields of a model or enum."""
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()  # in its signature
    lines = [f"    {name}{member(raw)}" for name, raw in sorted(vars(cls).items())
             if not (name.startswith(("_", "model_")) or name in fields or isinstance(raw, enum.Enum))]
    if issubclass(cls, BaseModel) and "__pydantic_fields__" in vars(cls):
        lines += [f"    field {name}: {_clean(repr(field.annotation))} = {_clean(repr(field.default))}"
                  for name, field in vars(cls)["__pydantic_fields__"].items()]
    if issubclass(cls, enum.Enum):
        lines += [f"    member {item.name} = {item.value!r}" for item in cls]
    return lines


def member(raw: Any) -> str:
    """One member's kind and signature, as it reads after its name."""
    kind = "classmethod " if isinstance(raw, classmethod) else "staticmethod " if isinstance(raw, staticmethod) else ""
    function = raw.__func__ if isinstance(raw, classmethod | staticmethod) else raw
    if isinstance(raw, property):
        return ": property"
    if inspect.isfunction(function):
        abstract = "abstract " if getattr(function, "__isabstractmethod__", False) else ""
        return f": {abstract}{kind}method{signature(function)}"
    if inspect.isclass(raw):
        return f" = {_name(raw)}"
    if isinstance(raw, SIMPLE):
        return f" = {_clean(repr(raw))}"
    return ": pytest fixture" if type(raw).__module__.startswith(("_pytest", "pytest")) else f": {_name(type(raw))}"


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def signature(obj: Any) -> str:
    try:
        return _clean(str(inspect.signature(obj)))
    except (TypeError, ValueError):  # a builtin or a class without one
        return ""


def _clean(text: str) -> str:
    """Without memory addresses, which differ from run to run, and with builtin types by their plain names."""
    return re.sub(r"<class '(\w+)'>", r"\1", re.sub(r" at 0x[0-9a-f]+", "", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help=f"rewrite {SNAPSHOT.name} from the code")
    args = parser.parse_args(argv)
    text = "\n".join(surface()) + "\n"
    if args.update:
        SNAPSHOT.write_text(text, encoding="utf-8")
        print(f"wrote {SNAPSHOT} ({text.count(chr(10))} lines)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
