"""``textgen train``, ``generate``, ``score`` and ``export``: the commands that make or use one model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..machine import DEVICES
from .common import add_command, add_json, add_model_source, load_model, print_json, read_text_file

SAMPLING_FLAGS = {  # flag -> (SamplingOptions field, type, help with its default); tests check them against it
    "--temperature": ("temperature", float, "divide logits by T; 0 means greedy (default: 1.0)"),
    "--top-k": ("top_k", int, "keep only the k likeliest tokens (default: 0, off)"),
    "--top-p": ("top_p", float, "nucleus: the likeliest tokens holding this much mass (default: 1.0, off)"),
    "--min-p": ("min_p", float, "drop tokens below min_p times the likeliest (default: 0.0, off)"),
    "--typical-p": ("typical_p", float, "locally typical sampling mass (default: 1.0, off)"),
    "--repetition-penalty": ("repetition_penalty", float, "penalise tokens already in the text (default: 1.0, off)"),
    "--no-repeat-ngram-size": ("no_repeat_ngram_size", int, "never repeat an n-gram of this size (default: 0, off)"),
}


def cmd_train(args: argparse.Namespace) -> int:
    from .. import registry
    from ..api import train
    from ..data.corpora import load_corpus
    from ..options import parse_pairs
    from ..outpaths import check_model_out

    check_model_out(args.out, overwrite=args.overwrite)  # before any time is spent
    options: dict[str, Any] = parse_pairs(args.option)
    known = registry.get(args.plugin).Options.model_fields
    for key in ("level", "max_seconds", "max_flops", "device"):
        if getattr(args, key) is None:
            continue
        if key not in known:
            flag = "--" + key.replace("_", "-")
            raise ValueError(f"{flag} does not apply to {args.plugin} models (their options: "
                             f"{', '.join(known) or 'none'}); drop {flag}")
        options[key] = getattr(args, key)
    corpus = load_corpus(args.corpus, column=args.column, val_fraction=args.val_fraction)
    model = train(args.plugin, corpus, out=args.out, seed=args.seed, overwrite=args.overwrite, fresh=args.fresh,
                  **options)
    result = {"plugin": args.plugin, "out": str(args.out), **model.training}
    if args.json:
        print_json(result)
    else:
        threads = result.get("fit", {}).get("cpu_threads")
        print(f"trained {args.plugin} on {corpus.name} in {result['train_seconds']:.1f}s"
              + (f" on {threads} CPU thread(s)" if threads else "")
              + f"; held-out {result['val_bpc']:.4f} bits per character; saved to {args.out}")
        for part in ("sizing", "sentences"):  # what the plugin chose from the corpus, and why
            if part in result:
                print(result[part]["summary"])
        if "compute" in result:
            print(compute_line(result["compute"]))
    return 0


def compute_line(compute: dict[str, Any]) -> str:
    """The training summary's compute line: FLOPs counted (and how), this machine's speed, the budget."""
    what = "training FLOPs" if compute["kind"] == "training" else "counting operations"
    budget = compute["budget"]
    return (f"compute: {compute['flops']:.3g} {what} ({compute['flops_per_token']:.3g} per token: "
            f"{compute['formula']}); this machine sustained {compute['flops_per_second']:.3g} FLOP/s, "
            f"{compute['tokens_per_second']:,.0f} tokens/s; budget {budget['unit']}={budget['value']:g}")


def _sampling_values(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name, _, _ in SAMPLING_FLAGS.values() if getattr(args, name) is not None}


def cmd_generate(args: argparse.Namespace) -> int:
    if args.stream and args.json:
        raise ValueError("--json and --stream do not go together (--stream prints plain text as it comes); "
                         "drop one")
    if args.stream and args.num_samples != 1:
        raise ValueError("--stream shows one sample; drop --num-samples")
    prompt = read_text_file(args.prompt_file) if args.prompt_file else args.prompt
    model = load_model(args)
    sampling = _sampling_values(args)
    stop = [s.replace("\\n", "\n").replace("\\t", "\t") for s in args.stop or ()]  # a shell passes "\n" as is
    common = {"max_tokens": args.max_tokens, "max_chars": args.max_chars, "seed": args.seed, "stop": stop,
              **sampling}
    if args.stream:
        print(prompt, end="", flush=True)
        for piece in model.stream(prompt, **common):
            print(piece, end="", flush=True)
        print()
        return 0
    completion = model.complete(prompt, num_samples=args.num_samples, **common)
    if args.json:
        print_json({"model": str(args.model), "plugin": model.name, "seed": args.seed, **sampling,
                    **completion.to_json()})
        return 0
    for i, text in enumerate(completion.texts):
        if args.num_samples > 1:
            print(f"--- sample {i + 1}")
        print(prompt + text)
    print(f"({completion.num_tokens} tokens in {completion.seconds:.2f}s, "
          f"{completion.tokens_per_second:.0f} tokens/s, {completion.chars_per_second:.0f} chars/s)",
          file=sys.stderr)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from ..data.corpora import load_corpus

    model = load_model(args)
    if args.text_file:
        text = read_text_file(args.text_file, "--text-file")
    elif args.corpus:
        text = load_corpus(args.corpus).val
    else:
        raise ValueError("give --text-file F, or --corpus NAME to score its validation split")
    score = model.score(text)
    if args.json:
        print_json({"model": str(args.model), "plugin": model.name, **score.to_json()})
    else:
        print(f"{score.bpc:.4f} bits per character over {score.chars} characters ({score.tokens} tokens)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..errors import TextgenError

    model = load_model(args)
    if args.format == "textgen":  # the current model directory format: what converts an old directory
        model.save(args.out)
    else:
        export = getattr(model, "export", None)
        if export is None:
            raise TextgenError(f"plugin {model.name!r} exports only to --format textgen, not {args.format!r}")
        export(args.format, args.out)
    print(f"wrote {args.out} ({args.format})")
    return 0


def add_train(sub: Any) -> None:
    p = add_command(sub, "train", "train a generator on a corpus and save it",
                    "textgen train markov --corpus tinyshakespeare --level char --out models/markov-char",
                    "textgen train lstm --corpus notes.txt --max-seconds 60 --out models/lstm -o hidden_size=128")
    p.add_argument("plugin", help="generator plugin (`textgen plugins` lists them)")
    p.add_argument("--corpus", required=True, help="tinyshakespeare, sherlock, ag_news, a file or a folder")
    p.add_argument("--out", required=True,
                   help="model directory to write: a new or empty folder, or a model with --overwrite")
    p.add_argument("--overwrite", action="store_true", help="replace the model already in --out")
    p.add_argument("--fresh", action="store_true",
                   help="start over instead of resuming the interrupted run in OUT/train-state")
    p.add_argument("--column", help="CSV column (name or index) for CSV corpora")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out tail of the corpus")
    p.add_argument("--level", choices=["char", "word"], help="token level (default: the plugin's)")
    p.add_argument("--max-seconds", type=float, help="training time budget (neural plugins): what this machine "
                   "trains in that time")
    p.add_argument("--max-flops", type=float, help="training budget in FLOPs (neural plugins), instead of "
                   "--max-seconds: the same model on any machine (same seed and thread count)")
    p.add_argument("--device", choices=DEVICES, help="where to train (neural plugins; default: auto)")
    p.add_argument("--seed", type=int, default=0, help="random seed (whole number >= 0)")
    p.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                   help="plugin option, repeatable; see `textgen options PLUGIN`")
    add_json(p)
    p.set_defaults(func=cmd_train)


def add_generate(sub: Any) -> None:
    p = add_command(sub, "generate", "generate text from a model",
                    'textgen generate models/markov-char --prompt "ROMEO:" --temperature 0.8 --num-samples 3')
    add_model_source(p)
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", default="", help="text to continue")
    prompt.add_argument("--prompt-file", metavar="FILE", help="continue the text of this UTF-8 file, used as is")
    p.add_argument("--max-tokens", type=int, default=200, help="new tokens per sample")
    p.add_argument("--max-chars", type=int, metavar="N",
                   help="stop each sample after N characters (with --max-tokens, whichever comes first)")
    p.add_argument("--num-samples", type=int, default=1, help="samples to draw")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same text")
    p.add_argument("--stop", action="append", metavar="TEXT",
                   help="stop at this text (repeatable; \\n and \\t mean newline and tab)")
    for flag, (name, kind, text) in SAMPLING_FLAGS.items():
        p.add_argument(flag, dest=name, type=kind, help=text)
    p.add_argument("--stream", action="store_true", help="print text as it is produced")
    add_json(p, "the samples and timings")
    p.set_defaults(func=cmd_generate)


def add_score(sub: Any) -> None:
    p = add_command(sub, "score", "bits per character of a text under a model",
                    "textgen score models/markov-char --corpus tinyshakespeare --json")
    add_model_source(p)
    p.add_argument("--text-file", help="score the text of this UTF-8 file")
    p.add_argument("--corpus", help="score this corpus's validation split")
    add_json(p)
    p.set_defaults(func=cmd_score)


def add_export(sub: Any) -> None:
    p = add_command(sub, "export", "write a model in another format (markovify JSON) or the current one",
                    "textgen export models/markov-word chain.json --format markovify")
    add_model_source(p)
    p.add_argument("out", type=Path, help="file (markovify) or model directory (textgen) to write")
    p.add_argument("--format", required=True, choices=["markovify", "textgen"],
                   help="markovify: markovify.Text.to_json(), for markov models; textgen: a model directory "
                        "in the current format (converts an old one)")
    p.set_defaults(func=cmd_export)
