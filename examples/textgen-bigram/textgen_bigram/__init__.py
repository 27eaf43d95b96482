"""An add-k smoothed character bigram model: the smallest real textgen plugin.

It shows the whole interface in one screen: train from a corpus, save and load a
model directory, give dense next-character logits step by step, decode ids to text.
Sampling, streaming, stop strings and scoring come from the core.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from toolkit import Generator, Options, Tokenized
from toolkit.data.tokenize import CharTokenizer


class BigramOptions(Options):
    smoothing: float = Field(0.1, gt=0, description="Add-k smoothing: pseudo-count added to every bigram.")


class BigramGenerator(Tokenized, Generator):
    name = "bigram"
    Options = BigramOptions
    suppress_ids = (0,)  # never generate <unk>

    def __init__(self, tokenizer: CharTokenizer, log_probs: np.ndarray, smoothing: float) -> None:
        super().__init__()
        self.tokenizer, self.log_probs, self.smoothing = tokenizer, log_probs, smoothing

    @classmethod
    def train(cls, corpus, options: BigramOptions, *, seed: int, out: Path | None = None) -> BigramGenerator:
        tokenizer = CharTokenizer.fit(corpus.train)
        ids = np.array(tokenizer.encode(corpus.train))
        size = len(tokenizer)
        counts = np.zeros((size + 1, size))  # the last row is "start of text"
        np.add.at(counts, (np.r_[size, ids[:-1]], ids), 1)
        counts += options.smoothing
        return cls(tokenizer, np.log(counts / counts.sum(axis=1, keepdims=True)), options.smoothing)

    def save_files(self, folder: Path) -> dict[str, Any]:
        np.save(folder / "log_probs.npy", self.log_probs, allow_pickle=False)
        (folder / "tokenizer.json").write_text(json.dumps(self.tokenizer.to_json()))
        return {"smoothing": self.smoothing}

    @classmethod
    def load_files(cls, folder: Path, manifest: dict[str, Any], *, device: str = "auto") -> BigramGenerator:
        tokenizer = CharTokenizer.from_dict(json.loads((folder / "tokenizer.json").read_text()))
        log_probs = np.load(folder / "log_probs.npy", allow_pickle=False)
        if log_probs.shape != (len(tokenizer) + 1, len(tokenizer)):
            raise ValueError(f"log_probs.npy has shape {log_probs.shape}, expected a {len(tokenizer)}-char table")
        return cls(tokenizer, log_probs, manifest["smoothing"])

    def begin(self, prompt: list[int], n: int):
        last = prompt[-1] if prompt else len(self.tokenizer)
        return self.advance(None, np.full(n, last))

    def advance(self, state, tokens: np.ndarray):
        return None, self.log_probs[tokens]

    def token_nats(self, ids: list[int]) -> np.ndarray:
        tokens = np.array(ids, dtype=np.int64)
        previous = np.r_[len(self.tokenizer), tokens[:-1]]
        return -self.log_probs[previous, tokens]

    def info(self) -> dict[str, Any]:
        return {"parameters": int(self.log_probs.size)}
