"""A pretrained GPT-2 already on this machine, for ``textgen demo`` (`GPT2Generator.local_pretrained`).

Only the disk is looked at, never the network: ``$TEXTGEN_GPT2_PATH`` when set, else a snapshot
of one of `PRETRAINED_NAMES` in the Hugging Face cache. Torch-free, so asking is cheap.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Hugging Face hub names of the pretrained GPT-2 looked for in the local cache, in this order.
PRETRAINED_NAMES = ("openai-community/gpt2", "gpt2", "distilbert/distilgpt2", "distilgpt2")
#: How to add one when none is found (the demo prints it).
HOW_TO_ADD = "set TEXTGEN_GPT2_PATH to a GPT-2 folder to add it"


def hf_cache() -> Path:
    """The Hugging Face hub cache folder, as huggingface_hub resolves it (without importing it)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(home) / "hub"


def find_pretrained() -> Path | None:
    """A pretrained GPT-2 on this machine: ``$TEXTGEN_GPT2_PATH``, else a Hugging Face cache snapshot."""
    configured = os.environ.get("TEXTGEN_GPT2_PATH")
    if configured:
        path = Path(configured).expanduser()
        return path if (path / "config.json").is_file() else None
    for name in PRETRAINED_NAMES:
        repo = hf_cache() / f"models--{name.replace('/', '--')}"
        ref = repo / "refs" / "main"
        snapshots = [repo / "snapshots" / ref.read_text().strip()] if ref.is_file() else []
        snapshots += sorted((repo / "snapshots").glob("*"))
        for snapshot in snapshots:
            if (snapshot / "config.json").is_file() and any(snapshot.glob("*.safetensors")):
                return snapshot
    return None
