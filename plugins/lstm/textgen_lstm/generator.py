"""The LSTM generator: train with the shared loop, then sample and score with the state carried.

Every text starts the same way, in generation and scoring alike: the zero state, then
the primer (a line break, as at the start of a paragraph), then the text. Training
restarts a fraction of its windows from the zero state (``start_resets``), so that start
is one the network was trained on rather than a state it never saw.

Generation consumes the primer and prompt once (`begin`) and then feeds one token per
row (`advance`), carrying (h, c), so each new token costs O(1). Scoring runs the whole
text through the network in chunks with the state carried across them (no reset), so
the bits per character it reports is the model's real code length for that text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from toolkit import Generator, Tokenized
from toolkit.data.corpora import Corpus
from toolkit.data.tokenize import CharTokenizer, Tokenizer, WordTokenizer
from toolkit.generator import DemoRecipe
from toolkit.neural.sizing import apply, plateau_hint
from toolkit.options import TrainingOptions, auto

from .sizing import TABLE

if TYPE_CHECKING:
    import torch

    from .model import LSTMModel

WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"
#: What every text (prompt or scored text) is read after: a line break, as at the start of a paragraph.
PRIMER = "\n"
#: Tokens per forward pass when scoring a long text.
SCORE_CHUNK = 4096


class LSTMOptions(TrainingOptions):
    """Model sizes and training settings. Sizes left unset follow the budget, corpus and device
    (`toolkit.neural.sizing`, this plugin's table in `.sizing`); at 85 s on a 2-core CPU that is 384 hidden
    units, one layer, no dropout."""

    level: Literal["char", "word"] = Field("char", description="Tokens: characters, or words and punctuation.")
    max_vocab: int = Field(10000, ge=2, description="Word level: vocabulary size cap (rarer words -> <unk>).")
    embedding_size: int | None = auto("Size of the token embedding", ge=1)
    hidden_size: int | None = auto("LSTM hidden units per layer", ge=1)
    layers: int | None = auto("Stacked LSTM layers", ge=1, le=8)
    dropout: float | None = auto("Dropout on embeddings, between layers and before the head", ge=0, lt=1)
    tie_weights: bool = Field(False, description="Share embedding and output weights (the embedding takes "
                                                 "hidden_size).")
    lr: float | None = auto("Peak AdamW learning rate (after warm-up, then cosine decay)", gt=0)
    warmup_steps: int = Field(50, ge=0, description="Steps of linear learning-rate warm-up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay on weight matrices.")
    batch_size: int | None = auto("Parallel text streams per step (per process)", ge=1)
    seq_len: int | None = auto("Truncated back-propagation length in tokens", ge=1)
    eval_every: int | None = auto("Steps between validations and checkpoints", how="20 validations spread over the "
                                  "budget, by the clock under max_seconds", ge=1)
    eval_tokens: int = Field(32768, ge=1, description="Validation tokens scored at each validation.")
    start_resets: float = Field(0.1, ge=0, le=1, description="Fraction of training windows started from the zero "
                                                           "state, the state generation and scoring start from.")

    @model_validator(mode="after")
    def _tied_sizes(self) -> LSTMOptions:
        if self.tie_weights and None not in (self.embedding_size, self.hidden_size) \
                and self.embedding_size != self.hidden_size:
            raise ValueError(f"tie_weights needs embedding_size ({self.embedding_size}) == hidden_size "
                             f"({self.hidden_size})")
        return self


def _word_rules(module: LSTMModel, tokenizer: Tokenizer) -> None:
    """At word level, rule out a word token glued to the word before it (`LSTMModel.forbid_glue`)."""
    if isinstance(tokenizer, WordTokenizer):
        module.forbid_glue(*tokenizer.word_edges())


class LSTMGenerator(Tokenized, Generator):
    name = "lstm"
    Options = LSTMOptions
    suppress_ids = (0,)  # never generate <unk>
    demo_order = 20  # after the Markov chains, before GPT-2

    @classmethod
    def demo_recipes(cls) -> tuple[DemoRecipe, ...]:
        """A character and a word LSTM under the demo's budget: word against character models on one book."""
        return tuple(DemoRecipe(f"lstm-{level}", cls.name, {"level": level}, timed=True) for level in ("char", "word"))

    def __init__(self, tokenizer: Tokenizer, module: LSTMModel, cpu_threads: int | None = None) -> None:
        super().__init__()
        self.tokenizer, self.module, self.cpu_threads = tokenizer, module.eval(), cpu_threads
        self.device = next(module.parameters()).device
        primer = tokenizer.encode(PRIMER)
        self.primer = primer[0] if len(primer) == 1 else 0

    # -- training, saving, loading --------------------------------------------------------

    @classmethod
    def train(cls, corpus: Corpus, options: LSTMOptions, *, seed: int, out: Path | None = None) -> LSTMGenerator:
        from toolkit.data.heldout import HeldOut
        from toolkit.neural import TrainConfig, fit, pick_device, seed_everything

        from .model import LSTMModel, LSTMTask, measure_speed

        if options.level == "char":
            tokenizer: Tokenizer = CharTokenizer.fit(corpus.train)
        else:
            tokenizer = WordTokenizer.fit(corpus.train, options.max_vocab)
        tied = options.hidden_size or options.embedding_size  # tied weights: the user's one size wins
        train_ids = tokenizer.encode(corpus.train)
        where = pick_device(options.device)
        device = where.type
        measure = measure_speed(len(tokenizer), train_ids, start_resets=options.start_resets, device=where,
                                cpu_threads=options.cpu_threads)
        options, sizing = apply(TABLE, options, corpus_chars=len(corpus.train), tokens=len(train_ids),
                                device=device, measure=measure)
        if options.tie_weights:
            size = tied or options.hidden_size
            options = options.model_copy(update={"embedding_size": size, "hidden_size": size})
        seed_everything(seed)
        module = LSTMModel(len(tokenizer), options.embedding_size, options.hidden_size, options.layers,
                           options.dropout, options.tie_weights)
        _word_rules(module, tokenizer)
        config = TrainConfig(
            **options.budget(), batch_size=options.batch_size,
            seq_len=options.seq_len, batching="contiguous", lr=options.lr, min_lr=options.min_lr,
            warmup_steps=options.warmup_steps, weight_decay=options.weight_decay, grad_clip=options.grad_clip,
            eval_every=options.eval_every, eval_tokens=options.eval_tokens, patience=options.patience,
            device=options.device, cpu_threads=options.cpu_threads, seed=seed, progress=options.progress)
        task = LSTMTask(module, options.start_resets)
        task.plateau_hint = plateau_hint(TABLE, sizing, module.config, device)
        held = HeldOut.from_text(corpus.val, tokenizer, options.eval_tokens)
        result = fit(task, train_ids, held, config, train_chars=len(corpus.train),
                     checkpoint_dir=out / "train-state" if out is not None else None)
        model = cls(tokenizer, module, options.cpu_threads)
        model.training = {**result.manifest(), "sizing": sizing.to_json()}
        return model

    def save_files(self, folder: Path) -> dict[str, Any]:
        from toolkit.neural import save_tensors

        save_tensors(folder / WEIGHTS, self.module.state_dict())
        (folder / TOKENIZER).write_text(json.dumps(self.tokenizer.to_json()), encoding="utf-8")
        return {"model": self.module.config, "level": self.tokenizer.level, "cpu_threads": self.cpu_threads}

    @classmethod
    def load_files(cls, folder: Path, manifest: dict[str, Any], *, device: str = "auto") -> LSTMGenerator:
        from toolkit.neural import load_tensors, pick_device
        from toolkit.neural.checkpoint import load_module

        from .model import LSTMModel

        tokenizer = Tokenizer.from_json(json.loads((folder / TOKENIZER).read_text(encoding="utf-8")))
        config = manifest["model"]
        if config["vocab_size"] != len(tokenizer):
            raise ValueError(f"{TOKENIZER} has {len(tokenizer)} tokens but the model expects {config['vocab_size']}")
        where = pick_device(device)
        module = LSTMModel(**config).to(where)
        _word_rules(module, tokenizer)
        load_module(module, load_tensors(folder / WEIGHTS, where), str(folder / WEIGHTS))
        return cls(tokenizer, module, manifest.get("cpu_threads"))

    # -- text ------------------------------------------------------------------------------

    # -- stepping ----------------------------------------------------------------------------

    def _forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Inference pass. On the CPU oneDNN's LSTM is turned off: at small batches it is ~10x slower."""
        import torch

        from toolkit.neural import use_cpu_threads

        if self.device.type == "cpu":
            use_cpu_threads(self.cpu_threads)

        mkldnn = torch.backends.mkldnn.flags(enabled=self.device.type != "cpu", deterministic=None, allow_tf32=None,
                                             fp32_precision=None)
        with torch.inference_mode(), mkldnn:
            return self.module(ids.to(self.device, non_blocking=True), state)

    def begin(self, prompt: list[int], n: int) -> tuple[Any, np.ndarray]:
        import torch

        logits, (h, c) = self._forward(torch.tensor([[self.primer, *prompt]]), None)
        state = (h.repeat(1, n, 1), c.repeat(1, n, 1))
        return state, logits[:, -1].float().cpu().numpy().repeat(n, axis=0)

    def advance(self, state: Any, tokens: np.ndarray) -> tuple[Any, np.ndarray]:
        import torch

        logits, state = self._forward(torch.as_tensor(np.asarray(tokens, dtype=np.int64))[:, None], state)
        return state, logits[:, -1].float().cpu().numpy()

    def token_nats(self, ids: list[int]) -> np.ndarray:
        """Exact negative log-likelihood of each token, the state carried over the whole text in chunks."""
        import torch
        from torch.nn import functional as F

        from toolkit.neural import exact_float32

        inputs = torch.tensor([[self.primer, *ids[:-1]]])
        targets = torch.tensor([ids], dtype=torch.long).to(self.device)
        scored, state = [np.zeros(0)], None
        with exact_float32(self.device):
            for i in range(0, len(ids), SCORE_CHUNK):
                logits, state = self._forward(inputs[:, i : i + SCORE_CHUNK], state)
                nats = F.cross_entropy(logits[0].double(), targets[0, i : i + SCORE_CHUNK], reduction="none")
                scored.append(nats.cpu().numpy())
        return np.concatenate(scored)

    def info(self) -> dict[str, Any]:
        params = sum(p.numel() for p in self.module.parameters())
        return {"parameters": params, "level": self.tokenizer.level, "vocab_size": len(self.tokenizer),
                "device": str(self.device), **self.module.config}
