"""Plugin discovery: broken plugins are reported and isolated, TEXTGEN_PLUGINS limits loading,
and listing plugins stays fast (no torch)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from fixture_plugins import FIXTURES, TEXTGEN, on_path, run_textgen

import toolkit
from toolkit import registry
from toolkit.errors import ModelDirError, PluginError

BROKEN = FIXTURES / "broken_plugins"
FIXTURE_PLUGINS = {"broken-fixture", "half-fixture", "notagen-fixture"}


def textgen(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the installed ``textgen`` command with the broken fixture distribution on the path."""
    return run_textgen(*args, folder=BROKEN, **env)


@pytest.fixture()
def with_broken(monkeypatch):
    """The fixture distribution on sys.path for this process, with the registry cache cleared around it."""
    yield from on_path(monkeypatch, BROKEN, "textgen_broken_fixture")


def test_plugins_json_reports_good_and_broken_plugins():
    out = textgen("plugins", "--json")
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows["bigram"]["ok"] is True and rows["bigram"]["error"] is None
    assert rows["bigram"]["distribution"] == "textgen-bigram"
    if "markov" in rows:
        assert rows["markov"]["ok"] is True, rows["markov"]["error"]
    for name in FIXTURE_PLUGINS:
        assert rows[name]["ok"] is False
        assert (rows[name]["distribution"], rows[name]["version"]) == ("textgen-broken-fixture", "0.1.0")
    assert "ImportError: No module named 'textgen_fixture_missing_dependency'" in rows["broken-fixture"]["error"]
    assert "broken.py" in rows["broken-fixture"]["error"]
    assert "is not a subclass of toolkit.Generator" in rows["notagen-fixture"]["error"]
    assert "HalfGenerator does not implement" in rows["half-fixture"]["error"]
    assert "begin" in rows["half-fixture"]["error"] and "encode" not in rows["half-fixture"]["error"]


def test_plugins_text_listing_marks_broken_ones():
    out = textgen("plugins")
    assert out.returncode == 0 and out.stderr == ""
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert lines["bigram"].endswith("ok")
    assert "BROKEN: ImportError" in lines["broken-fixture"]


def test_broken_plugins_do_not_break_the_cli_or_other_plugins(bigram_dir):
    out = textgen("generate", str(bigram_dir), "--max-tokens", "12", "--json", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["samples"][0]) == 12
    out = textgen("options", "bigram")
    assert out.returncode == 0 and "smoothing" in out.stdout


def test_using_a_broken_plugin_is_one_clear_error(tmp_path):
    (tmp_path / "c.txt").write_text("some text to train on\n" * 10)
    out = textgen("train", "broken-fixture", "--corpus", str(tmp_path / "c.txt"), "--out", str(tmp_path / "m"))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        out.stderr.strip()
    ] and out.stderr.startswith("textgen: error: plugin 'broken-fixture' from textgen-broken-fixture 0.1.0 is broken")
    assert "Traceback" not in out.stderr and not (tmp_path / "m").exists()


def test_listing_imports_no_plugin_module(with_broken):
    found = registry.plugins()
    assert FIXTURE_PLUGINS <= found.keys() and "bigram" in found
    assert not any(m.startswith("textgen_broken_fixture.") for m in sys.modules)
    status = found["broken-fixture"].status()
    assert status["ok"] is False and "ImportError" in status["error"]
    with pytest.raises(PluginError, match="broken-fixture"):
        registry.get("broken-fixture")
    assert registry.get("bigram").name == "bigram"


def test_unknown_plugin_lists_the_installed_ones(with_broken):
    with pytest.raises(PluginError, match=r"no plugin named 'nope'; installed: .*bigram"):
        registry.get("nope")


@pytest.mark.parametrize(("value", "expected"), [
    ("", set()),
    ("bigram", {"bigram"}),
    (" bigram , broken-fixture ,", {"bigram", "broken-fixture"}),
    ("not-installed", set()),
])
def test_textgen_plugins_limits_which_load(with_broken, monkeypatch, value, expected):
    monkeypatch.setenv("TEXTGEN_PLUGINS", value)
    assert set(registry.plugins()) == expected


