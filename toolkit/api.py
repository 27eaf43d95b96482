"""The Python API: `train` a plugin on a corpus, `load` a model from a directory or source."""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

from . import registry
from .corpora import Corpus, load_corpus
from .errors import ModelDirError, PluginError
from .generator import MANIFEST, MANIFEST_FORMAT, MANIFEST_VERSION, Generator, UnknownTokensWarning
from .options import check_seed, parse_options
from .outpaths import check_model_out


def train(plugin: str, corpus: str | Path | Corpus, *, out: str | Path | None = None, seed: int = 0,
          overwrite: bool = False, **options: Any) -> Generator:
    """Train ``plugin`` on ``corpus`` (a name, a path or a `Corpus`), score it, save it to ``out``.

    ``options`` are the plugin's typed options (``textgen options PLUGIN`` lists them).
    The held-out bits per character is in ``model.training["val_bpc"]``. ``out`` must be
    new, empty, an interrupted run's folder, or (with ``overwrite``) a model to replace;
    that is checked before training starts.
    """
    check_seed(seed)
    cls = registry.get(plugin)
    opts = parse_options(cls.Options, options, f"{plugin} option")
    if out is not None:
        check_model_out(out, overwrite=overwrite, flag="out")
    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    started = time.perf_counter()
    model = cls.train(corpus, opts, seed=seed, out=Path(out) if out is not None else None)
    seconds = time.perf_counter() - started
    with warnings.catch_warnings():  # held-out words a word model never saw are expected, not news
        warnings.simplefilter("ignore", UnknownTokensWarning)
        val = model.score(corpus.val)
    model.training = {**model.training, "corpus": corpus.describe(), "options": opts.model_dump(mode="json"),
                      "seed": seed, "train_seconds": seconds, "val_bpc": val.bpc, "val_chars": val.chars}
    if out is not None and os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 writes
        model.save(out)
    return model


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a model directory, or a clear error saying why it is not one."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{path}: corrupt {MANIFEST} ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or "plugin" not in manifest:
        raise ModelDirError(f"{path}: {MANIFEST} is not a textgen model manifest")
    version = manifest.get("format_version", 1)  # the first manifests did not write it
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelDirError(f"{path}: corrupt {MANIFEST} (format_version {version!r} is not a whole number >= 1)")
    if version > MANIFEST_VERSION:
        raise ModelDirError(
            f"{path} uses model format version {version}, newer than this toolkit understands "
            f"(up to {MANIFEST_VERSION}); it was written by textgen-toolkit {manifest.get('toolkit_version', '?')}. "
            "Upgrade: pip install --upgrade textgen-toolkit (and the plugin)")
    return manifest


def load(source: str | Path, *, plugin: str | None = None, device: str = "auto") -> Generator:
    """Load a model directory (its manifest names the plugin) or a plugin's pretrained source.

    ``source`` may be a textgen model directory, a directory a plugin recognises (a
    Hugging Face checkpoint), or ``PLUGIN:SOURCE`` such as ``gpt2:distilgpt2``.
    """
    path = Path(source).expanduser()
    if plugin is None and not path.exists() and ":" in str(source):
        prefix, _, rest = str(source).partition(":")
        if prefix in registry.plugins():
            plugin, source, path = prefix, rest, Path(rest).expanduser()
    if path.is_dir() and (path / MANIFEST).exists():
        manifest = read_manifest(path)
        name = manifest["plugin"]
        if plugin is not None and plugin != name:
            raise ModelDirError(f"{path} is a {name!r} model, not {plugin!r}")
        try:
            cls = registry.get(name, manifest.get("distribution"))
        except PluginError as exc:
            raise ModelDirError(f"{path} needs plugin {name!r} ({manifest.get('distribution')} "
                                f"{manifest.get('plugin_version')}): {exc}") from None
        try:
            model = cls.load_files(path, manifest, device=device)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelDirError(f"{path}: cannot load {name!r} model ({type(exc).__name__}: {exc})") from None
        model.training = manifest.get("training", {})
        return model
    candidates = [plugin] if plugin else list(registry.plugins())
    if path.is_dir() or path.is_file():  # a foreign model: a HF checkpoint folder, a markovify JSON file
        for name in candidates:
            try:
                cls = registry.get(name)
            except PluginError:
                continue
            if cls.recognizes(path):
                return cls.from_pretrained(str(path), device=device)
        raise ModelDirError(f"{path} is not a textgen model directory (no {MANIFEST}) "
                            "and no installed plugin recognises it")
    if plugin is not None:
        return registry.get(plugin).from_pretrained(str(source), device=device)
    raise ModelDirError(f"no model directory {str(source)!r}; pass a directory written by `textgen train`, "
                        "or PLUGIN:SOURCE for a pretrained source")
