"""What this machine is and offers: its CPU, the devices a model may ask for, the cores this process
may use, and those other processes keep busy.

Torch-free, so that anything may ask (the CLI's ``--device`` flags, the options' ``device``
field, the torch thread policy in `toolkit.neural.device`, the dashboard's turns).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Literal, get_args

#: Where a neural model may run: ``auto`` takes the best found (`toolkit.neural.device.pick_device`).
Device = Literal["auto", "cpu", "cuda", "mps"]
DEVICES: tuple[str, ...] = get_args(Device)


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one, else what the platform says: the machine a
    training speed or a benchmark figure belongs to."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def free_cores() -> int:
    """Usable cores less those other processes keep busy now (Linux: runnable tasks in /proc)."""
    cores = usable_cores()
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        ours = sum(1 for stat in Path("/proc/self/task").glob("*/stat")
                   if stat.read_text().rsplit(")", 1)[-1].split()[0] == "R")
    except (OSError, ValueError, IndexError):
        return cores
    return max(1, cores - max(0, running - max(ours, 1)))


def wait_until_quiet(limit: float, every: float = 0.01) -> float:
    """Wait until no other process keeps a core busy, or ``limit`` seconds; the seconds waited.

    Where /proc cannot be read every core counts as free, and this returns at once.
    """
    started = time.perf_counter()
    while free_cores() < usable_cores() and time.perf_counter() - started < limit:
        time.sleep(every)
    return time.perf_counter() - started
