"""`textgen dashboard` (toolkit/cli/dashboard.py): how it starts Streamlit, what it refuses,
and SIGTERM passed on to its child."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit.cli.dashboard import MODELS_ENV
from toolkit.errors import TextgenError

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"

DASHBOARD = """
import sys
from toolkit import cli
from toolkit.cli import dashboard

CHILD = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
dashboard.command = lambda port: [sys.executable, "-c", CHILD]
sys.exit(cli.main(["dashboard", "--port", "8599"]))
"""


def test_sigterm_to_the_dashboard_stops_its_streamlit_child():
    parent = subprocess.Popen([sys.executable, "-c", DASHBOARD], stdout=subprocess.PIPE, text=True)
    lines = [parent.stdout.readline(), parent.stdout.readline()]  # the child's pid and our banner, either order
    child = int(next(line for line in lines if line.strip().isdigit()))
    assert any(line.startswith("textgen dashboard:") for line in lines)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"the dashboard's child {child} outlived it")


def test_launcher_runs_streamlit_headless_with_the_models_folder(tmp_path, monkeypatch, capsys):
    from toolkit.cli import dashboard

    models = tmp_path  # the launcher only passes the folder on; the page finds the models in it

    started = {}

    class FakeProcess:
        def __init__(self, cmd, env):
            started.update(cmd=cmd, env=env)

        def wait(self, timeout=None):
            if "interrupted" not in started:
                started["interrupted"] = True
                raise KeyboardInterrupt
            return 0

        def send_signal(self, sig):
            started["signal"] = sig

    monkeypatch.setattr(dashboard.subprocess, "Popen", FakeProcess)
    assert dashboard.main(argparse.Namespace(models=models, port=8765)) == 0
    cmd = started["cmd"]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and Path(cmd[4]) == APP
    for flag, value in [("--server.headless", "true"), ("--browser.gatherUsageStats", "false"),
                        ("--server.port", "8765"), ("--server.address", "localhost")]:
        assert cmd[cmd.index(flag) + 1] == value
    assert started["env"][MODELS_ENV] == str(models.resolve())
    assert started["signal"] == signal.SIGINT  # Ctrl-C is passed on and waited for
    assert "http://localhost:8765" in capsys.readouterr().out


def test_launcher_refuses_a_missing_models_folder_and_a_bad_port(tmp_path):
    from toolkit.cli import dashboard

    with pytest.raises(TextgenError, match="not a folder"):
        dashboard.main(argparse.Namespace(models=tmp_path / "nope", port=8501))
    with pytest.raises(ValueError, match="--port"):
        dashboard.main(argparse.Namespace(models=None, port=0))
