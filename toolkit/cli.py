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
from typing import Any, NoReturn

SAMPLING_FLAGS = {  # flag -> (SamplingOptions field, type, help with its default); tests check them against it
    "--temperature": ("temperature", float, "divide logits by T; 0 means greedy (default: 1.0)"),
    "--top-k": ("top_k", int, "keep only the k likeliest tokens (default: 0, off)"),
    "--top-p": ("top_p", float, "nucleus: the likeliest tokens holding this much mass (default: 1.0, off)"),
    "--min-p": ("min_p", float, "drop tokens below min_p times the likeliest (default: 0.0, off)"),
    "--typical-p": ("typical_p", float, "locally typical sampling mass (default: 1.0, off)"),
    "--repetition-penalty": ("repetition_penalty", float, "penalise tokens already in the text (default: 1.0, off)"),
    "--no-repeat-ngram-size": ("no_repeat_ngram_size", int, "never repeat an n-gram of this size (default: 0, off)"),
}

#: Optional packages a command may import -> (distribution, the extra of textgen-toolkit that installs it).
EXTRAS = {
    "sklearn": ("scikit-learn", "compare"), "matplotlib": ("matplotlib", "compare"),
    "streamlit": ("Streamlit", "dashboard"), "torch": ("torch", "neural"), "safetensors": ("safetensors", "neural"),
    "pytest": ("pytest", "test"), "hypothesis": ("hypothesis", "test"),
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
    from .generation.sampling import SamplingOptions
    from .options import describe

    sections = {"sampling (textgen generate)": describe(SamplingOptions)}
    title = f"{args.plugin} (textgen train {args.plugin} -o key=value)"
    if args.plugin:
        sections[title] = describe(registry.get(args.plugin).Options)
    if args.json:
        _print_json(sections)
        return 0
    models = {"sampling (textgen generate)": SamplingOptions}
    if args.plugin:
        models[title] = registry.get(args.plugin).Options
    for (heading, rows), model in zip(sections.items(), models.values(), strict=True):
        print(f"{heading}:")
        table = [(row["name"], _type_label(model.model_fields[row["name"]].annotation),
                  f"default {'auto' if row.get('auto') else repr(row['default'])}", row["description"]) for row in rows]
        widths = [max((len(cells[i]) for cells in table), default=0) for i in range(3)]
        for cells in table:
            padded = [cell.ljust(width) for cell, width in zip(cells[:3], widths, strict=True)]
            print("  " + "  ".join([*padded, cells[3]]))
    return 0


def _type_label(annotation: Any) -> str:
    """``float | None``, or the allowed values of a ``Literal`` field (``auto|cpu|cuda``)."""
    import types
    import typing

    if typing.get_origin(annotation) is typing.Literal:
        return "|".join(str(value) for value in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " | ".join(_type_label(arg) for arg in typing.get_args(annotation))
    return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def cmd_train(args: argparse.Namespace) -> int:
    from . import registry
    from .api import train
    from .data.corpora import load_corpus
    from .options import parse_pairs
    from .outpaths import check_model_out

    check_model_out(args.out, overwrite=args.overwrite)  # before any time is spent
    options: dict[str, Any] = parse_pairs(args.option)
    known = registry.get(args.plugin).Options.model_fields
    for key in ("level", "max_seconds", "device"):
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
    return {name: getattr(args, name) for name, _, _ in SAMPLING_FLAGS.values() if getattr(args, name) is not None}


def _load(args: argparse.Namespace) -> Any:
    """Load ``args.model``; warn when ``--device`` was given for a model that has no device."""
    from .api import load

    model = load(args.model, plugin=args.plugin, device=args.device or "auto")
    if args.device is not None and "device" not in type(model).Options.model_fields:
        warnings.warn(f"--device {args.device} does not apply to {model.name} models (they run without torch); "
                      "ignored", stacklevel=1)
    return model


def read_text_file(path: str, flag: str = "--prompt-file") -> str:
    """A UTF-8 file named by ``flag``, such as a prompt longer than the OS allows one argument (128 KB)."""
    from .data.corpora import decode
    from .errors import CorpusError

    try:
        return decode(Path(path).read_bytes(), f"{flag} {path}")
    except OSError as exc:
        raise CorpusError(f"{flag} {path}: cannot read it ({exc.strerror or exc})") from None


def cmd_generate(args: argparse.Namespace) -> int:
    if args.stream and args.json:
        raise ValueError("--json and --stream do not go together (--stream prints plain text as it comes); "
                         "drop one")
    if args.stream and args.num_samples != 1:
        raise ValueError("--stream shows one sample; drop --num-samples")
    prompt = read_text_file(args.prompt_file) if args.prompt_file else args.prompt
    model = _load(args)
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
        _print_json({"model": str(args.model), "plugin": model.name, "seed": args.seed, **sampling,
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
    from .data.corpora import load_corpus

    model = _load(args)
    if args.text_file:
        text = read_text_file(args.text_file, "--text-file")
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
    from .errors import TextgenError

    model = _load(args)
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
    import importlib

    from .comparison import main

    for module in ("sklearn", "matplotlib") if args.out is not None else ("sklearn",):
        importlib.import_module(module)  # a missing extra is named now, not after every model is evaluated
    if args.prompt_file:
        args.prompt = [*(args.prompt or []), *(read_text_file(path) for path in args.prompt_file)]
    return main(args)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from .dashboard import main

    return main(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main(args)


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one ``textgen: error:`` line too, pointing at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"textgen: error: {self.prog}: {message} (see `{self.prog} --help`)\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Adds each flag's default to its help, unless the default is nothing (None, False, "")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        nothing = action.default is None or action.default is False or action.default in ("", argparse.SUPPRESS)
        if not action.option_strings or nothing or "%(default)" in text:
            return text
        return f"{text} (default: %(default)s)"


DEVICES = ["auto", "cpu", "cuda", "mps"]


def _command(sub: Any, name: str, summary: str, *examples: str) -> argparse.ArgumentParser:
    """A subcommand whose help ends with example command lines."""
    epilog = "example" + ("s" if len(examples) > 1 else "") + ":\n" + "\n".join(f"  {e}" for e in examples)
    return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                          epilog=epilog, formatter_class=_HelpFormatter)


def _add_model_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model directory, or PLUGIN:SOURCE such as gpt2:distilgpt2")
    p.add_argument("--plugin", help="plugin for a source that is not a textgen model directory")
    p.add_argument("--device", choices=DEVICES, help="where to run a neural model (default: auto, the best found)")


def _add_json(p: argparse.ArgumentParser, what: str = "the result") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _add_train(sub: Any) -> None:
    p = _command(sub, "train", "train a generator on a corpus and save it",
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
    p.add_argument("--max-seconds", type=float, help="training time budget (neural plugins)")
    p.add_argument("--device", choices=DEVICES, help="where to train (neural plugins; default: auto)")
    p.add_argument("--seed", type=int, default=0, help="random seed (whole number >= 0)")
    p.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                   help="plugin option, repeatable; see `textgen options PLUGIN`")
    _add_json(p)
    p.set_defaults(func=cmd_train)


def _add_generate(sub: Any) -> None:
    p = _command(sub, "generate", "generate text from a model",
                 'textgen generate models/markov-char --prompt "ROMEO:" --temperature 0.8 --num-samples 3')
    _add_model_source(p)
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
    _add_json(p, "the samples and timings")
    p.set_defaults(func=cmd_generate)


def _add_score(sub: Any) -> None:
    p = _command(sub, "score", "bits per character of a text under a model",
                 "textgen score models/markov-char --corpus tinyshakespeare --json")
    _add_model_source(p)
    p.add_argument("--text-file", help="score the text of this UTF-8 file")
    p.add_argument("--corpus", help="score this corpus's validation split")
    _add_json(p)
    p.set_defaults(func=cmd_score)


def _add_compare(sub: Any) -> None:
    p = _command(sub, "compare", "evaluate models on the same held-out text and prompts",
                 'textgen compare models/* --corpus tinyshakespeare --prompt "ROMEO:" --out report')
    p.add_argument("models", nargs="+", help="model directories or PLUGIN:SOURCE names")
    p.add_argument("--corpus", required=True, help="corpus whose validation split is scored")
    p.add_argument("--prompt", action="append", help="prompt (repeatable)")
    p.add_argument("--prompt-file", action="append", metavar="FILE",
                   help="one prompt: the text of this UTF-8 file (repeatable)")
    p.add_argument("--prompts-file", help="file of prompts, one a line")
    p.add_argument("--samples", type=int, default=5, help="samples per model, prompt and temperature")
    p.add_argument("--temperatures", default="0.3,0.8,1.0,1.3,1.8", help="sampling temperatures, comma-separated")
    p.add_argument("--max-chars", type=int, default=200,
                   help="sample length in characters, the same for word and character models (0: no cap)")
    p.add_argument("--max-tokens", type=int, help="token cap per sample (default: as many as --max-chars)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="a MODEL folder of seed-N model folders is one model trained K times: its K lowest seeds, "
                        "reported as mean ± 95%% interval; passes claimed only where intervals separate (default 1)")
    p.add_argument("--max-score-chars", type=int, help="score only this many validation characters (default: all)")
    p.add_argument("--device", default="auto", choices=DEVICES, help="where to run the neural models")
    p.add_argument("--out", help="folder for report.json, report.md and the PNG plots (a new or empty folder, "
                                 "or an earlier report, which is replaced)")
    _add_json(p, "the JSON report instead of the table")
    p.set_defaults(func=cmd_compare)


def _add_demo(sub: Any) -> None:
    p = _command(sub, "demo", "train every installed family on Tiny Shakespeare and compare them",
                 "textgen demo --max-seconds 30 --out demo-output")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="models/ and report/ go here")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--corpus", default="tinyshakespeare", help="corpus to train and score on")
    p.add_argument("--max-seconds", type=float, default=70.0, help="training budget of each neural model")
    p.add_argument("--max-flops", type=float, help="training budget of each neural model in FLOPs instead: "
                                                   "the same models on any machine")
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="train each neural model K times (seeds SEED .. SEED+K-1, in OUT/seeds/NAME/seed-N) "
                        "and report intervals (default 1)")
    p.add_argument("--prompt", default="ROMEO:", help="prompt the models continue")
    p.add_argument("--samples", type=int, default=5, help="samples per model and temperature")
    p.add_argument("--max-tokens", type=int, default=200, help="new tokens per sample")
    p.add_argument("--temperatures", default="0.3,0.8,1.0,1.3,1.8", help="sampling temperatures, comma-separated")
    p.add_argument("--max-score-chars", type=int, default=0,
                   help="score only this many validation characters, a slice named in the report (0: all)")
    p.add_argument("--no-pretrained", action="store_true", help="leave out a locally cached pretrained GPT-2")
    p.add_argument("-o", "--option", action="append", metavar="PLUGIN.KEY=VALUE",
                   help="training option for one family, e.g. lstm.hidden_size=128")
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="textgen", description="Train, run and compare text generators.",
                                     epilog="`textgen COMMAND --help` describes each command, with an example.",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of any error (also TEXTGEN_DEBUG=1), for plugin authors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(sub, "plugins", "list installed generator plugins", "textgen plugins --json")
    _add_json(p, "the list")
    p.set_defaults(func=cmd_plugins)

    p = _command(sub, "options", "show sampling options and a plugin's training options", "textgen options lstm")
    p.add_argument("plugin", nargs="?", help="also show this plugin's training options")
    _add_json(p, "the options")
    p.set_defaults(func=cmd_options)

    _add_train(sub)
    _add_generate(sub)
    _add_score(sub)
    _add_compare(sub)

    p = _command(sub, "export", "write a model in another format (markovify JSON) or the current one",
                 "textgen export models/markov-word chain.json --format markovify")
    _add_model_source(p)
    p.add_argument("out", type=Path, help="file (markovify) or model directory (textgen) to write")
    p.add_argument("--format", required=True, choices=["markovify", "textgen"],
                   help="markovify: markovify.Text.to_json(), for markov models; textgen: a model directory "
                        "in the current format (converts an old one)")
    p.set_defaults(func=cmd_export)

    p = _command(sub, "dashboard", "open the Streamlit dashboard", "textgen dashboard --models models")
    p.add_argument("--models", type=Path, help="folder searched for model directories")
    p.add_argument("--port", type=int, default=8501, help="local port to serve on")
    p.set_defaults(func=cmd_dashboard)

    _add_demo(sub)
    for p in sub.choices.values():  # `textgen generate M --debug` works as well as `textgen --debug generate M`
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of any error (also TEXTGEN_DEBUG=1), for plugin authors")
    return parser


def _one_line(exc: Exception, command: str) -> str | None:
    """The error line for a user's mistake, a plugin's bug or a missing extra; None for a bug of the core."""
    from .errors import TextgenError
    from .registry import plugin_fault

    if isinstance(exc, TextgenError):
        return str(exc)
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] in EXTRAS:
        package, extra = EXTRAS[(exc.name or "").partition(".")[0]]
        return f"`textgen {command}` needs {package}, which is not installed: pip install 'textgen-toolkit[{extra}]'"
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
        message = None if debug else _one_line(exc, args.command)
        if message is None:
            raise
        print(f"textgen: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("textgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
