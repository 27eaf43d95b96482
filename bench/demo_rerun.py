"""Issue 9: a second ``bash scripts/demo.sh``, with every model reused, takes at most 30 s.

Runs the demo once (training what is missing, untimed), then times ``--runs`` further
runs of the same command from a fresh process each (Python start-up, setup and all) and
records the median. Run it alone, on a quiet machine, in the checkout to measure::

    flock /tmp/textgen-bench.lock python bench/demo_rerun.py --record
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path

from provenance import provenance, record, target

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 30.0


def demo_seconds(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "scripts/demo.sh"], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose demo to run (default: this one)")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    run = provenance()
    first = demo_seconds(args.root)
    times = [demo_seconds(args.root) for _ in range(args.runs)]
    median = statistics.median(times)
    rows = [f"- first run (trains or reuses what is there): {first:.1f} s",
            f"- later runs, every model reused: {', '.join(f'{t:.1f}' for t in times)} s; median {median:.1f} s",
            target(f"a second demo takes at most {TARGET_SECONDS:.0f} s (median {median:.1f} s)",
                   median <= TARGET_SECONDS)]
    print("\n".join(rows))
    if args.record:
        record("Second demo run (`bench/demo_rerun.py`)", rows, run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
