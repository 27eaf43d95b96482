# THE CANARY: NEVER EDIT THIS PLUGIN, NOT EVEN WHEN THE PLUGIN API MOVES.
#
# It was written against textgen-toolkit's FIRST release (docs/plugins.md at commit a54ac3e),
# as a third-party author would have written it, and it stays exactly so: the old import
# paths, the old hooks (nats, reject_segment, segment_end_ids), hand-written forwarding to the
# tokenizer. If it breaks, the toolkit broke a promise to plugin authors: fix the toolkit
# (an alias, an adapter), never this file. See docs/plugins.md, "The plugin API".
"""A character n-gram model with backoff smoothing: a third-party textgen plugin.

The next character after a context of ``order - 1`` characters is drawn from the counts
seen after that context, smoothed towards the same estimate for the context one character
shorter, down to a uniform distribution (a hierarchical additive, or Dirichlet, prior).
Optionally it redraws a generated line that copies a whole line of the training text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from toolkit import Generator, Options
from toolkit.tokenize import CharTokenizer


class NgramOptions(Options):
    order: int = Field(3, ge=1, le=8, description="Characters per n-gram: the next one and order-1 before it.")
    smoothing: float = Field(1.0, gt=0, description="Pseudo-count given to the shorter context's estimate.")
    novel_lines: bool = Field(True, description="Redraw a generated line that copies a whole training line.")


class NgramGenerator(Generator):
    name = "ngram-canary"
    Options = NgramOptions
    suppress_ids = (0,)  # never generate <unk>

    def __init__(self, tokenizer: CharTokenizer, contexts: list[np.ndarray], counts: list[np.ndarray],
                 smoothing: float, lines: list[str] | None) -> None:
        super().__init__()
        self.tokenizer, self.contexts, self.counts, self.smoothing = tokenizer, contexts, counts, smoothing
        self.order = len(counts)
        self.start = len(tokenizer)  # the id that pads a context before the start of the text
        self.rows = [{tuple(int(i) for i in c): r for r, c in enumerate(table)} for table in contexts]
        self.lines = None if lines is None else frozenset(lines)
        newline = tokenizer.encode("\n")
        self.segment_end_ids = frozenset(newline) if lines is not None and newline != [0] else frozenset()
        self.cache: dict[tuple[int, ...], np.ndarray] = {}

    @classmethod
    def train(cls, corpus, options: NgramOptions, *, seed: int, out: Path | None = None) -> NgramGenerator:
        tokenizer = CharTokenizer.fit(corpus.train)
        ids = np.array(tokenizer.encode(corpus.train), dtype=np.int64)
        padded = np.r_[np.full(options.order - 1, len(tokenizer)), ids]
        contexts, counts = [], []
        for k in range(options.order):  # context length k: the k characters before each one
            if k:
                window = np.stack([padded[options.order - 1 - k + j : len(padded) - k + j] for j in range(k)], axis=1)
                table, row = np.unique(window, axis=0, return_inverse=True)
            else:
                table, row = np.zeros((1, 0), dtype=np.int64), np.zeros(len(ids), dtype=np.int64)
            count = np.zeros((len(table), len(tokenizer)))
            np.add.at(count, (row.reshape(-1), ids), 1)
            contexts.append(table.astype(np.int64))
            counts.append(count)
        lines = sorted(set(corpus.train.splitlines())) if options.novel_lines else None
        return cls(tokenizer, contexts, counts, options.smoothing, lines)

    def save_files(self, folder: Path) -> dict[str, Any]:
        for k in range(self.order):
            np.save(folder / f"contexts-{k}.npy", self.contexts[k], allow_pickle=False)
            np.save(folder / f"counts-{k}.npy", self.counts[k], allow_pickle=False)
        (folder / "tokenizer.json").write_text(json.dumps(self.tokenizer.to_json()))
        if self.lines is not None:
            (folder / "lines.json").write_text(json.dumps(sorted(self.lines)))
        return {"order": self.order, "smoothing": self.smoothing, "novel_lines": self.lines is not None}

    @classmethod
    def load_files(cls, folder: Path, manifest: dict[str, Any], *, device: str = "auto") -> NgramGenerator:
        tokenizer = CharTokenizer.from_dict(json.loads((folder / "tokenizer.json").read_text()))
        contexts, counts = [], []
        for k in range(int(manifest["order"])):
            context = np.load(folder / f"contexts-{k}.npy", allow_pickle=False)
            count = np.load(folder / f"counts-{k}.npy", allow_pickle=False)
            if context.ndim != 2 or context.shape[1] != k or count.shape != (len(context), len(tokenizer)):
                raise ValueError(f"n-gram table {k} has shapes {context.shape} and {count.shape}")
            contexts.append(context)
            counts.append(count)
        lines = json.loads((folder / "lines.json").read_text()) if manifest["novel_lines"] else None
        if lines is not None and not all(isinstance(line, str) for line in lines):
            raise ValueError("lines.json must hold a list of strings")
        return cls(tokenizer, contexts, counts, float(manifest["smoothing"]), lines)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def decode(self, ids) -> str:
        return self.tokenizer.decode(ids)

    def unknowns(self, text: str) -> list[str]:
        return self.tokenizer.unknowns(text)

    def unknown_nats(self, text: str) -> float:
        return self.tokenizer.unknown_nats(text)

    def log_probs(self, context: tuple[int, ...]) -> np.ndarray:
        """Log-probabilities of the next character after ``context`` (its last order-1 ids)."""
        if context not in self.cache:
            probs = np.full(len(self.tokenizer), 1.0 / len(self.tokenizer))
            for k in range(self.order):
                row = self.rows[k].get(context[len(context) - k :] if k else ())
                seen = self.counts[k][row] if row is not None else np.zeros(len(probs))
                probs = (seen + self.smoothing * probs) / (seen.sum() + self.smoothing)
            self.cache[context] = np.log(probs)
        return self.cache[context]

    def context(self, history) -> tuple[int, ...]:
        """The last order-1 ids of ``history``, padded with the start id."""
        keep = self.order - 1
        if not keep:
            return ()
        padded = [self.start] * keep + [int(i) for i in history[-keep:]]
        return tuple(padded[-keep:])

    def begin(self, prompt: list[int], n: int):
        return self.begin_rows([list(prompt)] * n)

    def begin_rows(self, histories: list[list[int]]):
        state = [self.context(h) for h in histories]
        return state, np.stack([self.log_probs(c) for c in state])

    def advance(self, state, tokens: np.ndarray):
        state = [self.context([*c, t]) for c, t in zip(state, tokens, strict=True)]
        return state, np.stack([self.log_probs(c) for c in state])

    def reject_segment(self, tokens: list[int]) -> bool:
        """A finished line that copies a training line is drawn again (up to max_segment_tries times)."""
        line = self.decode(tokens).strip("\n")
        return self.lines is not None and len(line) > 3 and line in self.lines

    def nats(self, text: str) -> tuple[float, int]:
        ids = self.encode(text)
        history: list[int] = []
        total = 0.0
        for i in ids:
            total -= float(self.log_probs(self.context(history))[i])
            history.append(i)
        return total + self.unknown_nats(text), len(ids)

    def info(self) -> dict[str, Any]:
        return {"parameters": int(sum(c.size for c in self.counts)), "contexts": int(sum(map(len, self.contexts)))}
