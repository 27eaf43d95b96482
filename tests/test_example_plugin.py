"""The example plugin, installed with the core into a fresh virtual environment, with no network.

This is what a plugin author does: build two wheels, install them, run ``textgen plugins``.
The fresh environment sees only the core's runtime dependencies (through a ``.pth`` file
naming a folder of links to exactly those distributions), so no other installed plugin
leaks in, and ``PIP_NO_INDEX`` proves nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "textgen-bigram"
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "tests")
TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 20


def run(*command: str | Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command away from the working tree, whose toolkit/ would shadow the installed one."""
    out = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300, check=False,
                         env=env, cwd=cwd)
    assert out.returncode == 0, f"{command} failed:\n{out.stdout}\n{out.stderr}"
    return out


def requirements(wheel: Path) -> list[Requirement]:
    """The runtime requirements a wheel declares (no extras)."""
    with zipfile.ZipFile(wheel) as zf:
        metadata = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(metadata).decode().splitlines()
    return [Requirement(line.split(":", 1)[1].strip()) for line in lines if line.startswith("Requires-Dist:")]


def link_dependencies(wheels: list[Path], folder: Path) -> list[str]:
    """Link each runtime dependency (recursively) of the wheels from this environment into ``folder``."""
    provided = {canonicalize_name(w.name.split("-")[0]) for w in wheels}
    todo = [r for w in wheels for r in requirements(w)]
    done: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in done or name in provided or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        done.add(name)
        dist = distribution(req.name)
        site = Path(dist.locate_file(""))
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")} - {"__pycache__"}
        for top in tops:
            if not (folder / top).exists():
                (folder / top).symlink_to(site / top)
        todo.extend(Requirement(r) for r in dist.requires or [])
    return sorted(done)


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("fresh")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "TEXTGEN_PLUGINS"))}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    # Build from copies, so no build/ or egg-info lands in the working tree.
    core = tmp / "src" / "core"
    core.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, core / name)
    for package in ("toolkit", "dashboard"):
        if (ROOT / package).is_dir():
            shutil.copytree(ROOT / package, core / package, ignore=COPY_IGNORE)
    example = tmp / "src" / "textgen-bigram"
    shutil.copytree(EXAMPLE, example, ignore=COPY_IGNORE)
    wheels = tmp / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
        "-w", wheels, core, example, env=env, cwd=tmp)
    built = sorted(wheels.glob("*.whl"))
    assert [w.name.split("-")[0] for w in built] == ["textgen_bigram", "textgen_toolkit"]

    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, env=env, cwd=tmp)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index", "--no-deps", *built,
        env=env, cwd=tmp)
    deps = tmp / "deps"
    deps.mkdir()
    linked = link_dependencies(built, deps)
    assert {"numpy", "pydantic", "tqdm", "pydantic-core"} <= set(linked)
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", env=env, cwd=tmp).stdout
    site = site.strip()
    (Path(site) / "textgen_test_dependencies.pth").write_text(f"{deps}\n")
    return {"python": python, "textgen": venv / "bin" / "textgen", "tmp": tmp, "env": env, "site": Path(site)}


def test_fresh_environment_lists_only_the_example_plugin(fresh_env):
    env, tmp = fresh_env["env"], fresh_env["tmp"]
    out = run(fresh_env["textgen"], "plugins", "--json", env=env, cwd=tmp)
    assert json.loads(out.stdout) == [
        {"name": "bigram", "distribution": "textgen-bigram", "version": "0.1.0", "ok": True, "error": None,
         "incompatible": False, "conflict": []}
    ]
    where = run(fresh_env["python"], "-c", "import toolkit, textgen_bigram; print(toolkit.__file__);"
                "print(textgen_bigram.__file__)", env=env, cwd=tmp).stdout.split()
    assert all(path.startswith(str(fresh_env["site"])) for path in where), where
    out = run(fresh_env["python"], "-c", "import importlib.util as u; print(u.find_spec('torch'))",
              env=env, cwd=tmp)
    assert out.stdout.strip() == "None"


def test_fresh_environment_trains_and_generates(fresh_env):
    env, tmp, textgen = fresh_env["env"], fresh_env["tmp"], fresh_env["textgen"]
    (tmp / "corpus.txt").write_text(TEXT)
    trained = json.loads(run(textgen, "train", "bigram", "--corpus", tmp / "corpus.txt", "--out", tmp / "model",
                             "--json", env=env, cwd=tmp).stdout)
    assert 0 < trained["val_bpc"] < 8
    out = run(textgen, "generate", tmp / "model", "--prompt", "the ", "--max-tokens", "40", "--seed", "1",
              "--json", env=env, cwd=tmp)
    samples = json.loads(out.stdout)["samples"]
    assert len(samples) == 1 and len(samples[0]) == 40 and set(samples[0]) <= set(TEXT)
