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
        half = (m.get("bpc_interval") or {}).get("half_width")
        assert f"| {m['description']} | {m['bpc']:.3f}{f' ± {half:.3f}' if half else ''} |" in readme
    for name in found["plots"]:
        assert (ROOT / "docs" / f"compare-{name}.png").is_file()
    for key in ("machine", "date", "seed", "split"):  # the caption names them, and the budget with its unit
        assert str(found[key]).split(",")[0] in readme, key
    assert script.budget_text(found) in readme


def test_a_compute_budget_several_seed_run_renders_its_intervals_and_unit():
    script = _readme_script()
    found = json.loads((ROOT / "docs" / "compare-results.json").read_text(encoding="utf-8"))
    found.update(budget={"unit": "flops", "value": 2e13}, seeds=3, training_machine="Test CPU, 2 threads",
                 intervals={"held_out": "mean ± Student t", "samples": "percentile bootstrap"})
    found["models"][2].update(bpc=2.1681, bpc_interval={"low": 2.15, "high": 2.19, "half_width": 0.0205},
                              distinct_2_interval={"low": 0.95, "high": 0.99}, train_flops=2.0e13,
                              train_tokens_per_second=42_000.0)
    found["models"][0].update(bpc_interval={"low": 2.1879, "high": 2.1879, "half_width": 0.0},  # exact: a count
                              train_flops=7.0e6, train_tokens_per_second=None)  # a count's cost; no training speed
    text = script.render(found)
    row = f"| {found['models'][2]['description']} | 2.168 ± 0.021 | 2.0e13 | 42,000 |"
    assert row in text and f"| {found['models'][2]['distinct_2']:.3f} [0.950, 0.990] |" in text
    assert f"| {found['models'][0]['description']} | 2.188 | 7.0e6 | - |" in text
    assert "mean ± 95% interval over 3 seeds" in text and "seeds 0 to 2" in text
    assert "neural budget 2.0e13 training FLOPs each (a compute budget" in text
    assert "trained on Test CPU, 2 threads" in text and "Intervals: held-out bits/char as the mean ± Student t" in text


def test_a_changed_figure_shows_as_a_disagreement():
    script = _readme_script()
    found = json.loads((ROOT / "docs" / "compare-results.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found["models"][0]["bpc"] += 0.5
    assert script.rendered_readme(readme, found) != readme
