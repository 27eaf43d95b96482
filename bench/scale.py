"""Chains at scale: char (state size 6) and word (state size 2) chains on 1, 10, 30 and 100 MB of
distinct lines, with `markovify.NewlineText(state_size=2)` side by side at each size.

    export TEXTGEN_CORPORA=../shared/corpora
    flock /tmp/textgen-bench.lock .venv/bin/python bench/scale.py --record
    .venv/bin/python bench/scale.py --quick        # 0.2 and 0.5 MB: a smoke test, well under a minute

The corpus is made here, at run time, in ``--work`` (default ``~/.cache/textgen/bench-scale``,
never the repository): the distinct lines of the three shared corpora (Tiny Shakespeare, Sherlock
Holmes, AG News titles and descriptions), then new lines made as an order-8 character chain makes
them (`make_corpus`), until there are 100 MB of distinct lines, so the n-gram statistics keep
growing as natural text's do. Each size is a prefix of it (whole lines), split 90/10 by the toolkit.

Every measurement runs in a fresh child process: build seconds, peak resident memory of the
process (Python and the corpus string included), size on disk, load seconds (load plus 100
tokens), and held-out bits per character (the first ``--score-chars`` of the validation split;
markovify has no score). markovify runs under an address-space limit (``--markovify-gb``) and a
time limit; where it fails, the table says where it stopped and why, and larger sizes skip it.
Targets (issue 11): the 100 MB char build at most 4x the corpus in peak memory, and at most 12x
the 10 MB build's time.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from provenance import figures, record

SIZES_MB = (1, 10, 30, 100)
QUICK_MB = (0.2, 0.5)
MEMORY_FACTOR, TIME_FACTOR = 4.0, 12.0


def seed_lines() -> list[str]:
    from toolkit.data.corpora import load_corpus

    texts = [load_corpus("tinyshakespeare").text, load_corpus("sherlock").text,
             load_corpus("ag_news", column="title").text, load_corpus("ag_news", column="description").text]
    return list(dict.fromkeys(line for text in texts for line in text.split("\n") if line.strip()))


def make_corpus(path: Path, megabytes: float, context: int = 8, seed: int = 0) -> None:
    """Distinct lines: the shared corpora's, then new lines spliced from them, up to ``megabytes``.

    A new line is a line (old or new) cut at a random point and continued with the rest of
    another line after the same ``context`` characters: one step of an order-``context``
    character chain, taken where a chain would take it. Sampling whole lines from such a chain
    through the generator runs at thousands of characters a second, hours for 100 MB; splicing
    takes a minute and keeps every ``context``-gram of the new line one the corpora have.
    """
    rng = random.Random(seed)
    lines = seed_lines()
    seen, size, target = set(lines), sum(len(line) + 1 for line in lines), megabytes * 1e6
    index: dict[str, list[tuple[int, int]]] = defaultdict(list)  # context -> (line, position after it)
    for n, line in enumerate(lines):
        for i in range(context, len(line), 3):  # every third position: a smaller index, as good a choice
            index[line[i - context : i]].append((n, i))
    parents = len(lines)
    while size < target:
        first = lines[rng.randrange(len(lines))]
        if len(first) <= context:
            continue
        cut = rng.randrange(context, len(first))
        hits = index.get(first[cut - context : cut])
        if not hits:
            continue
        n, at = hits[rng.randrange(len(hits))]
        line = first[:cut] + lines[n][at:]
        if line not in seen and n < parents:
            seen.add(line)
            lines.append(line)
            size += len(line) + 1
    text, total = [], 0
    for line in lines:
        if total >= target:
            break
        text.append(line)
        total += len(line) + 1
    path.write_text("\n".join(text) + "\n", encoding="utf-8")


def prefix(path: Path, megabytes: float) -> str:
    """The whole lines in the first ``megabytes`` of the corpus."""
    text = path.read_text(encoding="utf-8")[: int(megabytes * 1e6)]
    return text[: text.rfind("\n") + 1]


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec; ru_maxrss would also count
    the parent's memory at fork, so it is only the fallback off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ours(path: Path, megabytes: float, level: str, score_chars: int) -> dict[str, Any]:
    from textgen_markov import MarkovGenerator, MarkovOptions

    import toolkit
    from toolkit.data.corpora import Corpus

    corpus = Corpus(f"scale-{megabytes}", prefix(path, megabytes))
    options = MarkovOptions(level=level, state_size=6 if level == "char" else 2)
    started = time.perf_counter()
    model = MarkovGenerator.train(corpus, options, seed=0)
    build = time.perf_counter() - started
    peak = peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "m")
        disk = sum(p.stat().st_size for p in (Path(tmp) / "m").iterdir()) / 1e6
        started = time.perf_counter()
        toolkit.load(Path(tmp) / "m").generate("The", max_tokens=100, seed=1)
        load = time.perf_counter() - started
    bpc = model.score(corpus.val[:score_chars]).bpc
    return {"build_s": build, "peak_mb": peak, "disk_mb": disk, "load_s": load, "bpc": bpc}


def child_markovify(path: Path, megabytes: float) -> dict[str, Any]:
    import markovify

    from toolkit.data.corpora import Corpus

    train = Corpus(f"scale-{megabytes}", prefix(path, megabytes)).train
    started = time.perf_counter()
    model = markovify.NewlineText(train, state_size=2)
    build = time.perf_counter() - started
    peak = peak_mb()
    data = model.to_json()
    started = time.perf_counter()
    markovify.Text.from_json(data).make_sentence()
    return {"build_s": build, "peak_mb": peak, "disk_mb": len(data.encode()) / 1e6,
            "load_s": time.perf_counter() - started, "bpc": None}


def measure(kind: str, path: Path, megabytes: float, args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in a child; {"stopped": why} if it failed, ran out of memory or time."""
    command = [sys.executable, __file__, "--child", kind, "--corpus", str(path), "--mb", str(megabytes),
               "--score-chars", str(args.score_chars)]
    limit = int(args.markovify_gb * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, check=False,
                             preexec_fn=cap if kind == "markovify" else None)
    except subprocess.TimeoutExpired:
        return {"stopped": f"over {args.timeout} s"}
    if run.returncode:
        why = "MemoryError" if "MemoryError" in run.stderr else f"exit {run.returncode}: {run.stderr[-300:]!r}"
        return {"stopped": why}
    return json.loads(run.stdout.strip().splitlines()[-1])


