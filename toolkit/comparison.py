"""Compare models on the same corpus and prompts: quality, diversity, novelty, speed and size.

For each model, `compare` measures

* quality: bits per character of the corpus's validation split (``model.score``), exact
  for every family whatever its tokens;
* diversity of the samples at each temperature: distinct-1/2/3, self-BLEU, repetition;
* novelty against the training split (`toolkit.metrics.TrainingIndex`): word 4-gram
  overlap, longest verbatim copy, markovify's overlap rule, nearest training passage;
* speed: time to first token, tokens/s and chars/s while sampling, training time;
* size: parameters or chain states (``model.info()``), bytes on disk, resident memory.

The report is a dataclass that serialises to JSON with every parameter, seed and
package version, renders a Markdown table and draws PNG plots. Sampling is seeded, so a
second run gives the same samples and metrics; only the values under the keys in
`VOLATILE_KEYS` (timings, memory, dates) differ.
"""

from __future__ import annotations

import gc
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__, atomic, registry
from .api import load
from .corpora import Corpus, load_corpus
from .generator import Generator
from .metrics import (
    MARKOVIFY_MAX_OVERLAP_RATIO,
    MARKOVIFY_MAX_OVERLAP_TOTAL,
    TrainingIndex,
    distinct_n,
    repetition_rate,
    self_bleu,
)

#: The temperature sweep of the original lesson.
DEFAULT_TEMPERATURES = (0.3, 0.8, 1.0, 1.3, 1.8)
#: The temperature the summary table reports diversity and novelty at (when it was run).
TABLE_TEMPERATURE = 0.8
#: Report keys whose values change from run to run (timings, memory, dates); the rest is repeatable.
VOLATILE_KEYS = frozenset({"timing", "speed", "memory", "created", "elapsed_seconds"})
MEMORY_METHOD = ("a fresh Python process per model directory: peak resident set size (VmHWM) after "
                 "importing the toolkit (baseline), and after loading the model and sampling one batch at "
                 "T=1.0 with the run's first prompt, samples and max_tokens (peak); added = peak - baseline, "
                 "libraries the plugin imports (torch) included; null for loaded generators")
#: Word n-gram size for overlap with training and for the repetition rate.
NGRAM = 4
#: Distributions a report always records (compare uses them), and those it records when imported.
USED_PACKAGES = ("scikit-learn", "matplotlib")
OPTIONAL_PACKAGES = {"torch": "torch", "transformers": "transformers", "tokenizers": "tokenizers",
                     "markovify": "markovify"}


@dataclass
class TemperatureResult:
    """Samples at one temperature and what they measure."""

    temperature: float
    samples: list[dict[str, Any]]
    distinct_1: float
    distinct_2: float
    distinct_3: float
    self_bleu: float | None
    repetition_rate: float
    ngram_overlap: float | None
    longest_copy: int
    longest_copy_mean: float
    markovify_reject_rate: float
    nearest_similarity: float
    timing: dict[str, float]


@dataclass
class ModelResult:
    """Everything measured for one model."""

    label: str
    source: str
    plugin: str
    distribution: str
    plugin_version: str
    info: dict[str, Any]
    disk_bytes: int | None
    training: dict[str, Any]
    bpc: float
    scored_chars: int
    scored_tokens: int
    unknown: list[str]
    temperatures: list[TemperatureResult]
    speed: dict[str, float | None]
    memory: dict[str, int | None]

    def at(self, temperature: float) -> TemperatureResult | None:
        return next((r for r in self.temperatures if r.temperature == temperature), None)


