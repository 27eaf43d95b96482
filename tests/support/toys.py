"""Toy generators for the engine's tests: a few characters, fixed scores, nothing to train."""

from __future__ import annotations

import numpy as np

from toolkit import Generator


class Toy(Generator):
    """One token per character of ``VOCAB``; every step scores ``logits(n)``, uniform unless a test says."""

    VOCAB = "ab"

    @classmethod
    def train(cls, corpus, options, *, seed, out=None):
        return cls()

    def save_files(self, folder):
        return {}

    @classmethod
    def load_files(cls, folder, manifest, *, device="auto"):
        return cls()

    def encode(self, text):
        return [self.VOCAB.index(c) for c in text]

    def decode(self, ids):
        return "".join(self.VOCAB[i] for i in ids)

    def logits(self, n):
        return np.zeros((n, len(self.VOCAB)))

    def begin(self, prompt, n):
        return None, self.logits(n)

    def advance(self, state, tokens):
        return None, self.logits(len(tokens))
