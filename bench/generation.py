"""Generation engine benchmarks (issue 10): linear time, concurrency, busy machine, unchanged elsewhere.

    export TEXTGEN_CORPORA=../shared/corpora
    flock /tmp/textgen-bench.lock .venv/bin/python bench/generation.py --record
    .venv/bin/python bench/generation.py --quick          # tiny settings, well under a minute

* **Scaling**: seconds for 1k, 5k, 20k and 40k tokens on the char Markov model and the
  char LSTM, plain, ``stream``, a stop string that never matches, and both; targets:
  stream + stop within 1.2x of plain at 40k, time(40k) / time(5k) at most 9 in every mode.
* **Concurrency**: markov char, markov word, lstm and the baby GPT-2 generating at once
  (threads in one process, as the dashboard runs them), against each alone in the same
  run, in-process and through the dashboard's column path; target 0.4x of alone each.
* **Busy machine**: LSTM training tokens/s with one competing CPU-bound process (spawned
  here), default threads against ``cpu_threads=1`` and ``2``, interleaved; target: the
  default reaches 0.8x of the better of the two.
* **Unchanged**: Markov sentences against markovify (bench/markov.py's measure, target 2x)
  and the baby GPT-2 against ``model.generate`` (bench/gpt2.py's measure, target 3x).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenance import figures, median_seconds, record

import toolkit
from toolkit.data.corpora import Corpus, load_corpus

PROMPT = "ROMEO:"
NEVER = "\x01never\x01"  # a stop string no model here can produce
MODES = ("plain", "stream", "stop", "stream+stop")


def settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {"chars": 30_000, "train_s": 0.5, "tokens": [100, 200, 400, 800], "concurrent_s": 0.3,
                "busy_s": 0.5, "busy_rounds": 1, "sentences": 20, "runs": 1, "gpt2_tokens": 16}
    return {"chars": None, "train_s": 60.0, "tokens": [1_000, 5_000, 20_000, 40_000], "concurrent_s": 8.0,
            "busy_s": 20.0, "busy_rounds": 3, "sentences": 3000, "runs": 3, "gpt2_tokens": 128}


def corpus_for(cfg: dict[str, Any]) -> Corpus:
    corpus = load_corpus("tinyshakespeare")
    if cfg["chars"]:
        corpus = Corpus("tinyshakespeare-head", corpus.text[: cfg["chars"]])
    return corpus


def train_models(corpus: Corpus, cfg: dict[str, Any], folder: Path) -> dict[str, Path]:
    recipes = {"markov-char": ("markov", {"level": "char"}), "markov-word": ("markov", {"level": "word"}),
               "lstm-char": ("lstm", {"level": "char", "max_seconds": cfg["train_s"], "progress": False}),
               "gpt2-baby": ("gpt2", {"level": "char", "preset": "baby", "max_seconds": cfg["train_s"],
                                      "progress": False})}
    paths = {}
    for label, (plugin, options) in recipes.items():
        paths[label] = folder / label
        toolkit.train(plugin, corpus, out=paths[label], seed=0, **options)
        print(f"trained {label}", flush=True)
    return paths


def one_mode(model: toolkit.Generator, mode: str, tokens: int) -> Callable[[], Any]:
    stop = NEVER if "stop" in mode else ()
    if "stream" in mode:
        return lambda: sum(1 for _ in model.stream(PROMPT, max_tokens=tokens, seed=1, stop=stop))
    return lambda: model.generate(PROMPT, max_tokens=tokens, seed=1, stop=stop)


def scaling(paths: dict[str, Path], cfg: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    rows, targets = [], []
    low, high = cfg["tokens"][1], cfg["tokens"][-1]
    for label in ("markov-char", "lstm-char"):
        model = toolkit.load(paths[label])
        times = {(mode, n): median_seconds(one_mode(model, mode, n), cfg["runs"])
                 for n in cfg["tokens"] for mode in MODES}
        for mode in MODES:
            line = ", ".join(f"{n}: {times[mode, n]:.3f}s" for n in cfg["tokens"])
            growth = times[mode, high] / times[mode, low]
            print(f"{label} {mode:<12} {line}   {high}/{low}: {growth:.2f}", flush=True)
            rows.append((f"{label} {mode}: seconds at {', '.join(map(str, cfg['tokens']))} tokens",
                         " / ".join(f"{times[mode, n]:.3f}" for n in cfg["tokens"])))
            targets.append((f"{label} {mode}: time({high}) / time({low}) = {growth:.2f} <= 9", growth <= 9))
        ratio = times["stream+stop", high] / times["plain", high]
        print(f"{label} stream+stop / plain at {high}: {ratio:.2f}", flush=True)
        targets.append((f"{label}: stream + stop / plain at {high} tokens = {ratio:.2f} <= 1.2", ratio <= 1.2))
    return rows, targets


def tokens_per_second_for(model: toolkit.Generator, budget: float, start: threading.Barrier | None = None) -> float:
    """Stream 200-token samples for ``budget`` seconds (as a dashboard column does); tokens/s."""
    if start:
        start.wait()
    tokens, seed, began = 0, 0, time.perf_counter()
    while time.perf_counter() - began < budget:
        run = model.stream_batch(PROMPT, max_tokens=200, seed=seed)
        tokens += sum(1 for _ in run) - 1  # one item per step (one token each), then the final one
        seed += 1
    return tokens / (time.perf_counter() - began)


def in_process(models: dict[str, toolkit.Generator], budget: float) -> dict[str, tuple[float, float]]:
    alone = {label: tokens_per_second_for(model, budget) for label, model in models.items()}
    together: dict[str, float] = {}
    start = threading.Barrier(len(models))

    def work(label: str) -> None:
        together[label] = tokens_per_second_for(models[label], budget, start)

    threads = [threading.Thread(target=work, args=(label,)) for label in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {label: (alone[label], together[label]) for label in models}


def column_path(paths: dict[str, Path], alone_speed: dict[str, float], budget: float
                ) -> dict[str, tuple[float, float]]:
    """Tokens/s of each column alone and all four at once, through dashboard/columns and workers."""
    from dashboard.columns import ColumnResult, generate
    from dashboard.forms import RunOptions
    from dashboard.workers import DONE, Phase, run_concurrently
    from toolkit.generation.sampling import SamplingOptions

    def plan(label: str) -> ColumnResult:
        # a column holds at most 20 samples of 20,000 characters; its budget is characters (tokens as many)
        tokens = max(50, int(alone_speed[label] * budget))
        samples = min(20, -(-tokens // 20_000))
        return ColumnResult(source=str(paths[label]), prompt=PROMPT, sampling=SamplingOptions(),
                            run=RunOptions(max_chars=min(20_000, -(-tokens // samples)), num_samples=samples, seed=0))

    def run(labels: list[str]) -> dict[str, float]:
        latest: dict[str, ColumnResult] = {}
        plans = {label: plan(label) for label in labels}
        phase = Phase(len(plans))  # as dashboard/app.py runs its columns
        jobs = {label: (lambda r=result: generate(r, None, phase)) for label, result in plans.items()}
        for batch in run_concurrently(jobs):
            for key, item in batch:
                if isinstance(item, BaseException):
                    raise item
                if item is not DONE:
                    latest[key] = item
        return {label: latest[label].tokens_per_second or 0.0 for label in labels}

    alone = {label: run([label])[label] for label in paths}
    together = run(list(paths))
    return {label: (alone[label], together[label]) for label in paths}


def concurrency(paths: dict[str, Path], cfg: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    models = {label: toolkit.load(path) for label, path in paths.items()}
    rows, targets = [], []
    measured = {"in-process": in_process(models, cfg["concurrent_s"])}
    measured["dashboard columns"] = column_path(paths, {k: v[0] for k, v in measured["in-process"].items()},
                                                cfg["concurrent_s"])
    for path_name, found in measured.items():
        for label, (alone, together) in found.items():
            ratio = together / alone if alone else 0.0
            print(f"{path_name:<18} {label:<12} alone {alone:9.0f} tok/s   four at once {together:9.0f} tok/s   "
                  f"{ratio:.2f}x", flush=True)
            rows.append((f"{path_name}, {label}: tokens/s alone / four at once", f"{alone:.0f} / {together:.0f}"))
            targets.append((f"{path_name}, {label}: four at once / alone = {ratio:.2f} >= 0.4", ratio >= 0.4))
    return rows, targets


def busy_machine(corpus: Corpus, cfg: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # running before the first training looks at the machine
        speeds: dict[str, list[float]] = {"default": [], "cpu_threads=1": [], "cpu_threads=2": []}
        for _ in range(cfg["busy_rounds"]):
            for name, found in speeds.items():
                extra = {} if name == "default" else {"cpu_threads": int(name[-1])}
                model = toolkit.train("lstm", corpus, seed=0, level="char", max_seconds=cfg["busy_s"],
                                      progress=False, **extra)
                fit = model.training["fit"]
                found.append(fit["tokens_per_second"])
                print(f"busy machine, {name:<14} {fit['tokens_per_second']:9.0f} training tokens/s "
                      f"({fit.get('cpu_threads')} thread(s))", flush=True)
    finally:
        competitor.kill()
        competitor.wait()
    median = {name: statistics.median(v) for name, v in speeds.items()}
    best = max(median["cpu_threads=1"], median["cpu_threads=2"])
    ratio = median["default"] / best
    rows = [(f"busy machine, LSTM training tokens/s, {name}", f"{v:.0f}") for name, v in median.items()]
    return rows, [(f"busy machine: default / best of cpu_threads 1 and 2 = {ratio:.2f} >= 0.8", ratio >= 0.8)]


def unchanged(corpus: Corpus, cfg: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    import torch
    from gpt2 import SHAPES
    from gpt2 import speed as gpt2_speed
    from markov import sentences

    found = sentences(corpus, cfg["runs"], cfg["sentences"])
    print(f"markov sentences: {found['ours_words_per_s']:.0f} words/s, markovify "
          f"{found['markovify_words_per_s']:.0f}, ratio {found['ratio']:.2f}", flush=True)
    baby = next(name for name in SHAPES if name.startswith("baby"))
    row = gpt2_speed(baby, cfg["runs"], cfg["gpt2_tokens"], torch.device("cpu"))
    rows = [("markov sentences, words/s ours / markovify",
             f"{found['ours_words_per_s']:.0f} / {found['markovify_words_per_s']:.0f}"),
            ("baby GPT-2, tokens/s ours / model.generate", f"{row['plugin_tok_s']:.0f} / {row['generate_tok_s']:.0f}")]
    return rows, [(f"markov sentences / markovify = {found['ratio']:.2f} >= 2", found["ratio"] >= 2),
                  (f"baby GPT-2 / model.generate = {row['ratio']:.2f} >= 3", row["ratio"] >= 3)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the script, measures nothing")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    parser.add_argument("--only", choices=("scaling", "concurrency", "busy", "unchanged"), action="append")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    cfg = settings(args.quick)
    corpus = corpus_for(cfg)
    parts = args.only or ["scaling", "concurrency", "busy", "unchanged"]
    rows: list[tuple[str, str]] = []
    targets: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="textgen-bench-generation-") as tmp:
        paths = train_models(corpus, cfg, Path(tmp)) if {"scaling", "concurrency"} & set(parts) else {}
        steps = {"scaling": lambda: scaling(paths, cfg), "concurrency": lambda: concurrency(paths, cfg),
                 "busy": lambda: busy_machine(corpus, cfg),
                 "unchanged": lambda: unchanged(load_corpus("sherlock") if not args.quick else corpus, cfg)}
        for part in parts:
            found_rows, found_targets = steps[part]()
            rows += found_rows
            targets += found_targets
    for name, met in targets:
        print(f"target {'met' if met else 'MISSED'}: {name}")
    if args.record:
        record("Generation engine (bench/generation.py)" + (" --quick" if args.quick else ""), figures(rows, targets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
