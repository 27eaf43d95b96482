"""`textgen serve` benchmark (issue 24): what serving costs, and 32 streaming clients at once.

    export TEXTGEN_CORPORA=../shared/corpora
    flock /tmp/textgen-bench.lock .venv/bin/python bench/serve.py --record
    .venv/bin/python bench/serve.py --quick          # tiny settings: checks the script, measures nothing

* **Overhead**: tokens/s of one request (batch 1, not streamed) through the server against
  ``model.complete`` in this process, alternating, for the char chain, the char LSTM and the
  baby GPT-2 (all trained here on Tiny Shakespeare); target: at least 0.8x in-process for
  the LSTM and the GPT-2.
* **Load**: 32 clients (the official ``openai`` package, one thread each) stream 200 tokens
  each from one LSTM at once, each with its own seed: every text must be the one
  ``model.generate`` gives for that seed; p50 and p99 seconds to the first piece and to the
  end; the server's peak resident memory (VmHWM); target: aggregate tokens/s at least that
  of one client alone, with no error.
* **Bad requests** (malformed JSON, an unknown model, out-of-range and wrongly typed values,
  ``n`` and ``max_tokens`` over the limits, a prompt over the limit) are sent in a loop while
  the load runs; target: each gets its 4xx, and the streams are not disturbed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from provenance import conclude

import toolkit
from toolkit.data.corpora import Corpus, load_corpus
from toolkit.serving import LIMITS

sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests" / "support"))  # the server harness, not installed
from served_process import Running, started

PROMPT = "ROMEO:"
OVERHEAD_TARGET = 0.8
#: Seconds between two bad requests during the load (a 1 MB prompt among them).
PACE_SECONDS = 0.05
RECIPES = {"markov-char": ("markov", {"level": "char"}),
           "lstm-char": ("lstm", {"level": "char", "progress": False}),
           "gpt2-baby": ("gpt2", {"level": "char", "preset": "baby", "progress": False})}
#: Each bad request, with the status it must get.
BAD = [(b'{"model": "lstm-char", "prompt": ', 400), (b'{"model": "nope", "prompt": "x"}', 404),
       (b'{"model": "lstm-char", "temperature": -1}', 400), (b'{"model": "lstm-char", "temperature": "hot"}', 400),
       (json.dumps({"model": "lstm-char", "n": LIMITS.max_n + 1}).encode(), 400),
       (json.dumps({"model": "lstm-char", "max_tokens": LIMITS.max_tokens + 1}).encode(), 400),
       (json.dumps({"model": "lstm-char", "prompt": "x" * (LIMITS.max_prompt_chars + 1)}).encode(), 400)]


def settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {"chars": 30_000, "train_s": 0.5, "tokens": 40, "repeats": 1, "clients": 4, "load_tokens": 20}
    return {"chars": None, "train_s": 60.0, "tokens": 400, "repeats": 5, "clients": 32, "load_tokens": 200}


def train_models(cfg: dict[str, Any], folder: Path) -> dict[str, Path]:
    corpus = load_corpus("tinyshakespeare")
    if cfg["chars"]:
        corpus = Corpus("tinyshakespeare-head", corpus.text[: cfg["chars"]])
    paths = {}
    for label, (plugin, options) in RECIPES.items():
        extra = {"max_seconds": cfg["train_s"]} if plugin != "markov" else {}
        paths[label] = folder / label
        toolkit.train(plugin, corpus, out=paths[label], seed=0, **options, **extra)
        print(f"trained {label}", flush=True)
    return paths


def client(server: Running) -> Any:
    import openai

    return openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=600)


def overhead(server: Running, paths: dict[str, Path], cfg: dict[str, Any]) -> tuple[list, list]:
    """Median tokens/s in-process and through the server, batch 1, runs alternating."""
    rows, targets, api = [], [], client(server)
    for label, path in paths.items():
        model = toolkit.load(path)
        model.complete(PROMPT, max_tokens=2)  # lazy set-up is not timed, on either side
        api.completions.create(model=label, prompt=PROMPT, max_tokens=2)
        local, served = [], []
        for seed in range(cfg["repeats"]):
            done = model.complete(PROMPT, max_tokens=cfg["tokens"], seed=seed)
            local.append(done.num_tokens / done.seconds)
            started_at = time.perf_counter()
            answer = api.completions.create(model=label, prompt=PROMPT, max_tokens=cfg["tokens"], seed=seed)
            served.append(answer.usage.completion_tokens / (time.perf_counter() - started_at))
        ratio = statistics.median(served) / statistics.median(local)
        print(f"{label}: {statistics.median(local):.0f} tokens/s in-process, {statistics.median(served):.0f} "
              f"through the server ({ratio:.2f}x)", flush=True)
        rows.append((f"{label}, tokens/s in-process / served (batch 1, {cfg['tokens']} tokens)",
                     f"{statistics.median(local):.0f} / {statistics.median(served):.0f} ({ratio:.2f}x)"))
        if label != "markov-char":
            name = f"{label} served / in-process = {ratio:.2f} >= {OVERHEAD_TARGET}"
            targets.append((name, ratio >= OVERHEAD_TARGET))
    return rows, targets


def stream_one(server: Running, seed: int, tokens: int, start: float) -> dict[str, Any]:
    """One streaming client: its text, and seconds (from ``start``) to the first piece and to the end."""
    first, pieces = None, []
    for chunk in client(server).completions.create(model="lstm-char", prompt=PROMPT, max_tokens=tokens, seed=seed,
                                                   stream=True):
        text = chunk.choices[0].text if chunk.choices else ""
        if text and first is None:
            first = time.perf_counter() - start
        pieces.append(text)
    return {"text": "".join(pieces), "first": first, "end": time.perf_counter() - start}


def bad_requests(server: Running, stop: threading.Event, outcomes: list[bool]) -> None:
    """Send the bad requests in turn, one every `PACE_SECONDS`, until ``stop``; each outcome: got its status?"""
    while not stop.is_set():
        for body, status in BAD:
            request = urllib.request.Request(server.url + "/completions", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    got = answer.status
            except urllib.error.HTTPError as exc:
                got = exc.code
                got = got if "message" in json.loads(exc.read())["error"] else -1  # OpenAI's error object
            outcomes.append(got == status)
            stop.wait(PACE_SECONDS)


def load(server: Running, paths: dict[str, Path], cfg: dict[str, Any]) -> tuple[list, list]:
    n, tokens = cfg["clients"], cfg["load_tokens"]
    model = toolkit.load(paths["lstm-char"])
    expected = [model.generate(PROMPT, max_tokens=tokens, seed=seed)[0] for seed in range(n + 1)]
    alone = stream_one(server, n, tokens, time.perf_counter())
    alone_rate = tokens / alone["end"]
    results: list[dict[str, Any] | None] = [None] * n
    errors: list[str] = []
    outcomes: list[bool] = []
    stop = threading.Event()
    bad = threading.Thread(target=bad_requests, args=(server, stop, outcomes))

    def run(i: int, start: float) -> None:
        try:
            results[i] = stream_one(server, i, tokens, start)
        except Exception as exc:  # counted as an error; the others go on
            errors.append(f"client {i}: {type(exc).__name__}: {exc}")

    start = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i, start)) for i in range(n)]
    bad.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    stop.set()
    bad.join()
    done = [r for r in results if r is not None]
    right = sum(r["text"] == expected[i] for i, r in enumerate(results) if r is not None)
    aggregate = len(done) * tokens / wall
    firsts = sorted(r["first"] or r["end"] for r in done)
    ends = sorted(r["end"] for r in done)
    print(f"load: {right}/{n} right texts, {len(errors)} errors, {aggregate:.0f} tokens/s together, "
          f"{alone_rate:.0f} alone; {sum(outcomes)}/{len(outcomes)} bad requests refused as expected", flush=True)
    for error in errors[:5]:
        print(error, file=sys.stderr)
    rows = [(f"{n} streaming clients x {tokens} tokens, tokens/s together / one client alone",
             f"{aggregate:.0f} / {alone_rate:.0f}"),
            ("time to first piece, p50 / p99 (s)", f"{_quantile(firsts, 0.5):.3f} / {_quantile(firsts, 0.99):.3f}"),
            ("time to the end, p50 / p99 (s)", f"{_quantile(ends, 0.5):.3f} / {_quantile(ends, 0.99):.3f}"),
            ("streams with the right text, errors", f"{right}/{n}, {len(errors)}"),
            ("server peak resident memory (VmHWM)", _peak(server)),
            ("bad requests during the load, with their 4xx", f"{sum(outcomes)}/{len(outcomes)}")]
    targets = [(f"{n} clients: {aggregate:.0f} tokens/s together >= {alone_rate:.0f} alone, every text right, "
                "no error", aggregate >= alone_rate and right == n and not errors),
               (f"bad requests: {sum(outcomes)} of {len(outcomes)} got their 4xx, the streams undisturbed",
                bool(outcomes) and all(outcomes) and right == n)]
    return rows, targets


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _peak(server: Running) -> str:
    try:
        status = Path(f"/proc/{server.process.pid}/status").read_text(encoding="utf-8")
    except OSError:
        return "n/a"
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return "n/a" if kb is None else f"{kb / 1024:.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the script, measures nothing")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    cfg = settings(args.quick)
    rows: list[tuple[str, str]] = []
    targets: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="textgen-bench-serve-") as tmp:
        paths = train_models(cfg, Path(tmp))
        with started([str(p) for p in paths.values()]) as server:
            for part in (overhead, load):
                found_rows, found_targets = part(server, paths, cfg)
                rows += found_rows
                targets += found_targets
    conclude("textgen serve (bench/serve.py)" + (" --quick" if args.quick else ""), rows, targets, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
