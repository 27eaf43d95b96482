"""Tokens for GPT-2 models: characters, or byte-level BPE, stored as a standard HF ``tokenizer.json``.

Every vocabulary has one special token, ``<|endoftext|>``, used as BOS: position 0 of
every window the model sees, in training, generation and scoring alike, so an empty
prompt and the first character of a text have a context too. The character vocabulary
is the core's `CharTokenizer` (``<unk>`` first, with its exact unknown costs) plus BOS;
it is written as a word-level ``tokenizers`` model over single characters, so plain
transformers loads it with ``AutoTokenizer``. Byte-level BPE has no unknowns at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.data.tokenize import UNK, CharTokenizer

BOS = "<|endoftext|>"


class CharVocab(CharTokenizer):
    """The core's `CharTokenizer` (one token per character of the training split, ``<unk>`` = 0, its
    exact unknown costs), plus BOS, last."""

    def __init__(self, vocab: Sequence[str]) -> None:
        super().__init__(vocab)
        self.bos = len(self.vocab)
        self.size = self.bos + 1
        self.special_ids = (0, self.bos)  # never sampled

    @classmethod
    def from_hf(cls, backend: Any) -> CharVocab:
        """Rebuild from the word-level ``tokenizers.Tokenizer`` that `hf_tokenizer` wrote."""
        vocab = sorted(backend.get_vocab(with_added_tokens=True).items(), key=lambda item: item[1])
        pieces = [piece for piece, _ in vocab]
        if [i for _, i in vocab] != list(range(len(vocab))) or pieces[-1:] != [BOS] or pieces[:1] != [UNK]:
            raise ValueError("tokenizer.json is not a textgen character vocabulary (<unk> first, BOS last)")
        return cls(pieces[:-1])

    def hf_tokenizer(self) -> Any:
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

        vocab = {piece: i for i, piece in enumerate(self.vocab)}
        backend = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
        backend.add_special_tokens([BOS])
        backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        backend.decoder = decoders.Fuse()
        return backend


class HFVocab:
    """A ``tokenizers.Tokenizer``: byte-level BPE trained here, or a pretrained checkpoint's own."""

    level = "bpe"

    def __init__(self, backend: Any, bos: int) -> None:
        self.backend, self.bos = backend, bos
        self.size = backend.get_vocab_size(with_added_tokens=True)
        added = backend.get_added_tokens_decoder()
        self.special_ids = tuple(sorted({i for i, token in added.items() if token.special} | {bos}))

    @classmethod
    def fit(cls, text: str, vocab_size: int) -> HFVocab:
        """Byte-level BPE (GPT-2's scheme) trained on ``text``."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        backend = Tokenizer(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS], show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        lines = text.splitlines(keepends=True)
        backend.train_from_iterator(("".join(lines[i : i + 1000]) for i in range(0, len(lines), 1000)), trainer)
        return cls(backend, backend.token_to_id(BOS))

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=False)

    def unknowns(self, text: str) -> list[str]:
        return []

    def unknown_nats(self, text: str) -> float:
        return 0.0

    def unknown_spans(self, text: str) -> list[tuple[int, int, float]]:
        return []

    def token_ends(self, text: str) -> np.ndarray:
        """Each token's end in characters (the tokenizer's offsets): a character split over two
        byte-level tokens ends both, and the second token's piece is empty."""
        offsets = self.backend.encode(text, add_special_tokens=False).offsets
        return np.array([end for _, end in offsets], dtype=np.int64)

    def hf_tokenizer(self) -> Any:
        return self.backend


def save(vocab: CharVocab | HFVocab, folder: Path) -> None:
    """``tokenizer.json`` + ``tokenizer_config.json``, as ``PreTrainedTokenizerFast`` reads them."""
    from transformers import PreTrainedTokenizerFast

    backend = vocab.hf_tokenizer()
    bos = backend.id_to_token(vocab.bos)
    special = {"bos_token": bos, "eos_token": bos}
    if isinstance(vocab, CharVocab):
        special["unk_token"] = UNK
    PreTrainedTokenizerFast(tokenizer_object=backend, **special).save_pretrained(str(folder))
