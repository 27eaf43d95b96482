"""The core's layout: no import circles in toolkit/, and no arrow from the core up to a plugin,
the dashboard or the benchmarks. Imports are read from the source (lazy and type-only ones too:
a circle through a function's import is still a circle)."""

from __future__ import annotations

import ast
from pathlib import Path

from imports import ROOT, imported

CORE = ROOT / "toolkit"
#: Top-level packages that stand above the core: it may never import them.
ABOVE = ("dashboard", "bench", "textgen_markov", "textgen_lstm", "textgen_gpt2", "textgen_openai", "textgen_bigram")
#: Circles allowed: none (`Generator.save` reads the plugin's distribution from the stamp the registry
#: put on its class, so the generator no longer imports the registry).
KNOWN: set[frozenset[str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in CORE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Arrows between core modules, and each core module's imports of what stands above the core."""
    modules = _modules()
    arrows: dict[str, set[str]] = {name: set() for name in modules}
    upward: dict[str, set[str]] = {}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in imported(name, path, node):
                if target.split(".")[0] in ABOVE:
                    upward.setdefault(name, set()).add(target)
                # `from pkg import mod` reaches pkg.mod; `from pkg import name` reaches pkg
                if target in modules and target != name and not name.startswith(f"{target}."):
                    arrows[name].add(target)
    return arrows, upward


def _circles(arrows: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in arrows[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = {node}
            while (member := stack.pop()) != node:
                group.add(member)
            if len(group) > 1:
                found.add(frozenset(group))

    for node in arrows:
        if node not in index:
            visit(node)
    return found


def test_the_core_has_no_import_circles():
    circles = _circles(_graph()[0])
    assert circles <= KNOWN, f"new import circles: {[sorted(c) for c in circles - KNOWN]}"


def test_the_core_imports_no_plugin_dashboard_or_bench():
    assert _graph()[1] == {}


def test_the_reader_sees_relative_lazy_and_type_only_imports():
    arrows = _graph()[0]
    assert "toolkit.data.corpora" in arrows["toolkit.generator"]  # from .data.corpora import Corpus
    assert "toolkit.generation.processors" in arrows["toolkit.generation.sampling"]  # from . import processors
    assert "toolkit.generator" in arrows["toolkit.registry"]  # imported inside a function
    assert "toolkit.generation.sampling" in arrows["toolkit.generation.run"]  # under TYPE_CHECKING
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}
