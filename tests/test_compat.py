"""What a plugin or script written for an earlier release uses keeps working, with a DeprecationWarning
naming its new home: moved module paths (`toolkit._compat.MOVED`) and the first release's hooks."""

from __future__ import annotations

import ast
import json
import warnings

import pytest
from imports import ROOT, imported
from textgen_bigram import BigramGenerator

from toolkit import _compat
from toolkit.generation.stopping import SegmentFilter

TEXT = "the cat sat on the mat.\n"

#: Imports every old path in a fresh process, each once more, and reports what each warned and what it gave.
IMPORT_ALL = """
import importlib, json, sys, warnings
report = {}
for old, new in json.loads(sys.argv[1]).items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = __import__(old, fromlist=["_"])
        again = __import__(old, fromlist=["_"])
    target = importlib.import_module(new)
    report[old] = {"warnings": [[w.category.__name__, str(w.message), w.filename] for w in caught],
                   "same": module is target or module._module is target, "again": again is module}
print(json.dumps(report))
"""


def test_every_moved_path_imports_the_new_module_and_warns_once_naming_it(run_python):
    out = run_python(IMPORT_ALL, json.dumps(_compat.MOVED))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report.keys() == _compat.MOVED.keys()
    for old, new in _compat.MOVED.items():
        (category, message, filename), = report[old]["warnings"]  # once, though imported twice
        assert category == "DeprecationWarning"
        assert f"{old} has moved to {new}" in message and f"removed in textgen-toolkit {_compat.REMOVED_IN}" in message
        assert filename == "<string>", "the warning points at the line that imports the old path"
        assert report[old]["same"] and report[old]["again"]


def test_an_old_path_fails_under_warnings_as_errors_naming_the_new_one(run_python):
    out = run_python("import toolkit.tokenize", env={"PYTHONWARNINGS": "error::DeprecationWarning"})
    assert out.returncode == 1 and "toolkit.data.tokenize" in out.stderr.splitlines()[-1]
    out = run_python("from toolkit.corpora import Corpus; from toolkit.tokenize import CharTokenizer\n"
                     "import toolkit.data.tokenize as new; assert CharTokenizer is new.CharTokenizer")
    assert out.returncode == 0, out.stderr


def test_importing_toolkit_compare_keeps_the_function_callable(run_python):
    code = ("import inspect, toolkit; function = toolkit.compare; import toolkit.compare\n"
            "from toolkit.compare import CompareReport, compare\n"
            "assert callable(toolkit.compare) and compare is function and CompareReport.__name__ == 'CompareReport'\n"
            "assert inspect.signature(toolkit.compare) == inspect.signature(function)\n"
            "toolkit.compare([], 'x', 'p')")
    out = run_python(code, env={"PYTHONWARNINGS": "ignore::DeprecationWarning"})
    assert out.stderr.splitlines()[-1] == "ValueError: give at least one model to compare", out.stderr


def bigram_copy(cls: type[BigramGenerator], model: BigramGenerator) -> BigramGenerator:
    return cls(model.tokenizer, model.log_probs, model.smoothing)


def test_the_first_release_nats_still_scores_with_one_deprecation_warning(bigram_model):
    with pytest.warns(DeprecationWarning, match=r"OldNats defines nats\(\).*define token_nats\(ids\)") as caught:
        class OldNats(BigramGenerator):  # the first release's hook: the whole text's nats and its token count
            def nats(self, text):
                return float(bigram_model.token_nats(self.encode(text)).sum()) + 1.0, 7

    assert [w.filename for w in caught] == [__file__], "the warning points at the class statement"
    score = bigram_copy(OldNats, bigram_model).score(TEXT)
    assert score.nats == pytest.approx(bigram_model.score(TEXT).nats + 1.0) and score.tokens == 7
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class Inherits(OldNats):
            pass
    assert not caught, "warned once, where nats is defined"
    assert bigram_copy(Inherits, bigram_model).score(TEXT).tokens == 7


def test_todays_scoring_hooks_win_over_a_helper_called_nats(bigram_model, recwarn):
    class NewStyle(BigramGenerator):
        def nats(self, ids):
            return -1.0, 0

        def token_nats(self, ids):
            return super().token_nats(ids)

    class Later(NewStyle):
        pass

    assert not recwarn.list
    for cls in (NewStyle, Later):
        assert bigram_copy(cls, bigram_model).score(TEXT).nats == pytest.approx(bigram_model.score(TEXT).nats)


def test_the_first_release_segment_hooks_still_redraw_segments(bigram_model):
    with pytest.warns(DeprecationWarning, match=r"defines reject_segment\(\).*define stopping_criteria\(\)"):
        class OldSegments(BigramGenerator):
            max_segment_tries = 1000

            def reject_segment(self, tokens):
                return "a" in self.decode(tokens)

    model = bigram_copy(OldSegments, bigram_model)
    model.segment_end_ids = frozenset(model.encode(" "))
    completion = model.complete("the ", max_tokens=60, seed=1)
    words = completion.texts[0].split(" ")[:-1]  # the finished segments
    assert completion.rejected_segments > 0 and words and not any("a" in w for w in words)
    model.segment_end_ids = frozenset()
    assert model.complete("the ", max_tokens=60, seed=1).rejected_segments == 0


def test_a_reject_segment_that_todays_stopping_criteria_use_is_no_old_hook(recwarn):
    class Filtering(BigramGenerator):
        def stopping_criteria(self):
            return [SegmentFilter(frozenset(self.encode(" ")), self.reject_segment)]

        def reject_segment(self, tokens):
            return False

    class Refines(Filtering):
        def reject_segment(self, tokens):
            return "a" in self.decode(tokens)

    assert not recwarn.list
    assert Refines.stopping_criteria is Filtering.stopping_criteria


def test_no_code_of_ours_imports_an_old_path():
    """The core, the plugins, the example, the dashboard and the benchmarks use the new paths (the canary may not)."""
    found = []
    for top in ("toolkit", "plugins", "examples", "dashboard", "bench"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT / top if top in {"plugins", "examples"} else ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found += [f"{path.relative_to(ROOT)}: {target}" for target in imported(name, path, node)
                              if target in _compat.MOVED]
    assert found == []