@dataclass
class CompareReport:
    """A comparison run: its parameters and versions, and one `ModelResult` per model."""

    parameters: dict[str, Any]
    versions: dict[str, str]
    models: list[ModelResult]
    created: str = ""
    elapsed_seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)

    @property
    def table_temperature(self) -> float:
        temps = self.parameters["temperatures"]
        return TABLE_TEMPERATURE if TABLE_TEMPERATURE in temps else temps[len(temps) // 2]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("files")
        return _finite(data)

    def markdown(self) -> str:
        return markdown(self)

    def save(self, out: str | Path) -> dict[str, str]:
        """Write report.json, report.md and the PNG plots into ``out``; returns their paths."""
        out = Path(out)
        atomic.write_json(out / "report.json", self.to_json())
        atomic.write_text(out / "report.md", self.markdown())
        self.files = {"json": str(out / "report.json"), "markdown": str(out / "report.md"),
                      **{name: str(path) for name, path in plot(self, out).items()}}
        return self.files


def stable(data: Any) -> Any:
    """A report's JSON without the `VOLATILE_KEYS`: equal for two runs with the same seed."""
    if isinstance(data, dict):
        return {k: stable(v) for k, v in data.items() if k not in VOLATILE_KEYS}
    if isinstance(data, list):
        return [stable(v) for v in data]
    return data


def _finite(data: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


# -- memory ------------------------------------------------------------------------------


def _max_rss_bytes() -> int | None:
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


def _memory_probe_main() -> None:
    """Run in a fresh process by `memory_probe`: print the baseline and peak resident memory as JSON."""
    import json

    args = json.loads(sys.argv[1])
    baseline = _max_rss_bytes()
    model = load(args["source"], device=args["device"])
    model.complete(args["prompt"], max_tokens=args["max_tokens"], num_samples=args["samples"], seed=args["seed"])
    print(json.dumps({"baseline": baseline, "peak": _max_rss_bytes()}))


def memory_probe(source: str, *, prompt: str, samples: int, max_tokens: int, seed: int,
                 device: str = "auto") -> dict[str, int | None]:
    """Resident memory of loading ``source`` and sampling one batch, measured in a fresh process."""
    import json
    import subprocess

    args = json.dumps({"source": source, "prompt": prompt, "samples": samples, "max_tokens": max_tokens,
                       "seed": seed, "device": device})
    code = "from toolkit.comparison import _memory_probe_main; _memory_probe_main()"
    done = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, check=False)
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        baseline, peak = found["baseline"], found["peak"]
    except (IndexError, ValueError, KeyError, TypeError):
        baseline = peak = None
    added = None if baseline is None or peak is None else peak - baseline
    return {"baseline_rss_bytes": baseline, "peak_rss_bytes": peak, "added_rss_bytes": added}


# -- measuring ---------------------------------------------------------------------------


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def disk_bytes(path: Path) -> int | None:
    """Total size of the files under a model directory, or None for a source that is not one."""
    if not path.is_dir():
        return None
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _sample_temperature(model: Generator, index: TrainingIndex, prompts: Sequence[str], temperature: float,
                        samples: int, max_tokens: int, seed: int) -> TemperatureResult:
    texts: list[str] = []
    rows: list[dict[str, Any]] = []
    seconds = 0.0
    tokens = chars = 0
    firsts = []
    for i, prompt in enumerate(prompts):
        # one seed per prompt: with a shared seed, prompts that lead to similar states draw coupled samples
        completion = model.complete(prompt, max_tokens=max_tokens, num_samples=samples, seed=seed + i,
                                    temperature=temperature)
        seconds += completion.seconds
        firsts.append(completion.first_token_seconds)
        tokens += completion.num_tokens
        chars += sum(len(t) for t in completion.texts)
        texts.extend(completion.texts)
        rows.extend({"prompt": prompt, "text": t, "tokens": len(ids)}
                    for t, ids in zip(completion.texts, completion.tokens, strict=True))
    first = statistics.median(firsts)
    novelty = index.novelties(texts)
    for row, found in zip(rows, novelty, strict=True):
        row.update(found)
    copies = [n["longest_copy"] for n in novelty]
    return TemperatureResult(
        temperature=temperature, samples=rows,
        distinct_1=distinct_n(texts, 1), distinct_2=distinct_n(texts, 2), distinct_3=distinct_n(texts, 3),
        self_bleu=self_bleu(texts) if len(texts) > 1 else None, repetition_rate=repetition_rate(texts, NGRAM),
        ngram_overlap=_mean([n["ngram_overlap"] for n in novelty]),
        longest_copy=max(copies), longest_copy_mean=sum(copies) / len(copies),
        markovify_reject_rate=sum(n["markovify_reject"] for n in novelty) / len(novelty),
        nearest_similarity=sum(n["nearest_similarity"] for n in novelty) / len(novelty),
        timing={"seconds": seconds, "first_token_seconds": first, "tokens": tokens, "chars": chars,
                "tokens_per_second": tokens / seconds if seconds > 0 else math.inf,
                "chars_per_second": chars / seconds if seconds > 0 else math.inf},
    )


def evaluate(model: Generator, *, label: str, source: str, corpus: Corpus, index: TrainingIndex,
             prompts: Sequence[str], temperatures: Sequence[float], samples: int, max_tokens: int, seed: int,
             max_score_chars: int | None, memory: dict[str, int | None] | None = None,
             progress: Callable[[str], None] = lambda _: None) -> ModelResult:
    """Measure one loaded model; `compare` calls it for each model."""
    text = corpus.val if max_score_chars is None else corpus.val[:max_score_chars]
    progress(f"{label}: scoring {len(text):,} held-out characters")
    score = model.score(text)
    model.complete(prompts[0], max_tokens=2, seed=seed)  # warm-up, so lazy set-up is not timed
    runs = []
    for temperature in temperatures:
        progress(f"{label}: sampling {samples} x {len(prompts)} at temperature {temperature}")
        runs.append(_sample_temperature(model, index, prompts, temperature, samples, max_tokens, seed))
    seconds = sum(r.timing["seconds"] for r in runs)
    distribution, version = registry.plugin_version(model.name)
    path = Path(source)
    return ModelResult(
        label=label, source=source, plugin=model.name, distribution=distribution, plugin_version=version,
        info=model.info(), disk_bytes=disk_bytes(path), training=dict(model.training),
        bpc=score.bpc, scored_chars=score.chars, scored_tokens=score.tokens, unknown=score.unknown[:50],
        temperatures=runs,
        speed={"tokens_per_second": sum(r.timing["tokens"] for r in runs) / seconds if seconds else None,
               "chars_per_second": sum(r.timing["chars"] for r in runs) / seconds if seconds else None,
               "first_token_seconds": statistics.median(r.timing["first_token_seconds"] for r in runs),
               "sample_seconds": seconds, "train_seconds": model.training.get("train_seconds")},
        memory=memory or {"baseline_rss_bytes": None, "peak_rss_bytes": None, "added_rss_bytes": None},
    )


def versions(plugins: Sequence[str] = ()) -> dict[str, str]:
    """Versions that decide a run's numbers: Python, numpy, the toolkit, plugins, imported libraries."""
    import numpy as np

    found = {"python": platform.python_version(), "platform": platform.platform(), "numpy": np.__version__,
             "textgen-toolkit": __version__}
    for name, plugin in registry.plugins().items():
        if name in plugins:
            found[f"plugin {name}"] = f"{plugin.distribution} {plugin.version}"
    for dist in [*USED_PACKAGES, *(d for m, d in OPTIONAL_PACKAGES.items() if m in sys.modules)]:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def _labels(sources: Sequence[str]) -> list[str]:
    """Short unique names: a directory's name, or the source itself; parents added to break ties."""
    names = [Path(s).name if Path(s).is_dir() else s for s in sources]
    labels = [f"{Path(s).parent.name}/{name}" if names.count(name) > 1 and Path(s).is_dir() else name
              for s, name in zip(sources, names, strict=True)]
    return [f"{label}#{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def _check(samples: int, temperatures: Sequence[float], max_tokens: int, seed: int,
           max_score_chars: int | None) -> None:
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    if not temperatures or any(not (isinstance(t, int | float) and 0 <= t < math.inf) for t in temperatures):
        raise ValueError(f"temperatures must be one or more numbers >= 0, got {list(temperatures)!r}")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a whole number >= 1, got {max_tokens!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if max_score_chars is not None and (not isinstance(max_score_chars, int) or max_score_chars < 1):
        raise ValueError(f"max_score_chars must be a whole number >= 1 or None, got {max_score_chars!r}")


def compare(models: Sequence[str | Path | Generator] | Mapping[str, str | Path | Generator],
            corpus: str | Path | Corpus, prompts: str | Sequence[str], *, samples: int = 5,
            temperatures: Sequence[float] = DEFAULT_TEMPERATURES, max_tokens: int = 200, seed: int = 0,
            max_score_chars: int | None = None, device: str = "auto", out: str | Path | None = None,
            progress: Callable[[str], None] | None = None) -> CompareReport:
    """Evaluate ``models`` on ``corpus`` and ``prompts``; write the report to ``out`` if given.

    ``models`` are model directories, ``PLUGIN:SOURCE`` strings or loaded generators, or a
    mapping from label to any of those. ``samples`` samples per prompt are drawn at each
    temperature with ``seed``. ``max_score_chars`` caps the validation characters scored
    (None scores the whole split); the cap is recorded in the report.
    """
    started = time.perf_counter()
    progress = progress or (lambda _: None)
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not prompts:
        raise ValueError("give at least one prompt")
    temperatures = [float(t) for t in temperatures]
    _check(samples, temperatures, max_tokens, seed, max_score_chars)
    if isinstance(models, Mapping):
        labels, entries = list(models), list(models.values())
    else:
        entries = list(models)
        labels = _labels([m.name if isinstance(m, Generator) else str(m) for m in entries])
    if not entries:
        raise ValueError("give at least one model to compare")
    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    progress(f"indexing the training split of {corpus.name} ({len(corpus.train):,} characters)")
    index = TrainingIndex.build(corpus.train, n=NGRAM)
    results = []
    for i, (label, entry) in enumerate(zip(labels, entries, strict=True), 1):
        progress(f"[{i}/{len(entries)}] {label}: loading")
        model = entry if isinstance(entry, Generator) else load(entry, device=device)
        source = entry.name if isinstance(entry, Generator) else str(entry)
        result = evaluate(model, label=label, source=source, corpus=corpus, index=index, prompts=prompts,
                          temperatures=temperatures, samples=samples, max_tokens=max_tokens, seed=seed,
                          max_score_chars=max_score_chars, progress=progress)
        del model
        gc.collect()
        if not isinstance(entry, Generator):
            progress(f"{label}: measuring memory in a fresh process")
            result.memory = memory_probe(source, prompt=prompts[0], samples=samples, max_tokens=max_tokens,
                                         seed=seed, device=device)
        results.append(result)
    parameters = {
        "corpus": corpus.describe(), "prompts": prompts, "samples": samples, "temperatures": temperatures,
        "max_tokens": max_tokens, "seed": seed, "prompt_seeds": [seed + i for i in range(len(prompts))],
        "max_score_chars": max_score_chars, "device": device,
        "models": [r.source for r in results],
        "metrics": {"words": "str.split", "ngram_overlap_n": NGRAM, "repetition_n": NGRAM, "self_bleu_max_n": 4,
                    "markovify_max_overlap_ratio": MARKOVIFY_MAX_OVERLAP_RATIO,
                    "markovify_max_overlap_total": MARKOVIFY_MAX_OVERLAP_TOTAL,
                    "nearest_passage": f"cosine, char_wb 3-gram TF-IDF, passages of <= {index.passage_chars} chars",
                    "memory": MEMORY_METHOD},
    }
    report = CompareReport(parameters=parameters, versions=versions([r.plugin for r in results]), models=results,
                           created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    report.elapsed_seconds = time.perf_counter() - started
    if out is not None:
        report.save(out)
    return report


# -- presenting ----------------------------------------------------------------------------


def _human(n: float | None, unit: str = "") -> str:
    if n is None:
        return "-"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{suffix}{unit}"
    return f"{n:.0f}{unit}"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def size_text(info: dict[str, Any]) -> str:
    """Parameters, or states and transitions of a chain, from ``model.info()``."""
    if "parameters" in info:
        return f"{_human(info['parameters'])} params"
    parts = [f"{_human(info[k])} {k}" for k in ("states", "transitions") if k in info]
    return ", ".join(parts) or "-"


def markdown(report: CompareReport) -> str:
    """The summary table, distinct-2 by temperature, and one sample per model."""
    t = report.table_temperature
    p = report.parameters
    cap = p["max_score_chars"]
    scored = "the whole validation split" if cap is None else f"the first {cap:,} validation characters"
    lines = [
        f"Corpus `{p['corpus']['name']}`: bits per character on {scored}; "
        f"{p['samples']} sample(s) per prompt of up to {p['max_tokens']} tokens, seed {p['seed']}, "
        f"prompts {', '.join(repr(x) for x in p['prompts'])}. Diversity and novelty at T = {t}; "
        f"speed over all temperatures.",
        "",
        "| model | plugin | size | disk | train s | bits/char | distinct-2 | self-BLEU | repetition "
        f"| train {NGRAM}-gram overlap | longest copy | markovify rejects | tokens/s | chars/s | first token ms "
        "| memory MB |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for m in report.models:
        r = m.at(t)
        assert r is not None
        peak = m.memory["added_rss_bytes"]
        first = m.speed["first_token_seconds"]
        lines.append(
            f"| {m.label} | {m.plugin} | {size_text(m.info)} | {_human(m.disk_bytes, 'B')} "
            f"| {_fmt(m.speed['train_seconds'], 1)} | {m.bpc:.3f} | {r.distinct_2:.3f} | {_fmt(r.self_bleu)} "
            f"| {r.repetition_rate:.3f} | {_fmt(r.ngram_overlap)} | {r.longest_copy} | {r.markovify_reject_rate:.0%} "
            f"| {_human(m.speed['tokens_per_second'])} | {_human(m.speed['chars_per_second'])} "
            f"| {_fmt(None if first is None else first * 1000, 1)} | {_fmt(None if peak is None else peak / 1e6, 1)} |")
    temps = p["temperatures"]
    lines += ["", "Distinct-2 by temperature:", "",
              "| model | " + " | ".join(f"T={x}" for x in temps) + " |",
              "|---|" + "--:|" * len(temps)]
    for m in report.models:
        lines.append(f"| {m.label} | " + " | ".join(f"{r.distinct_2:.3f}" for r in m.temperatures) + " |")
    lines += ["", f"First sample at T = {t}:", ""]
    for m in report.models:
        r = m.at(t)
        assert r is not None
        sample = r.samples[0]
        shown = (sample["prompt"] + sample["text"])[:300].replace("\n", " / ")
        lines.append(f"- **{m.label}**: {shown}")
    return "\n".join(lines) + "\n"


def plot(report: CompareReport, out: Path) -> dict[str, Path]:
    """Bits per character, distinct-2 against temperature, and speed, as PNGs in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    labels = [m.label for m in report.models]
    paths = {"bpc": out / "compare-bpc.png", "diversity": out / "compare-diversity.png",
             "speed": out / "compare-speed.png"}
    height = 1.0 + 0.45 * len(labels)

    fig, ax = plt.subplots(figsize=(6.4, height))
    bars = ax.barh(labels, [m.bpc for m in report.models], color="tab:blue")
    ax.bar_label(bars, fmt="%.3f", padding=3)
    ax.invert_yaxis()
    ax.set_xlabel("bits per character on held-out text (lower is better)")
    ax.set_title(f"Quality on {report.parameters['corpus']['name']}")
    ax.margins(x=0.15)
    _save(fig, paths["bpc"])

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for m in report.models:
        ax.plot([r.temperature for r in m.temperatures], [r.distinct_2 for r in m.temperatures], marker="o",
                label=m.label)
    ax.set_xlabel("temperature")
    ax.set_ylabel("distinct-2 (unique word bigrams / all)")
    ax.set_title("Diversity against temperature")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, paths["diversity"])

    fig, ax = plt.subplots(figsize=(6.4, height))
    speeds = [m.speed["tokens_per_second"] or 0.0 for m in report.models]
    bars = ax.barh(labels, speeds, color="tab:green")
    ax.bar_label(bars, labels=[_human(s) for s in speeds], padding=3)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"tokens per second, batch of {report.parameters['samples']} (log scale)")
    ax.set_title("Sampling speed")
    ax.margins(x=0.2)
    _save(fig, paths["speed"])
    return paths


def _save(fig: Any, path: Path) -> None:
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic.write_bytes(path, buffer.getvalue())


# -- command line ------------------------------------------------------------------------------


def parse_temperatures(text: str) -> list[float]:
    """``"0.3,0.8"`` -> ``[0.3, 0.8]``, or a ValueError naming --temperatures."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--temperatures must be numbers separated by commas, got {text!r}") from None
    if not values or any(not (0 <= v < math.inf) for v in values):
        raise ValueError(f"--temperatures must be one or more numbers >= 0, got {text!r}")
    return values


def read_prompts(prompt: Sequence[str] | None, prompts_file: str | None) -> list[str]:
    """Prompts from repeated --prompt and/or a file of one prompt a line (blank lines skipped)."""
    prompts = list(prompt or [])
    if prompts_file:
        try:
            lines = Path(prompts_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--prompts-file {prompts_file}: cannot read it ({exc})") from None
        prompts += [line for line in lines if line.strip()]
        if not prompts:
            raise ValueError(f"--prompts-file {prompts_file} holds no prompts")
    if not prompts:
        raise ValueError("give --prompt TEXT (repeatable) or --prompts-file F")
    return prompts


def main(args: Any) -> int:
    """``textgen compare``: print the Markdown table (or the JSON), write the report to --out."""
    import json

    report = compare(args.models, args.corpus, read_prompts(args.prompt, args.prompts_file), samples=args.samples,
                     temperatures=parse_temperatures(args.temperatures), max_tokens=args.max_tokens, seed=args.seed,
                     max_score_chars=args.max_score_chars, device=args.device, out=args.out,
                     progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True, default=str))
    else:
        print(report.markdown())
    if report.files:
        print("wrote " + ", ".join(report.files.values()), file=sys.stderr)
    return 0

