"""The core's layout: no import circles in toolkit/, and no arrow from the core up to a plugin,
the dashboard or the benchmarks. Imports are read from the source (lazy and type-only ones too:
a circle through a function's import is still a circle). And the core's code names no plugin
(`test_the_core_names_no_plugin_in_its_code`)."""

from __future__ import annotations

import ast
import re
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


#: The built-in plugins, and the test plugins the suite installs: the core names none of them.
PLUGIN_NAMES = ("markov", "lstm", "gpt2", "bigram", "openai", "ngram-canary")
#: Keyword arguments whose text is help for a reader (argparse), where an example may name a plugin.
HELP_KEYWORDS = {"help", "epilog", "description", "usage"}


def _names_a_plugin(text: str) -> bool:
    """Whether a word of ``text`` (a run of letters, digits and ``_.:-``) is a plugin's name, its
    distribution or package (``textgen-NAME``, ``textgen_NAME``), or starts with the name and one of
    ``-.:_`` (a label ``lstm-char``, an option key ``lstm.hidden_size``, a source ``gpt2:distilgpt2``)."""
    for word in re.findall(r"[A-Za-z0-9_.:-]+", text):
        bare = re.sub(r"^textgen[-_]", "", word)
        if any(bare == name or bare.startswith(tuple(name + c for c in "-.:_")) for name in PLUGIN_NAMES):
            return True
    return False


def _exempt(tree: ast.AST) -> set[int]:
    """Ids of the string nodes that are prose for a reader: docstrings, argparse help texts
    (``help=``, ``epilog=``, ...) and the example command lines given to the CLI's `add_command`."""
    texts: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and \
                node.body and isinstance(node.body[0], ast.Expr):
            texts.append(node.body[0].value)
        elif isinstance(node, ast.Call):
            texts += [k.value for k in node.keywords if k.arg in HELP_KEYWORDS]
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            texts += node.args if called == "add_command" else []
    return {id(n) for text in texts for n in ast.walk(text)}


def _plugin_names_in_code(source: str) -> list[str]:
    """The string constants of ``source`` that name a plugin (`_names_a_plugin`) outside prose (`_exempt`)."""
    tree = ast.parse(source)
    exempt = _exempt(tree)
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in exempt and _names_a_plugin(node.value)]


def test_the_core_names_no_plugin_in_its_code():
    """No string the core's code uses names a built-in or test plugin: no ``registry.get("gpt2")``, no
    ``plugin == "lstm"``, no ``{"markov": ...}`` key, no ``"lstm-char"`` label or ``"textgen-markov"`` in a
    message. The rule, on string constants (f-strings' literal parts too) of every module in toolkit/:
    a word equal to a plugin's name (case-sensitive: prose such as "a Markov chain" describes the method),
    its ``textgen-NAME``/``textgen_NAME``, or the name followed by ``-``, ``.``, ``:`` or ``_`` is refused.
    Prose for a reader may name one as an example: docstrings, argparse ``help``/``epilog``/``description``/
    ``usage`` texts and the example command lines of `toolkit.cli.common.add_command`; comments are not code.
    What a plugin knows (its demo recipes, sizes, pretrained models) it says through its own hooks."""
    found = {str(path.relative_to(ROOT)): names for path in sorted(CORE.rglob("*.py"))
             if (names := _plugin_names_in_code(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_plugin_name_rule_reads_code_and_spares_prose():
    code = '''
def f(plugin, key):
    """Train lstm-char, as in ``registry.get("gpt2")``."""
    p.add_argument("--x", help="e.g. lstm.hidden_size=128")
    add_command(sub, "options", "show options", "textgen options lstm")
    if plugin == "lstm" or registry.get("gpt2"):
        raise ValueError(f"install textgen-markov for {key}; a Markov chain is counted, markovify rejects")
    return {"ngram-canary": 1, "label": "gpt2-pretrained", "ngram_overlap": 2}
'''
    assert sorted(_plugin_names_in_code(code)) == ["gpt2", "gpt2-pretrained", "install textgen-markov for ", "lstm",
                                                  "ngram-canary"]
