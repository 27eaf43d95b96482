"""The Python API: `train` a plugin on a corpus, `load` a model from a directory or source."""

from __future__ import annotations

import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, modeldir, registry
from ._compat import moved_names
from .data.corpora import Corpus, load_corpus
from .data.heldout import SLICE_CHARS, slice_bpc
from .errors import ModelDirError, PluginError
from .generator import Generator, UnknownTokensWarning
from .machine import cpu_name
from .options import check_seed, parse_options
from .outpaths import check_model_out


def train(plugin: str, corpus: str | Path | Corpus, *, out: str | Path | None = None, seed: int = 0,
          overwrite: bool = False, fresh: bool = False, **options: Any) -> Generator:
    """Train ``plugin`` on ``corpus`` (a name, a path or a `Corpus`), score it, save it to ``out``.

    ``options`` are the plugin's typed options (``textgen options PLUGIN`` lists them); a
    neural plugin's budget is ``max_seconds`` (this machine's time), or ``max_flops``,
    ``max_tokens`` or ``max_steps``, which give the same model on any machine for the same
    seed and thread count. ``model.training["compute"]`` records the FLOPs counted.
    The held-out bits per character is in ``model.training["val_bpc"]``: the whole
    validation split scored by `Generator.score`, as ``textgen score --corpus`` does.
    ``out`` must be new, empty, an interrupted run's folder, or (with ``overwrite``) a
    model to replace; that is checked before training starts. A run into an ``out``
    holding ``train-state`` resumes it (and says so) unless ``fresh``.
    """
    check_seed(seed)
    cls = registry.get(plugin)
    opts = parse_options(cls.Options, options, f"{plugin} option")
    if out is not None:
        check_model_out(out, overwrite=overwrite, flag="out")
    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    if fresh and out is not None:
        shutil.rmtree(Path(out) / modeldir.TRAIN_STATE, ignore_errors=True)
    started = time.perf_counter()
    model = cls.train(corpus, opts, seed=seed, out=Path(out) if out is not None else None)
    seconds = time.perf_counter() - started
    with warnings.catch_warnings():  # held-out words a word model never saw are expected, not news
        warnings.simplefilter("ignore", UnknownTokensWarning)
        val = model.score(corpus.val)
        if "curve" not in model.training:
            _build_point(model, corpus, seconds)
    model.training = {**model.training, "corpus": corpus_key(corpus), "toolkit_version": __version__,
                      "options": opts.model_dump(mode="json"), "seed": seed, "train_seconds": seconds,
                      "val_bpc": val.bpc, "val_chars": val.chars}
    model.training.setdefault("resumed_from", None)
    _warn_if_absurd(model, corpus.val, val.bpc)
    if out is not None and os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 writes
        model.save(out)
    return model


def corpus_key(corpus: Corpus) -> dict[str, Any]:
    """``training["corpus"]``: with the toolkit version, what decides whether a recorded val_bpc can be reused."""
    split = {"how": "last fraction held out", "val_fraction": corpus.val_fraction,
             "train_chars": len(corpus.train), "val_chars": len(corpus.val)}
    return {**corpus.describe(), "split": split}


def _build_point(model: Generator, corpus: Corpus, seconds: float) -> None:
    """A plugin that trains in one go (a Markov chain) records its build as the curve's one point.

    The point sits at the build's counting cost (`Generator.counting_cost`), ``kind: "counting"``
    in ``training["compute"]``: operations of a one-pass count, not gradient-training FLOPs.
    """
    estimate, described = slice_bpc(model, corpus.val, SLICE_CHARS)
    tokens = len(model.encode(corpus.train))
    per_token, formula = model.counting_cost()
    model.training["curve"] = [{"seconds": seconds, "tokens": tokens, "chars": len(corpus.train),
                                "flops": tokens * per_token, "val_bpc_estimate": estimate}]
    model.training["curve_slice"] = described
    model.training["compute"] = {
        "kind": "counting", "flops_per_token": per_token, "formula": formula, "flops": tokens * per_token,
        "flops_per_second": tokens * per_token / seconds if seconds > 0 else 0.0,
        "tokens_per_second": tokens / seconds if seconds > 0 else 0.0,
        "budget": {"unit": "tokens", "value": tokens},
        "machine": {"cpu": cpu_name(), "threads": 1, "device": "cpu"}}