def cell(result: dict[str, Any], key: str, fmt: str) -> str:
    if "stopped" in result:
        return "stopped"
    return "-" if result.get(key) is None else format(result[key], fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_MB} MB: a smoke test")
    parser.add_argument("--sizes", type=float, nargs="+", help=f"corpus sizes in MB (default {SIZES_MB})")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "textgen" / "bench-scale")
    parser.add_argument("--score-chars", type=int, default=1_000_000, help="held-out characters scored per model")
    parser.add_argument("--markovify-gb", type=float, default=16.0, help="address-space limit for markovify")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per measurement")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    parser.add_argument("--child", choices=["char", "word", "markovify"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mb", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (child_markovify(args.corpus, args.mb) if args.child == "markovify"
                  else child_ours(args.corpus, args.mb, args.child, args.score_chars))
        print(json.dumps(result))
        return
    sizes = args.sizes or (QUICK_MB if args.quick else SIZES_MB)
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / f"corpus-{max(sizes):g}mb.txt"
    if not path.exists():
        make_corpus(path, max(sizes))
    results, markovify_stopped = run_sizes(path, sizes, args)
    if args.record:
        record("Chains at scale (`bench/scale.py`)" + (" --quick" if args.quick else ""),
               figures(table(results), scale_targets(results, sizes),
                       f"markovify stopped: {markovify_stopped}" if markovify_stopped else ""))


Results = dict[float, dict[str, dict[str, Any]]]


def run_sizes(path: Path, sizes: list[float], args: argparse.Namespace) -> tuple[Results, str]:
    """Every kind at every size; markovify is skipped past the size where it stopped (and why)."""
    results: Results = {}
    markovify_stopped = ""
    for mb in sizes:
        results[mb] = {kind: measure(kind, path, mb, args) for kind in ("char", "word")}
        results[mb]["markovify"] = ({"stopped": f"skipped ({markovify_stopped})"} if markovify_stopped
                                    else measure("markovify", path, mb, args))
        if not markovify_stopped and "stopped" in results[mb]["markovify"]:
            markovify_stopped = f"at {mb:g} MB, {results[mb]['markovify']['stopped']}"
        for kind, result in results[mb].items():
            print(f"{mb:6g} MB {kind:<9} " + (result["stopped"] if "stopped" in result else
                  "  ".join(f"{k} {v:.3f}" for k, v in result.items() if v is not None)), flush=True)
    return results, markovify_stopped


def table(results: Results) -> list[tuple[str, str]]:
    rows = []
    for mb, by_kind in results.items():
        for kind, r in by_kind.items():
            times = "-" if "stopped" in r else format(r["peak_mb"] / mb, ".1f")
            rows.append((f"{mb:g} MB {kind}: build s / peak MB (x corpus) / disk MB / load s / bpc",
                         f"{cell(r, 'build_s', '.2f')} / {cell(r, 'peak_mb', '.0f')} ({times}x) / "
                         f"{cell(r, 'disk_mb', '.1f')} / {cell(r, 'load_s', '.3f')} / {cell(r, 'bpc', '.3f')}"
                         + (f" ({r['stopped']})" if "stopped" in r else "")))
        ours, theirs = by_kind["word"], by_kind["markovify"]
        if "stopped" not in ours and "stopped" not in theirs:
            rows.append((f"{mb:g} MB word chain / markovify: peak memory ratio, build time ratio",
                         f"{ours['peak_mb'] / theirs['peak_mb']:.2f}, {ours['build_s'] / theirs['build_s']:.2f}"))
    return rows


def scale_targets(results: Results, sizes: list[float]) -> list[tuple[str, bool]]:
    """The 100 MB char build's memory and time targets (only when 100 MB was measured)."""
    if max(sizes) != 100:
        return []
    big, ten = results[100]["char"], results.get(10, {}).get("char", {"stopped": "not measured"})
    if "stopped" in big:
        return [(f"100 MB char build ({big['stopped']})", False)]
    targets = [(f"100 MB char build peak at most {MEMORY_FACTOR:g}x the corpus ({big['peak_mb'] / 100:.1f}x)",
                big["peak_mb"] <= MEMORY_FACTOR * 100)]
    if "stopped" not in ten:
        ratio = big["build_s"] / ten["build_s"]
        targets.append((f"100 MB char build at most {TIME_FACTOR:g}x the 10 MB build's time ({ratio:.1f}x)",
                        ratio <= TIME_FACTOR))
    return targets


if __name__ == "__main__":
    main()
