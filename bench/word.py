"""Issue 12 benchmark: word level against character level, in every family, on a book.

Sherlock Holmes (``sherlock``), last 10% held out, bits per character on the whole
validation split (``training["val_bpc"]``, the same path as ``textgen score``), side by side:

* the word chain in each sentence mode (the best one is the figure), and the char chain;
* the word LSTM and the char LSTM, ``--seconds`` (default 300) of CPU training each;
* GPT-2 with byte-level BPE trained on the corpus, and GPT-2 char, the same budget;
* the compressor reference lines (zlib, bz2, lzma) on the same split.

Then 50 samples from every word-level model are checked for glued words (`glued_words`),
and the word chain on AG News titles (one item per line) for how many lines it keeps.

Targets: the word LSTM beats the word chain; no glued words in any word-level model's
samples; the titles corpus keeps at least 95% of its lines by default. Timings mean
nothing on a busy machine: run it alone, under the lock::

    flock /tmp/textgen-bench.lock python bench/word.py --record
    python bench/word.py --quick      # 2 s budgets, a smoke test
"""

from __future__ import annotations

import argparse
import json
import re
import warnings
from functools import cache
from typing import Any

from provenance import figures, record

import toolkit
from toolkit.data.corpora import Corpus, load_corpus
from toolkit.evaluation.references import reference_lines

WORD = re.compile(r"\w+")
#: (row name, plugin, options); the neural rows get the time budget.
NEURAL = [("word LSTM", "lstm", {"level": "word"}), ("char LSTM", "lstm", {"level": "char"}),
          ("GPT-2 BPE", "gpt2", {"level": "bpe"}), ("GPT-2 char", "gpt2", {"level": "char"})]
WORD_LEVEL = {"word chain", "word LSTM", "GPT-2 BPE"}


def glued_words(texts: list[str], vocabulary: set[str]) -> list[str]:
    """Runs of letters that are no vocabulary word but split into two or more of them.

    Only parts of two or more characters count, so a BPE model's new word such as
    "Holmesy" is not taken for "Holmes" + "y"; "thecat" is "the" + "cat".
    """
    @cache
    def splits(word: str) -> bool:
        return any(word[:i] in vocabulary and (word[i:] in vocabulary or splits(word[i:]))
                   for i in range(2, len(word) - 1))

    return [w for text in texts for w in WORD.findall(text) if w not in vocabulary and splits(w)]


def train(plugin: str, corpus: Corpus, **options: Any) -> toolkit.Generator:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return toolkit.train(plugin, corpus, **options)


def measure(corpus: Corpus, seconds: float, samples: int) -> dict[str, dict[str, Any]]:
    """Every row's held-out bits per character, and the samples of the word-level ones."""
    chains = {mode: train("markov", corpus, level="word", sentences=mode) for mode in ("text", "newline")}
    best = min(chains, key=lambda mode: chains[mode].training["val_bpc"])
    models = {"word chain": chains[best], "char chain": train("markov", corpus, level="char")}
    models.update({name: train(plugin, corpus, max_seconds=seconds, device="cpu", progress=False, **options)
                   for name, plugin, options in NEURAL})
    rows: dict[str, dict[str, Any]] = {f"word chain, sentences={mode}": {"bpc": m.training["val_bpc"]}
                                       for mode, m in chains.items()}
    vocabulary = {w for w in WORD.findall(corpus.train) if len(w) > 1}
    for name, model in models.items():
        rows[name] = {"bpc": model.training["val_bpc"]}
        if name in WORD_LEVEL:
            texts = model.generate("", max_tokens=60, num_samples=samples, temperature=0.8, seed=1)
            rows[name]["glued"] = glued_words(texts, vocabulary)
            rows[name]["sample"] = texts[0][:120]
    rows["word chain"]["mode"] = best
    return rows


def titles_kept(chars: int | None) -> dict[str, Any]:
    """The word chain on AG News titles (the first ``chars``) with its default (corpus-chosen) sentence mode."""
    titles = load_corpus("ag_news", column=1)
    if chars:
        titles = Corpus(titles.name, titles.text[:chars])
    report = train("markov", titles, level="word").training["sentences"]
    return {"mode": report["mode"], "kept": report["kept"], "split": report["split"],
            "fraction": report["kept"] / report["split"]}


def report(rows: dict[str, dict[str, Any]], titles: dict[str, Any], corpus: Corpus,
           args: argparse.Namespace) -> None:
    """Print the table and the targets; with ``--record`` append them to bench/RESULTS.md."""
    lines = [(name, f"{row['bpc']:.3f} bits/char" + (f", {len(row['glued'])} glued words in {args.samples} samples"
                                                     if "glued" in row else "")) for name, row in rows.items()]
    lines += [(f"{ref.name} (reference)", f"{ref.bpc:.3f} bits/char") for ref in reference_lines(corpus)]
    lines.append(("AG News titles, word chain default", f"mode {titles['mode']}, kept {titles['kept']:,} of "
                                                        f"{titles['split']:,} lines ({titles['fraction']:.1%})"))
    for name, value in lines:
        print(f"{name}: {value}")
    for name, row in rows.items():
        if "glued" in row:
            print(f"{name} sample: {row['sample']!r}; glued: {row['glued'][:10]}")
    word_lstm, chain = rows["word LSTM"]["bpc"], rows["word chain"]["bpc"]
    targets = [(f"the word LSTM ({word_lstm:.3f}) beats the word chain ({chain:.3f}, sentences="
                f"{rows['word chain']['mode']})", word_lstm < chain)]
    targets += [(f"no glued words in {args.samples} samples of the {name} ({len(rows[name]['glued'])})",
                 not rows[name]["glued"]) for name in sorted(WORD_LEVEL)]
    targets.append((f"the titles corpus keeps at least 95% of its lines ({titles['fraction']:.1%})",
                    titles["fraction"] >= 0.95))
    for name, met in targets:
        print(f"target {'met' if met else 'MISSED'}: {name}")
    if args.json:
        print(json.dumps({"rows": rows, "titles": titles}, indent=2))
    if args.record:
        record(f"Word level on Sherlock Holmes (issue 12){' --quick' if args.quick else ''}",
               figures(lines, targets,
                       f"{args.seconds:g} s of CPU training per neural model; sizes from the sizing rule."))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300.0, help="CPU training budget per neural model")
    parser.add_argument("--samples", type=int, default=50, help="samples per word-level model for the glue check")
    parser.add_argument("--quick", action="store_true",
                        help="the first 40,000 characters, 2 s budgets, 5 samples: checks the script runs")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    corpus, chars = load_corpus("sherlock"), None
    if args.quick:
        args.seconds, args.samples, chars = 2.0, 5, 40_000
        corpus = Corpus(corpus.name, corpus.text[:chars])
    report(measure(corpus, args.seconds, args.samples), titles_kept(chars), corpus, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