def _warn_if_absurd(model: Generator, text: str, bpc: float) -> None:
    """Worse than a uniform guess over the vocabulary means training broke: keep the model, but say so loudly.

    The uniform guess is charged for unknown characters as `score` charges the model,
    so a held-out text with characters training never saw does not trip the warning. Only
    for gradient training (the shared loop's ``fit`` record): it starts near uniform, so
    ending above it means it broke, while a count model can lose to uniform on word text.
    """
    if "fit" not in model.training:
        return
    info = model.info()
    vocab = info.get("vocab_size", info.get("vocab"))
    if not isinstance(vocab, int) or vocab < 2:
        return
    uniform = (len(model.encode(text)) * math.log(vocab) + model.unknown_nats(text)) / len(text) / math.log(2)
    if bpc > uniform:
        message = (f"held-out {bpc:.4g} bits per character is worse than a uniform guess over the {vocab} tokens "
                   f"({uniform:.3f}): this training went wrong (try a lower lr or more warmup_steps); "
                   "the model is saved anyway")
        model.training["warning"] = message
        warnings.warn(message, stacklevel=3)


@dataclass(frozen=True)
class Resolved:
    """A model source and the plugin class that loads it, found before anything is loaded."""

    plugin: Any  #: the generator class
    path: Path
    #: The model directory's manifest: load it with ``plugin.load_files``. None: ``plugin.from_pretrained(source)``.
    manifest: dict[str, Any] | None
    source: str


def resolve(source: str | Path, plugin: str | None = None) -> Resolved:
    """Which plugin loads ``source`` (see `load`), or a `ModelDirError` naming it; nothing is loaded yet.

    Compare resolves every source first, so a typo in the last one is found before the
    first model is measured. ``plugin`` restricts the choice.
    """
    path = Path(source).expanduser()
    if plugin is None and not path.exists() and ":" in str(source):
        prefix, _, rest = str(source).partition(":")
        if prefix in registry.plugins():
            plugin, source, path = prefix, rest, Path(rest).expanduser()
    if modeldir.is_model_dir(path):
        return _model_dir(path, plugin)
    if path.is_dir() or path.is_file():  # a foreign model: a HF checkpoint folder, a markovify JSON file
        return Resolved(_recognizer(path, plugin), path, None, str(path))
    if plugin is not None:
        return Resolved(registry.get(plugin), path, None, str(source))
    raise ModelDirError(f"no model directory {str(source)!r}; pass a directory written by `textgen train`, "
                        "or PLUGIN:SOURCE for a pretrained source")


def _model_dir(path: Path, plugin: str | None) -> Resolved:
    """The plugin a model directory's manifest names (the distribution it names, when two claim the name)."""
    manifest = modeldir.read_manifest(path)
    name = manifest["plugin"]
    if plugin is not None and plugin != name:
        raise ModelDirError(f"{path} is a {name!r} model, not {plugin!r}")
    try:
        cls = registry.get(name, manifest.get("distribution"))
    except PluginError as exc:
        raise ModelDirError(f"{path} needs plugin {name!r} ({manifest.get('distribution')} "
                            f"{manifest.get('plugin_version')}): {exc}") from None
    return Resolved(cls, path, manifest, str(path))


def _recognizer(path: Path, plugin: str | None) -> Any:
    """The first installed plugin (or ``plugin``) that recognises a folder or file without a manifest."""
    for name in [plugin] if plugin else list(registry.plugins()):
        try:
            cls = registry.get(name)
        except PluginError:
            continue
        if cls.recognizes(path):
            return cls
    raise ModelDirError(f"{path} is not a textgen model directory (no {modeldir.MANIFEST}) "
                        "and no installed plugin recognises it")


def load(source: str | Path, *, plugin: str | None = None, device: str = "auto") -> Generator:
    """Load a model directory (its manifest names the plugin) or a plugin's pretrained source.

    ``source`` may be a textgen model directory, a directory a plugin recognises (a
    Hugging Face checkpoint), or ``PLUGIN:SOURCE`` such as ``gpt2:distilgpt2``
    (`resolve` decides which).
    """
    found = resolve(source, plugin)
    if found.manifest is None:
        return found.plugin.from_pretrained(found.source, device=device)
    try:
        model = found.plugin.load_files(found.path, found.manifest, device=device)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelDirError(f"{found.path}: cannot load {found.manifest['plugin']!r} model "
                            f"({type(exc).__name__}: {exc})") from None
    model.training = found.manifest.get("training", {})
    return model


#: Moved to `toolkit.modeldir`; the old names here still work, and warn.
__getattr__ = moved_names(__name__, {name: f"toolkit.modeldir:{name}" for name in ("read_manifest", "TRAIN_STATE")})
