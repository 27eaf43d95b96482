"""``textgen dashboard``: run the Streamlit app in ``dashboard/app.py`` on localhost.

The models folder reaches the app through an environment variable, so the app also
runs under ``streamlit run`` or Streamlit's test harness without a launcher.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import TextgenError
from .common import add_command

#: Environment variable naming the folder searched for model directories (the launcher sets it, the app reads it).
MODELS_ENV = "TEXTGEN_DASHBOARD_MODELS"


def command(port: int, address: str = "localhost") -> list[str]:
    """The ``streamlit run`` command line: headless, no usage statistics.

    Streamlit's full garbage collection after every script run is off: it ran in the middle
    of a column's turn and stopped it; the dashboard collects between turns instead
    (`dashboard.workers.Turns`).
    """
    spec = importlib.util.find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        raise TextgenError("the dashboard package is not installed; reinstall textgen-toolkit")
    if importlib.util.find_spec("streamlit") is None:
        raise TextgenError("the dashboard needs Streamlit: pip install 'textgen-toolkit[dashboard]'")
    app = Path(next(iter(spec.submodule_search_locations))) / "app.py"
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
            "--server.address", address, "--server.port", str(port), "--runner.postScriptGC", "false"]


def main(args: argparse.Namespace) -> int:
    """``textgen dashboard``: serve the app until Ctrl-C or SIGTERM, then stop Streamlit too."""
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    env = dict(os.environ)
    if args.models is not None:
        if not args.models.is_dir():
            raise TextgenError(f"--models {str(args.models)!r} is not a folder")
        env[MODELS_ENV] = str(args.models.resolve())
    process = subprocess.Popen(command(args.port), env=env)
    print(f"textgen dashboard: http://localhost:{args.port}  (Ctrl-C stops it)", flush=True)
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        return process.wait()
    except (KeyboardInterrupt, _Terminated) as exc:  # Ctrl-C also reached Streamlit; SIGTERM only reached us
        _stop(process)
        print("textgen dashboard: stopped", file=sys.stderr)
        return 0 if isinstance(exc, KeyboardInterrupt) else 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Terminated(Exception):
    """SIGTERM arrived: stop the Streamlit child too, rather than leave it serving as an orphan."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _stop(process: subprocess.Popen) -> None:
    """Ask Streamlit to close as Ctrl-C does, give it time, then kill it."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def add_dashboard(sub: Any) -> None:
    p = add_command(sub, "dashboard", "open the Streamlit dashboard", "textgen dashboard --models models")
    p.add_argument("--models", type=Path, help="folder searched for model directories")
    p.add_argument("--port", type=int, default=8501, help="local port to serve on")
    p.set_defaults(func=main)
