"""Start-up time of `textgen --help` and `textgen plugins`, beside bare `python -c pass`.

The target is under 0.5 s for both: plugins are discovered from metadata and imported
lazily, and no plugin may import torch at import time. Prints medians over --runs runs.

    python bench/startup.py --runs 15
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    textgen = shutil.which("textgen") or sys.exit("textgen is not on PATH: install the toolkit first")
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
    print(f"python -c pass      {baseline * 1000:7.1f} ms (baseline)")
    for name, command in {"textgen --help": [textgen, "--help"], "textgen plugins": [textgen, "plugins"]}.items():
        seconds = median_seconds(command, args.runs)
        verdict = "meets" if seconds < 0.5 else "MISSES"
        print(f"{name:<19} {seconds * 1000:7.1f} ms  {seconds / baseline:4.1f}x baseline  ({verdict} the 0.5 s target)")


if __name__ == "__main__":
    main()
