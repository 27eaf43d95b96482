"""Start-up: `textgen --help` and `textgen plugins`; cold `textgen generate` of each family; Markov
model size and load time against `markovify.Text.from_json`, side by side in one run.

    export TEXTGEN_CORPORA=../shared/corpora
    flock /tmp/textgen-bench.lock .venv/bin/python bench/startup.py --runs 15 --record
    .venv/bin/python bench/startup.py --quick          # tiny settings, well under a minute

Cold start is the wall time of a fresh `textgen generate MODEL --prompt "ROMEO:" --max-tokens 100`
process (Python start-up included) and its peak memory, the median over ``--runs``. The models
are built here first, on Tiny Shakespeare: markov char (state size 6), gpt2 baby preset (char),
lstm char; the neural ones get a few training steps only, since their start-up does not depend
on how well they are trained. Targets (issue 11): 0.4 s markov char, 1.6 s gpt2 baby, 1.5 s
lstm; markov char model at most 1/4 of the 17 MB of markovify JSON it took before; loading it at
least 5x faster than `markovify.Text.from_json` on the same chain (exported with `textgen export`),
counted as load plus the first 100 characters, so that nothing is left for later.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from itertools import islice
from pathlib import Path

from provenance import figures, median_seconds, record

#: Cold-start targets in seconds (issue 11), and the older ones of `--help` and `plugins`.
TARGETS = {"markov char": 0.4, "gpt2 baby": 1.6, "lstm": 1.5, "textgen --help": 0.5, "textgen plugins": 0.5}
#: The markovify JSON the char model was saved as before the array format (issue 11), and the goal.
OLD_MARKOV_MB, SIZE_FRACTION, LOAD_RATIO = 17.0, 0.25, 5.0


#: Runs a command and prints its wall seconds and peak memory (kB). A small launcher, because a
#: child's ru_maxrss also counts its parent's memory at fork: this one's is a few MB.
_LAUNCHER = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def cold(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and peak resident MB of a fresh process running ``command``."""
    times, peaks = [], []
    for _ in range(runs):
        run = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True,
                             check=True)
        seconds, peak, code = run.stdout.split()
        if code != "0":
            sys.exit(f"{' '.join(command)} failed: {run.stderr[-2000:]}")
        times.append(float(seconds))
        peaks.append(int(peak) / 1024)
    return statistics.median(times), statistics.median(peaks)


def disk_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def build_models(textgen: str, folder: Path, quick: bool) -> dict[str, Path]:
    """Train the three models with `textgen train` in child processes, so this one stays small."""
    corpus = "tinyshakespeare"
    if quick:
        from toolkit.data.corpora import load_corpus

        corpus = str(folder / "tinyshakespeare-100k.txt")
        Path(corpus).write_text(load_corpus("tinyshakespeare").text[:100_000], encoding="utf-8")
    steps = ["-o", "max_steps=2", "-o", "eval_every=1", "-o", "eval_tokens=64", "-o", "progress=false",
             "--device", "cpu"]
    recipes = {"markov char": ("markov", ["-o", "state_size=6"]), "gpt2 baby": ("gpt2", ["-o", "preset=baby", *steps]),
               "lstm": ("lstm", steps)}
    models = {}
    for name, (plugin, options) in recipes.items():
        models[name] = folder / name.replace(" ", "-")
        subprocess.run([textgen, "train", plugin, "--corpus", corpus, "--level", "char", "--out", str(models[name]),
                        *options], check=True, capture_output=True)
    return models


def markovify_side_by_side(model_dir: Path, folder: Path, runs: int) -> dict[str, float]:
    """In-process seconds: our load (+ 100 characters) against markovify's from_json (+ 100 characters)."""
    import markovify

    import toolkit

    exported = folder / "markov-char.json"
    toolkit.load(model_dir).export("markovify", exported)
    data = exported.read_text(encoding="utf-8")

    def theirs() -> None:
        list(islice(markovify.Text.from_json(data).chain.gen(), 100))  # a char chain never reaches END

    def ours() -> None:
        toolkit.load(model_dir).generate("ROMEO:", max_tokens=100, seed=1)

    return {"ours_s": median_seconds(ours, runs), "theirs_s": median_seconds(theirs, runs),
            "ours_load_only_s": median_seconds(lambda: toolkit.load(model_dir), runs),
            "theirs_json_mb": disk_mb(exported)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a 100k-character corpus and 2 runs: a smoke test")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    textgen = shutil.which("textgen") or sys.exit("textgen is not on PATH: install the toolkit first")
    rows: list[tuple[str, str]] = []
    targets: list[tuple[str, bool]] = []
    baseline, _ = cold([sys.executable, "-c", "pass"], runs)
    rows.append(("python -c pass", f"{baseline:.3f} s"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        commands = {"textgen --help": [textgen, "--help"], "textgen plugins": [textgen, "plugins"]}
        for name, path in build_models(textgen, folder, args.quick).items():
            commands[name] = [textgen, "generate", str(path), "--prompt", "ROMEO:", "--max-tokens", "100",
                              "--seed", "1"]
            rows.append((f"{name}: size on disk", f"{disk_mb(path):.2f} MB"))
        for name, command in commands.items():
            seconds, peak = cold(command, runs)
            met = seconds <= TARGETS[name]
            rows += [(f"{name}: cold start", f"{seconds:.3f} s"), (f"{name}: peak memory", f"{peak:.0f} MB")]
            targets.append((f"{name} cold start at most {TARGETS[name]} s ({seconds:.3f} s)", met))
            print(f"{name:<16} {seconds:6.3f} s  {peak:5.0f} MB  ({'meets' if met else 'MISSES'} {TARGETS[name]} s)")
        size = disk_mb(folder / "markov-char")
        side = markovify_side_by_side(folder / "markov-char", folder, runs)
    ratio = side["theirs_s"] / side["ours_s"]
    rows += [("markov char: load + 100 chars (ours)", f"{side['ours_s']:.3f} s"),
             ("markov char: load only (ours)", f"{side['ours_load_only_s']:.3f} s"),
             ("markov char: markovify from_json + 100 chars", f"{side['theirs_s']:.3f} s"),
             ("markov char: markovify JSON size", f"{side['theirs_json_mb']:.2f} MB"),
             ("load ratio (markovify / ours)", f"{ratio:.1f}x")]
    targets += [(f"markov char model at most {SIZE_FRACTION:.0%} of {OLD_MARKOV_MB:.0f} MB ({size:.2f} MB)",
                 size <= SIZE_FRACTION * OLD_MARKOV_MB),
                (f"markov load at least {LOAD_RATIO:.0f}x faster than markovify.Text.from_json ({ratio:.1f}x)",
                 ratio >= LOAD_RATIO)]
    for name, value in rows[-5:]:
        print(f"{name:<46} {value}")
    if args.record:
        record("Start-up (`bench/startup.py`)" + (" --quick" if args.quick else ""),
               figures(rows, targets, "quick run: a 100k-character corpus, not the target setting" if args.quick
                       else ""))


if __name__ == "__main__":
    main()
