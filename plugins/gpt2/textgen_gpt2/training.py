"""Training GPT-2 from scratch, or fine-tuning a pretrained checkpoint, with the shared loop.

The model is Hugging Face's ``GPT2LMHeadModel``, so what is trained here is a standard
checkpoint. Batches are nanoGPT's random windows of the full context; the first token
of each window is replaced by BOS, exactly what generation and scoring put at
position 0, so the model learns to start from BOS (an empty prompt, a text's first
character) as well as from any context.

Training compute follows Kaplan et al. (2020): 6N + 6*n_layer*n_ctx*d_model FLOPs per token,
where N is the non-embedding weights (2N forward and 4N backward for the matmuls, and
2*n_layer*n_ctx*d_model forward for attention over the context, again x3 with the
backward), n_ctx the training window. `CausalLMTask.flops_per_token` counts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

from toolkit.data.corpora import Corpus
from toolkit.data.heldout import HeldOut
from toolkit.neural import Task, TrainConfig, TrainResult, fit, pick_device, seed_everything
from toolkit.neural.probe import speed_probe
from toolkit.neural.sizing import Measure, plateau_hint
from toolkit.neural.trainer import non_embedding_weights

from . import checkpoints
from .decoding import context_length
from .sizing import TABLE
from .vocab import CharVocab, HFVocab

if TYPE_CHECKING:
    from toolkit.neural.sizing import Sizing

    from . import GPT2Options


class CausalLMTask(Task):
    """Next-token cross-entropy of a HF causal LM, BOS at position 0 of every window, over ``n_ctx`` tokens."""

    flops_formula = ("6N + 6*n_layer*n_ctx*d_model per token (Kaplan et al. 2020), N = non-embedding weights, "
                     "n_ctx = the training window")

    def __init__(self, module: torch.nn.Module, bos: int, n_ctx: int) -> None:
        self.module, self.bos, self.n_ctx = module, bos, n_ctx

    def flops_per_token(self) -> float:
        config = self.module.config
        return 6.0 * non_embedding_weights(self.module) + 6.0 * config.num_hidden_layers * self.n_ctx * \
            config.hidden_size

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        x = x.clone()
        x[:, 0] = self.bos
        logits = model(input_ids=x).logits
        return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten()), None


def new_model(options: GPT2Options, vocab: CharVocab | HFVocab) -> Any:
    """A randomly initialised ``GPT2LMHeadModel`` of the preset's (or the sizing rule's) shape."""
    shape = options.shape()
    drop = options.dropout
    config = GPT2Config(vocab_size=vocab.size, bos_token_id=vocab.bos, eos_token_id=vocab.bos,
                        resid_pdrop=drop, embd_pdrop=drop, attn_pdrop=drop, **shape)
    return GPT2LMHeadModel(config)


def measure_speed(options: GPT2Options, vocab: CharVocab | HFVocab, train_ids: list[int],
                  device: torch.device) -> Measure:
    """The sizing rule's measure of how fast a row's GPT-2 trains here (`toolkit.neural.probe`, cached)."""

    def build(values: dict[str, Any]) -> CausalLMTask:
        return CausalLMTask(new_model(options.model_copy(update=values), vocab), vocab.bos, values["context"])

    return speed_probe(build, train_ids, device=device, cpu_threads=options.cpu_threads, window="context",
                       shape={"plugin": "gpt2", "level": options.level, "vocab": vocab.size})


def train(corpus: Corpus, options: GPT2Options, seed: int, out: Path | None
          ) -> tuple[Any, CharVocab | HFVocab, TrainResult, Sizing]:
    """Size, build (or load) the model and vocabulary, then fit them; the model holds the best weights."""
    seed_everything(seed)
    device = pick_device(options.device)
    if options.source:
        options, sizing = options.sized(len(corpus.train), device.type)
        model, vocab = checkpoints.load(options.source, device, native=False)  # trained as transformers' module
        train_ids = vocab.encode(corpus.train)
    else:
        vocab = CharVocab.fit(corpus.train) if options.level == "char" else HFVocab.fit(corpus.train,
                                                                                         options.vocab_size)
        train_ids = vocab.encode(corpus.train)
        options, sizing = options.sized(len(corpus.train), device.type, measure_speed(options, vocab, train_ids,
                                                                                      device))
        model = new_model(options, vocab)
    model.train()
    seq_len = min(context_length(model.config), options.seq_len or context_length(model.config))
    config = TrainConfig(
        **options.budget(), batch_size=options.batch_size, seq_len=seq_len,
        batching="random", lr=options.lr, min_lr=options.min_lr, warmup_steps=options.warmup_steps,
        weight_decay=options.weight_decay, grad_clip=options.grad_clip, eval_every=options.eval_every,
        eval_tokens=options.eval_tokens, patience=options.patience, device=options.device,
        cpu_threads=options.cpu_threads, seed=seed, progress=options.progress)
    task = CausalLMTask(model, vocab.bos, seq_len)
    shape = {"layers": model.config.n_layer, "heads": model.config.n_head, "width": model.config.n_embd}
    task.plateau_hint = "" if options.source else plateau_hint(TABLE, sizing, shape, device.type)
    result = fit(task, train_ids, HeldOut.from_text(corpus.val, vocab, options.eval_tokens), config,
                 train_chars=len(corpus.train), checkpoint_dir=out / "train-state" if out is not None else None)
    return model.eval(), vocab, result, sizing
