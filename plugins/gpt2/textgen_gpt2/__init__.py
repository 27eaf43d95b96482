"""The GPT-2 generator: Hugging Face causal LMs, pretrained, fine-tuned or trained from scratch.

Three sources, one model class (``transformers``' own, so every directory this plugin
writes is a standard HF checkpoint that plain transformers loads too):

* pretrained: a hub name (``gpt2``, ``distilgpt2``) or a checkpoint directory,
  offline-first (`from_pretrained`, `recognizes`);
* from scratch: ``GPT2Config`` presets ``baby`` and ``small`` on a corpus, with a
  character or byte-level BPE vocabulary trained on its training split;
* fine-tuning: ``source=`` a pretrained model, trained further on a corpus.

Training uses the shared loop in ``toolkit.neural``; generation gives the core's
sampling layer numpy logits from a key/value cache that slides past the context
length; scoring uses a strided sliding window. This module imports neither torch nor
transformers, so ``textgen plugins`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, field_validator

from toolkit import Generator, Tokenized
from toolkit.data.corpora import Corpus
from toolkit.generator import DemoRecipe
from toolkit.neural.sizing import Measure, Sizing, apply
from toolkit.options import TrainingOptions, auto

from .presets import PRESETS, describe
from .sizing import TABLE

if TYPE_CHECKING:
    from .decoding import Window
    from .vocab import CharVocab, HFVocab

__all__ = ["GPT2Generator", "GPT2Options"]

class GPT2Options(TrainingOptions):
    """Model shape and training settings. Sizes left unset follow the budget, corpus and device
    (`toolkit.neural.sizing`, this plugin's table in `.sizing`); a preset, or a pretrained source, names the
    shape instead."""

    level: Literal["char", "bpe"] = Field("char", description="Tokens: characters, or byte-level BPE trained on "
                                                              "the training split (from scratch only).")
    preset: Literal["baby", "small"] | None = Field(None, description="Fixed shape instead of the sizing rule: "
                                                                      f"{describe('baby')}; {describe('small')}.")
    source: str | None = Field(None, description="Pretrained model to fine-tune (hub name or directory) "
                                                 "instead of training from scratch; level and preset are unused.")
    layers: int | None = auto("Number of layers (overrides a preset's)", ge=1)
    heads: int | None = auto("Attention heads (overrides a preset's)", ge=1)
    width: int | None = auto("Embedding width (overrides a preset's)", ge=1)
    context: int | None = auto("Context length in tokens (overrides a preset's)", ge=2)
    dropout: float | None = auto("Dropout on embeddings, attention and residuals (0 with a preset)", ge=0, lt=1)
    vocab_size: int = Field(2048, ge=260, description="BPE level: vocabulary size (256 bytes + merges + BOS).")
    lr: float | None = auto("Peak AdamW learning rate (3e-3 baby, 1e-3 small, 1e-4 fine-tuning)", gt=0)
    warmup_steps: int = Field(100, ge=0, description="Steps of linear learning-rate warm-up.")
    weight_decay: float = Field(0.1, ge=0, description="AdamW weight decay on weight matrices.")
    batch_size: int | None = auto("Random context windows per step (per process; 12 with a preset)", ge=1)
    seq_len: int | None = Field(None, ge=2, description="Training window in tokens (default: the context length).")
    eval_every: int | None = auto("Steps between validations and checkpoints", how="20 validations spread over the "
                                  "budget, by the clock under max_seconds", ge=1)
    eval_tokens: int = Field(16384, ge=2, description="Validation tokens scored at each validation.")

    @field_validator("level", mode="before")
    @classmethod
    def _no_words(cls, value: Any) -> Any:
        if value == "word":
            raise ValueError("GPT-2 has no word level; use level=char or level=bpe (byte-level BPE)")
        return value

    def shape(self) -> dict[str, int]:
        """The shape named as ``GPT2Config`` names it: the sizes set, the preset's (baby's by default) for the rest."""
        preset = PRESETS[self.preset or "baby"]
        size = {k: preset[k] if getattr(self, k) is None else getattr(self, k) for k in preset}
        return {"n_layer": size["layers"], "n_head": size["heads"], "n_embd": size["width"],
                "n_positions": size["context"]}

    def fixed(self) -> GPT2Options:
        """A preset or a pretrained source fixes the shape: its classic settings fill what is unset."""
        from .presets import LEARNING_RATES

        lr = 1e-4 if self.source else LEARNING_RATES[self.preset or "baby"]
        defaults = {"lr": lr, "dropout": 0.0, "batch_size": 12}
        return self.model_copy(update={k: v for k, v in defaults.items() if getattr(self, k) is None})

    def sized(self, corpus_chars: int, device: str, measure: Measure | None = None) -> tuple[GPT2Options, Sizing]:
        """These options with every unset size filled, by the sizing rule unless a preset or source is named
        (``measure``: how fast a row trains here, for a seconds budget)."""
        skip = self.preset is not None or self.source is not None
        why = f"preset={self.preset} names the shape" if self.preset else f"fine-tuning {self.source}"
        options, sizing = apply(TABLE, self, corpus_chars=corpus_chars, device=device, skip=skip, why_skipped=why,
                                measure=measure)
        return options.fixed() if skip else options, sizing


class GPT2Generator(Tokenized, Generator):
    name = "gpt2"
    Options = GPT2Options
    demo_order = 30  # after the Markov chains and the LSTMs

    def __init__(self, model: Any, vocab: CharVocab | HFVocab, source: str | None = None,
                 threads: int | None = None) -> None:
        super().__init__()
        self.model, self.tokenizer, self.source, self.threads = model.eval(), vocab, source, threads
        self.suppress_ids = vocab.special_ids
        self.parameters = sum(p.numel() for p in model.parameters())
        self.device = next(model.parameters()).device

    # -- sources ---------------------------------------------------------------------------

    @classmethod
    def train(cls, corpus: Corpus, options: GPT2Options, *, seed: int, out: Path | None = None) -> GPT2Generator:
        from . import training

        model, vocab, result, sizing = training.train(corpus, options, seed, out)
        gen = cls(model, vocab, source=options.source, threads=options.cpu_threads)
        gen.training = {**result.manifest(), "sizing": sizing.to_json()}
        return gen

    @classmethod
    def from_pretrained(cls, source: str, *, device: str = "auto") -> GPT2Generator:
        from toolkit.neural import pick_device

        from . import checkpoints

        model, vocab = checkpoints.load(source, pick_device(device))
        return cls(model, vocab, source=source)

    @classmethod
    def demo_recipes(cls) -> tuple[DemoRecipe, ...]:
        """A small character GPT-2 from scratch, sized by the sizing rule for the demo's budget."""
        return (DemoRecipe("gpt2-char", cls.name, {"level": "char"}, timed=True),)

    @classmethod
    def local_pretrained(cls) -> Path | None:
        """``$TEXTGEN_GPT2_PATH``, else a GPT-2 in the Hugging Face cache (`.local`); LookupError if none."""
        from .local import HOW_TO_ADD, find_pretrained

        found = find_pretrained()
        if found is None:
            raise LookupError(HOW_TO_ADD)
        return found

    @classmethod
    def recognizes(cls, path: Path) -> bool:
        from .checkpoints import is_causal_lm_dir

        return is_causal_lm_dir(path)

    def save_files(self, folder: Path) -> dict[str, Any]:
        from . import vocab
        from .checkpoints import quiet

        with quiet():
            self.model.save_pretrained(str(folder))
            vocab.save(self.tokenizer, folder)
        (folder / "generation_config.json").unlink(missing_ok=True)  # sampling settings live in textgen
        return {"level": self.tokenizer.level, "source": self.source, "parameters": self.parameters,
                "cpu_threads": self.threads}

    @classmethod
    def load_files(cls, folder: Path, manifest: dict[str, Any], *, device: str = "auto") -> GPT2Generator:
        from toolkit.neural import pick_device

        from . import checkpoints

        model, vocab = checkpoints.load(folder, pick_device(device), level=manifest.get("level"))
        return cls(model, vocab, source=manifest.get("source"), threads=manifest.get("cpu_threads"))

    # -- text ------------------------------------------------------------------------------

    # -- stepping and scoring ----------------------------------------------------------------

    def _run_here(self) -> None:
        from toolkit.neural import use_cpu_threads

        if self.device.type == "cpu":
            use_cpu_threads(self.threads)

    def begin(self, prompt: list[int], n: int) -> tuple[Window, np.ndarray]:
        import torch

        from .decoding import window

        self._run_here()
        with torch.inference_mode():
            state = window(self.model, self.tokenizer.bos, n)
            return state, state.start(prompt).cpu().numpy()

    def advance(self, state: Window, tokens: np.ndarray) -> tuple[Window, np.ndarray]:
        import torch

        with torch.inference_mode():
            return state, state.step(tokens).cpu().numpy()

    def token_nats(self, ids: list[int]) -> np.ndarray:
        """Strided sliding-window log-loss of each token."""
        import torch

        from toolkit.neural import exact_float32

        from .decoding import sliding_nats

        self._run_here()
        with torch.inference_mode(), exact_float32(self.device):
            return sliding_nats(self.model, self.tokenizer.bos, ids)

    def info(self) -> dict[str, Any]:
        from .decoding import context_length

        config = self.model.config
        return {"parameters": self.parameters, "level": self.tokenizer.level, "vocab_size": self.tokenizer.size,
                "context": context_length(config), "model_type": config.model_type,
                "layers": getattr(config, "num_hidden_layers", None), "source": self.source,
                "device": str(self.device)}
