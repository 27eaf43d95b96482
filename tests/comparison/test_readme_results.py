"""The README's results section is rendered from docs/compare-results.json, never typed by hand."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_script():
    spec = importlib.util.spec_from_file_location("bench_readme", ROOT / "bench" / "readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_results_section_matches_the_results_file():
    script = _readme_script()
    found = json.loads((ROOT / "docs" / "compare-results.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.rendered_readme(readme, found) == readme, "run python bench/readme.py"
    for m in found["models"]:
        assert f"| {m['description']} | {m['bpc']:.3f} |" in readme
    for name in found["plots"]:
        assert (ROOT / "docs" / f"compare-{name}.png").is_file()
    for key in ("machine", "date", "budget_seconds", "seed", "split"):  # the caption names them
        value = found[key]
        assert (f"{value:g}" if isinstance(value, float) else str(value).split(",")[0]) in readme, key


def test_a_changed_figure_shows_as_a_disagreement():
    script = _readme_script()
    found = json.loads((ROOT / "docs" / "compare-results.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found["models"][0]["bpc"] += 0.5
    assert script.rendered_readme(readme, found) != readme
