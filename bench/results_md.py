"""Append one benchmark run to ``bench/RESULTS.md``: when, on what machine, under what load, how.

Shared by the bench scripts that take ``--record``, so every section carries the same
provenance: the date (UTC), the CPU model and core count, the load average, the exact
command line, the figures and each target marked met or missed.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo where there is one, else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def record(title: str, rows: list[tuple[str, str]], targets: list[tuple[str, bool]], notes: str = "") -> None:
    """Append a section: ``rows`` are (figure, value), ``targets`` are (target, met)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    lines = [f"\n## {title}\n", f"- date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
             f"- machine: {cpu_model()}, {os.cpu_count()} cores; load average {load}",
             f"- command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`", "",
             "| figure | value |", "| --- | --: |", *(f"| {name} | {value} |" for name, value in rows), ""]
    lines += [f"- target {'met' if met else 'MISSED'}: {name}" for name, met in targets]
    if notes:
        lines += ["", notes]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``runs`` calls of ``fn``: one slow run on a shared VM does not move it."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
