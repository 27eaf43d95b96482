"""Loading Hugging Face causal-LM checkpoints by hub name or directory, offline-first.

A hub name is resolved from the local HF cache; with ``HF_HUB_OFFLINE`` set nothing is
fetched, and a model that is not there is reported as a `PretrainedNotFound` that says
what to fetch and where to put it, never as a stack trace.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.errors import TextgenError

from .vocab import CharVocab, HFVocab

_TRUE = {"1", "true", "yes", "on"}


class PretrainedNotFound(TextgenError):
    """A pretrained source that is neither a local directory nor in the Hugging Face cache."""


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def is_causal_lm_dir(path: Path) -> bool:
    """A directory with a ``config.json`` naming a causal language model."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(config, dict):
        return False
    architectures = config.get("architectures") or []
    return config.get("model_type") == "gpt2" or any(
        isinstance(a, str) and a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence transformers' info logs and progress bars while it reads or writes a checkpoint."""
    from transformers.utils import logging

    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot be reached, from one short connection (not minutes of retries)."""
    from urllib.parse import urlsplit

    from huggingface_hub.constants import ENDPOINT

    url = urlsplit(ENDPOINT)
    try:
        socket.create_connection((url.hostname or "", url.port or (443 if url.scheme == "https" else 80)),
                                 timeout=3).close()
    except OSError as exc:
        return f"{url.hostname} cannot be reached ({exc.strerror or exc})"
    return None


def _missing(source: str, why: str) -> PretrainedNotFound:
    from huggingface_hub.constants import HF_HUB_CACHE

    return PretrainedNotFound(
        f"pretrained model {source!r} is not in the Hugging Face cache ({HF_HUB_CACHE}) and {why}. "
        f"On a machine with internet run `hf download {source}` (or `huggingface-cli download {source}`) and "
        f"copy its models--{source.replace('/', '--')} folder into {HF_HUB_CACHE}, or save it with "
        f"save_pretrained(DIR) and pass DIR instead of {source!r}")


#: Weight files that unpickle when loaded, so can run code: never loaded, even by accident.
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


class PickleWeights(TextgenError):
    """A checkpoint folder whose weights exist only in a pickle format."""


def refuse_pickle(folder: Path) -> None:
    """Refuse a folder holding pickle weights and no safetensors, with the conversion to run."""
    if any(folder.glob("*.safetensors")):
        return
    pickles = sorted(p.name for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern))
    if pickles:
        raise PickleWeights(
            f"{folder}: only safetensors weights are loaded; convert with python -c \"from transformers import "
            f"AutoModelForCausalLM as M; M.from_pretrained('{folder}', use_safetensors=False).save_pretrained("
            f"'{folder}')\" (this unpickles {pickles[0]}: run it only if you trust where it came from)")


def load(source: str | Path, device: Any, level: str | None = None, native: bool = True
         ) -> tuple[Any, CharVocab | HFVocab]:
    """The model (eval mode, float32 on CPU) and its vocabulary, from a directory or a hub name.

    ``level="char"`` reads the tokenizer as a textgen character vocabulary. A damaged
    directory raises ValueError naming it. A GPT-2 folder with safetensors weights and a
    ``tokenizer.json`` is read without importing transformers (`native`) unless ``native``
    is False (training needs transformers' own module).
    """
    local = Path(source).expanduser().is_dir()
    where = str(Path(source).expanduser()) if local else str(source)
    if native and local:
        from . import native as torch_only

        if torch_only.can_load(Path(where)):
            model = torch_only.load(Path(where), device)
            return model, _vocabulary(where, model, *torch_only.tokenizer(Path(where)), level)
    from huggingface_hub import try_to_load_from_cache

    if local:
        refuse_pickle(Path(where))
    elif not isinstance(try_to_load_from_cache(where, "config.json"), str):
        unreachable = "HF_HUB_OFFLINE is set" if offline() else hub_unreachable()
        if unreachable:  # fail at once, before importing transformers and its half a minute of retries
            raise _missing(where, unreachable)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"local_files_only": offline() and not local, "use_safetensors": True}
    try:
        with quiet():
            model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **kwargs)
            tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
    except Exception as exc:  # transformers raises OSError, ValueError, JSON and safetensors errors alike
        if not local:
            why = "HF_HUB_OFFLINE is set" if offline() else f"it could not be downloaded ({type(exc).__name__})"
            raise _missing(str(source), why) from None
        raise ValueError(f"{where} is not a readable Hugging Face checkpoint ({type(exc).__name__}: {exc})") from None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(f"{where}: the tokenizer has no fast (tokenizers) backend")
    candidates = (model.config.bos_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id)
    bos = next((b for b in candidates if isinstance(b, int)), None)
    return model.to(device).eval(), _vocabulary(where, model, backend, bos, level)


def _vocabulary(where: str, model: Any, backend: Any, bos: int | None, level: str | None) -> CharVocab | HFVocab:
    """The plugin's vocabulary over a ``tokenizers`` backend, checked against the model."""
    if level == "char":
        vocab: CharVocab | HFVocab = CharVocab.from_hf(backend)
    else:
        if bos is None:
            raise ValueError(f"{where}: the model names no BOS or EOS token to start a text from")
        vocab = HFVocab(backend, bos)
    if vocab.size > model.config.vocab_size:
        raise ValueError(f"{where}: the tokenizer has {vocab.size} tokens but the model only {model.config.vocab_size}")
    return vocab
