"""Markov plugin vs markovify 0.9.4, side by side in one run: build time, sentence speed, char bpc.

    export TEXTGEN_CORPORA=../shared/corpora
    flock /tmp/textgen-bench.lock python bench/markov.py [--runs 5] [--sentences 3000]

Build: `markovify.Text(train, state_size=2)` vs the plugin's word model trained on the
same text (its Kneser-Ney tables, novelty index and state dict are built lazily, on
first use; their times are shown apart). Sentences: markovify's `make_sentence()` (novelty test on, 10 tries; a
None counts no words) vs `MarkovGenerator.make_sentences` (novelty filter on), words per
second. Bits per character: char models on Tiny Shakespeare, last 10% held out.
Every figure is the median over ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from typing import Any

import markovify
from provenance import median_run
from textgen_markov import MarkovGenerator, MarkovOptions

from toolkit.data.corpora import Corpus, load_corpus


def build(corpus: Corpus, runs: int) -> dict[str, float]:
    ours, model = median_run(lambda: MarkovGenerator.train(corpus, MarkovOptions(), seed=0), runs)
    theirs, _ = median_run(lambda: markovify.Text(corpus.train, state_size=2), runs)
    lazy = {name: median_run(lambda name=name: (model.__dict__.pop(name, None), getattr(model, name)), runs)[0]
            for name in ("_kneser_ney", "_overlap_index", "_slots")}
    return {"markovify_s": theirs, "ours_s": ours, "ratio": ours / theirs, "lazy_kneser_ney_s": lazy["_kneser_ney"],
            "lazy_novelty_index_s": lazy["_overlap_index"], "lazy_state_dict_s": lazy["_slots"]}


def sentences(corpus: Corpus, runs: int, n: int) -> dict[str, float]:
    reference = markovify.Text(corpus.train, state_size=2)
    model = MarkovGenerator.train(corpus, MarkovOptions(), seed=0)
    model.make_sentences(10)  # builds the lazy parts once, as markovify builds its rejoined text in its init

    def theirs(_: int) -> int:
        made = (reference.make_sentence() for _ in range(n))
        return sum(len(s.split()) for s in made if s is not None)

    def ours(seed: int) -> int:
        return sum(len(s.split()) for s in model.make_sentences(n, seed=seed * 1000))

    their_rates, our_rates = [], []
    for run in range(runs):
        for rates, make in ((their_rates, theirs), (our_rates, ours)):
            seconds, words = median_run(lambda make=make, run=run: make(run), 1)
            rates.append(words / seconds)
    theirs_wps, ours_wps = statistics.median(their_rates), statistics.median(our_rates)
    return {"markovify_words_per_s": theirs_wps, "ours_words_per_s": ours_wps, "ratio": ours_wps / theirs_wps}


def char_bpc(corpus: Corpus, sizes: list[int]) -> dict[int, float]:
    found = {}
    for size in sizes:
        model = MarkovGenerator.train(corpus, MarkovOptions(level="char", state_size=size), seed=0)
        found[size] = model.score(corpus.val).bpc
        print(f"  char state_size {size:2d}: {found[size]:.4f} bpc", flush=True)
    return found


def word_bpc(corpus: Corpus, sizes: list[int]) -> dict[str, float]:
    found = {}
    for well_formed in (True, False):
        for size in sizes:
            options = MarkovOptions(state_size=size, well_formed=well_formed)
            found[f"state_size={size},well_formed={well_formed}"] = bpc = (
                MarkovGenerator.train(corpus, options, seed=0).score(corpus.val).bpc)
            print(f"  word state_size {size}, well_formed={well_formed}: {bpc:.4f} bpc", flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--sizes", default="3,4,5,6,7,8,9,10")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, "
          f"markovify {markovify.__version__}, {' '.join(sys.argv)}")
    results: dict[str, Any] = {}
    for name in ("sherlock", "tinyshakespeare"):
        corpus = load_corpus(name)
        results[f"build_{name}"] = b = build(corpus, args.runs)
        print(f"build {name}: markovify {b['markovify_s']:.3f}s, ours {b['ours_s']:.3f}s, ratio {b['ratio']:.2f} "
              f"(built lazily: Kneser-Ney {b['lazy_kneser_ney_s']:.3f}s, novelty index "
              f"{b['lazy_novelty_index_s']:.3f}s, state dict {b['lazy_state_dict_s']:.3f}s)",
              flush=True)
        results[f"sentences_{name}"] = s = sentences(corpus, args.runs, args.sentences)
        print(f"sentences {name}: markovify {s['markovify_words_per_s']:.0f} words/s, "
              f"ours {s['ours_words_per_s']:.0f} words/s, ratio {s['ratio']:.2f}", flush=True)
    for name in ("sherlock", "tinyshakespeare"):
        print(f"word bpc, {name}, last 10% held out:")
        results[f"word_bpc_{name}"] = word_bpc(load_corpus(name), [1, 2, 3])
    print("char bpc, tinyshakespeare, last 10% held out:")
    bpc = char_bpc(load_corpus("tinyshakespeare"), [int(s) for s in args.sizes.split(",")])
    best = min(bpc, key=bpc.get)
    results["char_bpc_tinyshakespeare"] = bpc
    print(f"best char state_size {best}: {bpc[best]:.4f} bpc")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
