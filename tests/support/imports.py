"""Reading imports from source: what the layout test and the old-path test both need."""

from __future__ import annotations

import ast
from pathlib import Path

#: The repository's root.
ROOT = Path(__file__).resolve().parents[2]


def imported(name: str, path: Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The dotted names an import statement in module ``name`` (file ``path``) reaches."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        stem = ".".join([*base, node.module] if node.module else base)
    else:
        stem = node.module or ""
    return [stem, *(f"{stem}.{alias.name}" for alias in node.names)]
