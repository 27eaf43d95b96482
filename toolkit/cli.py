"""The ``textgen`` command line. Only argparse at import time, so ``--help`` is instant.

A user's mistake (`TextgenError`, a bad option value) prints one line and exits 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

SAMPLING_FLAGS = {  # flag -> (SamplingOptions field, type)
    "--temperature": ("temperature", float), "--top-k": ("top_k", int), "--top-p": ("top_p", float),
    "--min-p": ("min_p", float), "--typical-p": ("typical_p", float),
    "--repetition-penalty": ("repetition_penalty", float), "--no-repeat-ngram-size": ("no_repeat_ngram_size", int),
}


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_plugins(args: argparse.Namespace) -> int:
    from . import registry

    rows = [p.status() for found in registry.claims().values() for p in found]
    if args.json:
        _print_json(rows)
    elif not rows:
        print("no plugins installed (or TEXTGEN_PLUGINS lists none)")
    for row in [] if args.json else rows:
        state = "ok" if row["ok"] else f"BROKEN: {row['error']}"
        if row["conflict"]:
            state += f"  CONFLICT: {row['name']!r} is also claimed by {', '.join(row['conflict'])}"
        print(f"{row['name']:<12} {row['distribution']} {row['version']}  {state}")
    return 0


def cmd_options(args: argparse.Namespace) -> int:
    from . import registry
    from .options import describe
    from .sampling import SamplingOptions

    sections = {"sampling (textgen generate)": describe(SamplingOptions)}
    if args.plugin:
        sections[f"{args.plugin} (textgen train {args.plugin} -o key=value)"] = describe(
            registry.get(args.plugin).Options)
    if args.json:
        _print_json(sections)
        return 0
    for title, rows in sections.items():
        print(f"{title}:")
        for row in rows:
            default = "auto" if row.get("auto") else repr(row["default"])
            print(f"  {row['name']:<22} {row['type']:<8} default {default:<8} {row['description']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .api import train
    from .corpora import load_corpus
    from .options import parse_pairs

    options: dict[str, Any] = parse_pairs(args.option)
    for key in ("level", "max_seconds", "device"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    corpus = load_corpus(args.corpus, column=args.column, val_fraction=args.val_fraction)
    model = train(args.plugin, corpus, out=args.out, seed=args.seed, **options)
    result = {"plugin": args.plugin, "out": str(args.out), **model.training}
    if args.json:
        _print_json(result)
    else:
        threads = result.get("fit", {}).get("cpu_threads")
        print(f"trained {args.plugin} on {corpus.name} in {result['train_seconds']:.1f}s"
              + (f" on {threads} CPU thread(s)" if threads else "")
              + f"; held-out {result['val_bpc']:.4f} bits per character; saved to {args.out}")
        for part in ("sizing", "sentences"):  # what the plugin chose from the corpus, and why
            if part in result:
                print(result[part]["summary"])
    return 0


def _sampling_values(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name, _ in SAMPLING_FLAGS.values() if getattr(args, name) is not None}


def cmd_generate(args: argparse.Namespace) -> int:
    from .api import load

    model = load(args.model, plugin=args.plugin, device=args.device)
    sampling = _sampling_values(args)
    stop = [s.replace("\\n", "\n").replace("\\t", "\t") for s in args.stop or ()]  # a shell passes "\n" as is
    common = {"max_tokens": args.max_tokens, "max_chars": args.max_chars, "seed": args.seed, "stop": stop,
              **sampling}
    if args.stream:
        if args.num_samples != 1:
            raise ValueError("--stream shows one sample; drop --num-samples")
        print(args.prompt, end="", flush=True)
        for piece in model.stream(args.prompt, **common):
            print(piece, end="", flush=True)
        print()
        return 0
    completion = model.complete(args.prompt, num_samples=args.num_samples, **common)
    if args.json:
        _print_json({"model": str(args.model), "plugin": model.name, "seed": args.seed, **sampling,
                     **completion.to_json()})
        return 0
    for i, text in enumerate(completion.texts):
        if args.num_samples > 1:
            print(f"--- sample {i + 1}")
        print(args.prompt + text)
    print(f"({completion.num_tokens} tokens in {completion.seconds:.2f}s, "
          f"{completion.tokens_per_second:.0f} tokens/s, {completion.chars_per_second:.0f} chars/s)",
          file=sys.stderr)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .api import load
    from .corpora import decode, load_corpus
    from .errors import CorpusError

    model = load(args.model, plugin=args.plugin, device=args.device)
    if args.text_file:
        try:
            text = decode(Path(args.text_file).read_bytes(), args.text_file)
        except OSError as exc:
            raise CorpusError(f"cannot read {args.text_file}: {exc.strerror}") from None
    elif args.corpus:
        text = load_corpus(args.corpus).val
    else:
        raise ValueError("give --text-file F, or --corpus NAME to score its validation split")
    score = model.score(text)
    if args.json:
        _print_json({"model": str(args.model), "plugin": model.name, **score.to_json()})
    else:
        print(f"{score.bpc:.4f} bits per character over {score.chars} characters ({score.tokens} tokens)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .api import load
    from .errors import TextgenError

    model = load(args.model, plugin=args.plugin, device=args.device)
    if args.format == "textgen":  # the current model directory format: what converts an old directory
        model.save(args.out)
    else:
        export = getattr(model, "export", None)
        if export is None:
            raise TextgenError(f"plugin {model.name!r} exports only to --format textgen, not {args.format!r}")
        export(args.format, args.out)
    print(f"wrote {args.out} ({args.format})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .comparison import main

    return main(args)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from .dashboard import main

    return main(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main(args)


def _add_model_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model directory, or PLUGIN:SOURCE such as gpt2:distilgpt2")
    p.add_argument("--plugin", help="plugin for a source that is not a textgen model directory")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textgen", description="Train, run and compare text generators.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of any error (also TEXTGEN_DEBUG=1), for plugin authors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("plugins", help="list installed generator plugins")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("options", help="show sampling options and a plugin's training options")
    p.add_argument("plugin", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_options)

    p = sub.add_parser("train", help="train a generator on a corpus and save it")
    p.add_argument("plugin")
    p.add_argument("--corpus", required=True, help="tinyshakespeare, sherlock, ag_news, a file or a folder")
    p.add_argument("--out", required=True, type=Path, help="model directory to write")
    p.add_argument("--column", help="CSV column (name or index) for CSV corpora")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out tail of the corpus (default 0.1)")
    p.add_argument("--level", choices=["char", "word"])
    p.add_argument("--max-seconds", type=float, help="training time budget (neural plugins)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                   help="plugin option; see `textgen options PLUGIN`")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="generate text from a model")
    _add_model_source(p)
    p.add_argument("--prompt", default="")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--max-chars", type=int, metavar="N",
                   help="stop each sample after N characters (with --max-tokens, whichever comes first)")
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop", action="append", metavar="TEXT",
                   help="stop at this text (repeatable; \\n and \\t mean newline and tab)")
    for flag, (name, kind) in SAMPLING_FLAGS.items():
        p.add_argument(flag, dest=name, type=kind)
    p.add_argument("--stream", action="store_true", help="print text as it is produced")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("score", help="bits per character of a text under a model")
    _add_model_source(p)
    p.add_argument("--text-file")
    p.add_argument("--corpus", help="score this corpus's validation split")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("export", help="write a model in another format (markovify JSON) or the current one")
    _add_model_source(p)
    p.add_argument("out", type=Path, help="file (markovify) or model directory (textgen) to write")
    p.add_argument("--format", required=True, choices=["markovify", "textgen"],
                   help="markovify: markovify.Text.to_json(), for markov models; textgen: a model directory "
                        "in the current format (converts an old one)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("compare", help="evaluate models on the same held-out text and prompts")
    p.add_argument("models", nargs="+")
    p.add_argument("--corpus", required=True)
    p.add_argument("--prompt", action="append", help="prompt (repeatable)")
    p.add_argument("--prompts-file")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--temperatures", default="0.3,0.8,1.0,1.3,1.8")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-score-chars", type=int, help="score only this many validation characters (default: all)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--out", type=Path, help="folder for report.json, report.md and the PNG plots")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("dashboard", help="open the Streamlit dashboard")
    p.add_argument("--models", type=Path, help="folder searched for model directories")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("demo", help="train every installed family on Tiny Shakespeare and compare them")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="models/ and report/ go here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus", default="tinyshakespeare")
    p.add_argument("--max-seconds", type=float, default=70.0, help="training budget of each neural model")
    p.add_argument("--prompt", default="ROMEO:")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--temperatures", default="0.3,0.8,1.0,1.3,1.8")
    p.add_argument("--max-score-chars", type=int, default=0,
                   help="score only this many validation characters, a slice named in the report (default 0: all)")
    p.add_argument("--no-pretrained", action="store_true", help="leave out a locally cached pretrained GPT-2")
    p.add_argument("-o", "--option", action="append", metavar="PLUGIN.KEY=VALUE",
                   help="training option for one family, e.g. lstm.hidden_size=128")
    p.set_defaults(func=cmd_demo)
    for p in sub.choices.values():  # `textgen generate M --debug` works as well as `textgen --debug generate M`
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of any error (also TEXTGEN_DEBUG=1), for plugin authors")
    return parser


def _one_line(exc: Exception) -> str | None:
    """The error line for a user's mistake or a plugin's bug; None for a bug of the core (keep its traceback)."""
    from .errors import TextgenError, plugin_fault

    if isinstance(exc, TextgenError):
        return str(exc)
    return plugin_fault(exc) or (str(exc) if isinstance(exc, ValueError) else None)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    warnings.simplefilter("default")
    warnings.formatwarning = lambda msg, cat, *a, **k: f"textgen: warning: {msg}\n"
    debug = args.debug or os.environ.get("TEXTGEN_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    try:
        return args.func(args)
    except Exception as exc:
        message = None if debug else _one_line(exc)
        if message is None:
            raise
        print(f"textgen: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("textgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
