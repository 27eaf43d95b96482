"""Resident memory of loading a model and sampling one batch, measured in a fresh process.

A fresh process, because this one's peak already holds the other models and the index.
"""

from __future__ import annotations

import sys

from ..api import load

METHOD = ("a fresh Python process per model directory: peak resident set size (VmHWM) after "
          "importing the toolkit (baseline), and after loading the model and sampling one batch at "
          "T=1.0 with the run's first prompt, samples and length (peak); added = peak - baseline, "
          "libraries the plugin imports (torch) included; null for loaded generators")
UNKNOWN = {"baseline_rss_bytes": None, "peak_rss_bytes": None, "added_rss_bytes": None}


def max_rss_bytes() -> int | None:
    """This process's peak resident memory: Linux VmHWM (ru_maxrss there carries the parent's
    peak over fork and exec), else ru_maxrss; None where neither exists."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def probe_main() -> None:
    """Run in a fresh process by `memory_probe`: print the baseline and peak resident memory as JSON."""
    import json

    args = json.loads(sys.argv[1])
    baseline = max_rss_bytes()
    model = load(args["source"], device=args["device"])
    model.complete(args["prompt"], **args["length"], num_samples=args["samples"], seed=args["seed"])
    print(json.dumps({"baseline": baseline, "peak": max_rss_bytes()}))


def memory_probe(source: str, *, prompt: str, samples: int, seed: int, max_tokens: int = 200,
                 max_chars: int | None = None, device: str = "auto") -> dict[str, int | None]:
    """Resident memory of loading ``source`` and sampling one batch, measured in a fresh process."""
    import json
    import subprocess

    args = json.dumps({"source": source, "prompt": prompt, "samples": samples, "seed": seed, "device": device,
                       "length": {"max_tokens": max_tokens, "max_chars": max_chars}})
    code = "from toolkit.comparison.memory import probe_main; probe_main()"
    done = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, check=False)
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        baseline, peak = found["baseline"], found["peak"]
    except (IndexError, ValueError, KeyError, TypeError):
        return dict(UNKNOWN)
    added = None if baseline is None or peak is None else peak - baseline
    return {"baseline_rss_bytes": baseline, "peak_rss_bytes": peak, "added_rss_bytes": added}
