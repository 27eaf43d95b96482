"""`textgen dashboard`: the launcher passes SIGTERM on to its Streamlit child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

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
