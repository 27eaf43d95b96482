"""``textgen plugins`` and ``textgen options``: what is installed, and what each plugin takes."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_command, add_json, print_json


def cmd_plugins(args: argparse.Namespace) -> int:
    from .. import registry

    rows = [p.status() for found in registry.claims().values() for p in found]
    if args.json:
        print_json(rows)
    elif not rows:
        print("no plugins installed (or TEXTGEN_PLUGINS lists none)")
    for row in [] if args.json else rows:
        state = "ok" if row["ok"] else f"{'INCOMPATIBLE' if row['incompatible'] else 'BROKEN'}: {row['error']}"
        if row["conflict"]:
            state += f"  CONFLICT: {row['name']!r} is also claimed by {', '.join(row['conflict'])}"
        print(f"{row['name']:<12} {row['distribution']} {row['version']}  {state}")
    return 0


def cmd_options(args: argparse.Namespace) -> int:
    from .. import registry
    from ..generation.sampling import SamplingOptions
    from ..options import describe

    sections = {"sampling (textgen generate)": describe(SamplingOptions)}
    title = f"{args.plugin} (textgen train {args.plugin} -o key=value)"
    if args.plugin:
        sections[title] = describe(registry.get(args.plugin).Options)
    if args.json:
        print_json(sections)
        return 0
    models = {"sampling (textgen generate)": SamplingOptions}
    if args.plugin:
        models[title] = registry.get(args.plugin).Options
    for (heading, rows), model in zip(sections.items(), models.values(), strict=True):
        print(f"{heading}:")
        table = [(row["name"], _type_label(model.model_fields[row["name"]].annotation),
                  f"default {'auto' if row.get('auto') else repr(row['default'])}", row["description"]) for row in rows]
        widths = [max((len(cells[i]) for cells in table), default=0) for i in range(3)]
        for cells in table:
            padded = [cell.ljust(width) for cell, width in zip(cells[:3], widths, strict=True)]
            print("  " + "  ".join([*padded, cells[3]]))
    return 0


def _type_label(annotation: Any) -> str:
    """``float | None``, or the allowed values of a ``Literal`` field (``auto|cpu|cuda``)."""
    import types
    import typing

    if typing.get_origin(annotation) is typing.Literal:
        return "|".join(str(value) for value in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " | ".join(_type_label(arg) for arg in typing.get_args(annotation))
    return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def add_plugins(sub: Any) -> None:
    p = add_command(sub, "plugins", "list installed generator plugins", "textgen plugins --json")
    add_json(p, "the list")
    p.set_defaults(func=cmd_plugins)


def add_options(sub: Any) -> None:
    p = add_command(sub, "options", "show sampling options and a plugin's training options", "textgen options lstm")
    p.add_argument("plugin", nargs="?", help="also show this plugin's training options")
    add_json(p, "the options")
    p.set_defaults(func=cmd_options)
