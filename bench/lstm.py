"""LSTM benchmark: validation loss after a fixed wall-clock budget, and generation speed.

The anchor is nanoGPT's CPU "baby GPT" (4 layers, 4 heads, 128 wide, block 64, batch 12,
2,000 iterations): 83 s on the 2-core CPU box, validation loss 1.886 nats/char on Tiny
Shakespeare with the last 10% held out (nanoGPT is not installed here; the figure is
quoted). The LSTM gets the same time (85 s) and its full held-out loss is printed beside
it with the ratio. Run timed work under the shared lock::

    flock /tmp/textgen-bench.lock python bench/lstm.py --runs 3
    flock /tmp/textgen-bench.lock python bench/lstm.py --device cuda --preset gpu --max-seconds 180
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import toolkit
from toolkit.data.corpora import load_corpus
from toolkit.machine import DEVICES
from toolkit.options import parse_pairs

NANOGPT_CPU_NATS = 1.886
NANOGPT_CPU_SECONDS = 83
TARGETS = {"cpu": 1.80, "cuda": 1.47}
PRESETS = {
    "cpu": {},  # the plugin's defaults are tuned for this budget
    "gpu": {"hidden_size": 1024, "layers": 2, "embedding_size": 128, "dropout": 0.2, "batch_size": 128,
            "seq_len": 128, "lr": 3e-3, "warmup_steps": 100, "eval_every": 250},
}


def generation_speed(model: toolkit.Generator, batch: int, tokens: int, repeats: int = 3) -> float:
    """Median generated tokens per second (all rows together) for ``prompt='ROMEO:'``."""
    rates = []
    for seed in range(repeats):
        done = model.complete("ROMEO:", max_tokens=tokens, num_samples=batch, seed=seed)
        rates.append(done.num_tokens / done.seconds)
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--preset", choices=list(PRESETS), help="model sizes (default: cpu, or gpu on cuda)")
    parser.add_argument("--max-seconds", type=float, default=85.0)
    parser.add_argument("--runs", type=int, default=1, help="training runs (seeds 0..runs-1); the median is kept")
    parser.add_argument("--level", default="char", choices=["char", "word"])
    parser.add_argument("--gen-tokens", type=int, default=200, help="tokens per generation timing")
    parser.add_argument("-o", "--option", action="append", metavar="KEY=VALUE", help="extra plugin option")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    corpus = load_corpus("tinyshakespeare")
    preset = args.preset or ("gpu" if args.device == "cuda" else "cpu")
    options = {**PRESETS[preset], **parse_pairs(args.option), "level": args.level, "device": args.device,
               "max_seconds": args.max_seconds, "progress": False}
    runs, model = [], None
    for seed in range(args.runs):
        model = toolkit.train("lstm", corpus, seed=seed, **options)
        fit = model.training["fit"]
        runs.append({"seed": seed, "val_nats_per_char": model.training["val_bpc"] * math.log(2),
                     "train_seconds": model.training["train_seconds"], "steps": fit["steps"],
                     "tokens_per_second": fit["tokens_per_second"], "device": fit["device"]})
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    nats = statistics.median(r["val_nats_per_char"] for r in runs)
    report = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}", "command": " ".join(sys.argv), "options": options,
        "runs": runs, "median_val_nats_per_char": nats,
        "anchor": {"nanogpt_cpu_baby_gpt_nats": NANOGPT_CPU_NATS, "seconds": NANOGPT_CPU_SECONDS},
        "ratio_to_anchor": nats / NANOGPT_CPU_NATS, "target": TARGETS.get(runs[0]["device"].split(":")[0]),
        "generate_tokens_per_second": {f"batch {b}": generation_speed(model, b, args.gen_tokens) for b in (1, 32)},
        "info": model.info(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"LSTM {args.level} on {runs[0]['device']}, {args.max_seconds:.0f} s budget, {len(runs)} run(s): "
              f"median held-out {nats:.3f} nats/char (target {report['target']}); "
              f"nanoGPT baby GPT {NANOGPT_CPU_NATS} in {NANOGPT_CPU_SECONDS} s; ratio {report['ratio_to_anchor']:.3f}")
        for label, rate in report["generate_tokens_per_second"].items():
            print(f"generation, {label}: {rate:.0f} tokens/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