def test_textgen_plugins_empty_means_none_in_the_cli(bigram_dir):
    out = textgen("plugins", "--json", TEXTGEN_PLUGINS="")
    assert out.returncode == 0 and json.loads(out.stdout) == []
    out = textgen("plugins", TEXTGEN_PLUGINS="")
    assert "no plugins installed" in out.stdout
    out = textgen("generate", str(bigram_dir), TEXTGEN_PLUGINS="broken-fixture")
    assert out.returncode == 2 and "limited by TEXTGEN_PLUGINS" in out.stderr


def test_loading_a_model_whose_plugin_is_disabled(with_broken, monkeypatch, bigram_dir):
    monkeypatch.setenv("TEXTGEN_PLUGINS", "half-fixture")
    with pytest.raises(ModelDirError, match=r"needs plugin 'bigram' \(textgen-bigram 0.1.0\)"):
        toolkit.load(bigram_dir)


NO_TORCH = """
import io, json, sys, time
from contextlib import redirect_stdout
started = time.perf_counter()
from toolkit.cli import main
with redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "transformers", "streamlit", "sklearn", "matplotlib") if m in sys.modules)
print(json.dumps({"heavy": heavy, "seconds": time.perf_counter() - started}))
"""


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["plugins", "--json"]], ids=" ".join)
def test_help_and_plugins_do_not_import_torch(args, run_python):
    out = run_python(NO_TORCH, *args)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["heavy"] == [], f"`textgen {' '.join(args)}` imported {result['heavy']}"
    started = time.perf_counter()
    subprocess.run([str(TEXTGEN), *args], capture_output=True, check=True, timeout=60)
    print(f"textgen {' '.join(args)}: {time.perf_counter() - started:.3f}s wall (in-process {result['seconds']:.3f}s)")


def test_a_plugin_needing_a_newer_plugin_api_is_listed_in_one_line():
    rows = {row["name"]: row for row in json.loads(textgen("plugins", "--json").stdout)}
    assert rows["future-fixture"]["ok"] is False and rows["future-fixture"]["incompatible"] is True
    assert rows["oddapi-fixture"]["incompatible"] is False and rows["bigram"]["incompatible"] is False
    lines = {line.split()[0]: line for line in textgen("plugins").stdout.splitlines()}
    assert lines["future-fixture"].endswith(
        f"INCOMPATIBLE: needs plugin API 1.99, but textgen-toolkit {toolkit.__version__} provides plugin API "
        f"{toolkit.PLUGIN_API_VERSION}")
    assert lines["oddapi-fixture"].endswith(
        "BROKEN: OddApiGenerator.requires_api is '>=1.0', not a plugin API version such as '1.0'")


def test_training_with_a_plugin_needing_a_newer_plugin_api_is_one_clear_error(tmp_path):
    (tmp_path / "c.txt").write_text("some text to train on\n" * 10)
    out = textgen("train", "future-fixture", "--corpus", str(tmp_path / "c.txt"), "--out", str(tmp_path / "m"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("textgen: error: plugin 'future-fixture' from textgen-broken-fixture 0.1.0 is "
                                 "incompatible: needs plugin API 1.99, but textgen-toolkit")
    assert not (tmp_path / "m").exists()


def test_a_plugin_runs_on_the_api_version_it_needs_and_every_later_minor_one():
    major, minor = (int(part) for part in toolkit.PLUGIN_API_VERSION.split("."))

    def problem(needed: str | None) -> str | None:
        return registry.api_problem(type("Needs", (), {"requires_api": needed}))

    for fits in (None, f"{major}.0", f"{major}.{minor}"):
        assert problem(fits) is None, fits
    for newer in (f"{major}.{minor + 1}", f"{major + 1}.0"):
        assert problem(newer) == (f"needs plugin API {newer}, but textgen-toolkit {toolkit.__version__} provides "
                                  f"plugin API {toolkit.PLUGIN_API_VERSION}")
    assert problem(f"{major - 1}.9") is not None, "a new major version removes what the old one had"
