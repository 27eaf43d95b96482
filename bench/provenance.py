"""Where, how and on what a benchmark ran, and its section of ``bench/RESULTS.md``.

Every figure must carry the date (UTC), the machine (CPU model, core count), the load
average at the start and the exact command line; on a busy machine they are meaningless.
Every bench script that takes ``--record`` appends through `record`, so each section
carries the same provenance, its figures and each target marked met or missed.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from toolkit.data.corpora import Corpus, load_corpus
from toolkit.machine import cpu_name

RESULTS = Path(__file__).with_name("RESULTS.md")
#: Characters of Tiny Shakespeare a ``--quick`` run uses, so it checks the script in seconds.
QUICK_CHARS = 60_000


def tiny_shakespeare(quick: bool) -> Corpus:
    """Tiny Shakespeare, or with ``quick`` its first `QUICK_CHARS` characters (its own checksum)."""
    corpus = load_corpus("tinyshakespeare")
    if not quick:
        return corpus
    text = corpus.text[:QUICK_CHARS]
    return Corpus(f"{corpus.name}-{QUICK_CHARS // 1000}k", text, corpus.val_fraction, corpus.source,
                  hashlib.sha256(text.encode("utf-8")).hexdigest())


#: The vector extensions that decide how fast torch's CPU kernels run (AVX2-only vs AVX-512 machines differ ~2x).
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")


def cpu_flags() -> str:
    """Which of `SIMD_FLAGS` this CPU has, from /proc/cpuinfo ("n/a" where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "n/a"
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return " ".join(f for f in SIMD_FLAGS if f in flags) or "none of " + " ".join(SIMD_FLAGS)


def provenance() -> dict[str, str]:
    """Date, machine, load average and command of this run; take it at the start, before the load is ours."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{cpu_name()}, {os.cpu_count()} cores, flags: {cpu_flags()}", "load_average": load,
            "command": shlex.join(["python", *sys.argv])}


def target(name: str, met: bool) -> str:
    return f"- target {'met' if met else 'MISSED'}: {name}"


def figures(rows: Sequence[tuple[str, str]], targets: Sequence[tuple[str, bool]], notes: str = "") -> list[str]:
    """A section's body as a table of (figure, value) rows, then each (target, met), then ``notes``."""
    lines = ["| figure | value |", "| --- | --: |", *(f"| {name} | {value} |" for name, value in rows), ""]
    lines += [target(name, met) for name, met in targets]
    return [*lines, "", notes] if notes else lines


def record(title: str, body: list[str], run: dict[str, str] | None = None) -> None:
    """Append a section to bench/RESULTS.md: the provenance (``run``, else now), then ``body`` (Markdown lines)."""
    run = run or provenance()
    lines = [f"\n## {title}\n", f"- date: {run['date']}", f"- machine: {run['machine']}",
             f"- load average at the start: {run['load_average']}", f"- command: `{run['command']}`", "", *body]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def median_run(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall time of ``runs`` calls of ``fn`` (one slow run on a shared VM does not move it),
    and what the last call returned."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``runs`` calls of ``fn``."""
    return median_run(fn, runs)[0]
