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

from .errors import TextgenError


def command(port: int, address: str = "localhost") -> list[str]:
    """The ``streamlit run`` command line: headless, no usage statistics."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        raise TextgenError("the dashboard package is not installed; reinstall textgen-toolkit")
    if importlib.util.find_spec("streamlit") is None:
        raise TextgenError("the dashboard needs Streamlit: pip install 'textgen-toolkit[dashboard]'")
    app = Path(next(iter(spec.submodule_search_locations))) / "app.py"
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
            "--server.address", address, "--server.port", str(port)]


def main(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    from dashboard import MODELS_ENV  # the package's __init__ is light: no Streamlit import

    env = dict(os.environ)
    if args.models is not None:
        if not args.models.is_dir():
            raise TextgenError(f"--models {str(args.models)!r} is not a folder")
        env[MODELS_ENV] = str(args.models.resolve())
    process = subprocess.Popen(command(args.port), env=env)
    print(f"textgen dashboard: http://localhost:{args.port}  (Ctrl-C stops it)", flush=True)
    try:
        return process.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to Streamlit too; give it time to close
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print("textgen dashboard: stopped", file=sys.stderr)
        return 0
