"""The network: embedding -> multi-layer LSTM (cuDNN on GPU) with dropout -> linear.

Training compute, counted as a budget in FLOPs counts it (`training_flops_per_token`): 3x the
forward matmuls (forward, plus twice that backward), where one token's forward pass costs
4 gates x 2*(input + hidden)*hidden per layer (input: embedding_size for the first layer,
hidden_size above it) plus 2*hidden*vocab for the output layer. The embedding is a lookup,
and the element-wise gate arithmetic is left out (under 1% at these sizes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from toolkit.neural.probe import speed_probe
from toolkit.neural.sizing import Measure
from toolkit.neural.trainer import Task

State = tuple[torch.Tensor, torch.Tensor]


#: `training_flops_per_token`'s formula, as ``training["compute"]["formula"]`` records it.
FLOPS_FORMULA = ("3 x forward matmuls per token: sum over layers of 4 gates x 2*(input + hidden)*hidden, "
                 "plus 2*hidden*vocab for the output layer")


def training_flops_per_token(config: dict[str, Any]) -> float:
    """Training FLOPs per token of an `LSTMModel` of this ``config`` (`FLOPS_FORMULA`)."""
    hidden, layers = config["hidden_size"], config["layers"]
    inputs = [config["embedding_size"]] + [hidden] * (layers - 1)
    forward = sum(4 * 2 * (size + hidden) * hidden for size in inputs) + 2 * hidden * config["vocab_size"]
    return 3.0 * forward


class LSTMModel(nn.Module):
    """``forward(x, state) -> (logits, state)`` with ``x`` of shape ``(batch, time)``."""

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, layers: int, dropout: float,
                 tie_weights: bool) -> None:
        super().__init__()
        self.config = {"vocab_size": vocab_size, "embedding_size": embedding_size, "hidden_size": hidden_size,
                       "layers": layers, "dropout": dropout, "tie_weights": tie_weights}
        self.embed = nn.Embedding(vocab_size, embedding_size)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embedding_size, hidden_size, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embed.weight
        self.register_buffer("word_ends", None, persistent=False)
        self.register_buffer("word_starts", None, persistent=False)

    def forbid_glue(self, ends: Sequence[bool], starts: Sequence[bool]) -> None:
        """Give a word-start token probability 0 right after a word-end token (`WordTokenizer.word_edges`).

        No tokenized text has that pair, so this only takes mass from texts that cannot
        occur, and it applies alike in training, generation and scoring: a word model
        cannot glue two words together however briefly it was trained.
        """
        device = self.head.weight.device
        self.word_ends = torch.tensor(ends, dtype=torch.bool, device=device)
        self.word_starts = torch.tensor(starts, dtype=torch.bool, device=device)

    def zero_state(self, batch_size: int, device: torch.device) -> State:
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        out, state = self.lstm(self.drop(self.embed(x)), state)
        logits = self.head(self.drop(out))
        if self.word_ends is not None:
            logits = logits.masked_fill(self.word_ends[x].unsqueeze(-1) & self.word_starts, float("-inf"))
        return logits, state


class LSTMTask(Task):
    """The training loop's view of the model: carry (h, c) across contiguous windows.

    Carried state alone means the network almost never sees the zero state that
    generation and scoring start every text from, so its first characters come out
    wrong. So each training window of a row starts from the zero state with
    probability ``start_resets``: the start of a text becomes a condition it is
    trained on. The draw uses torch's global generator, which the loop seeds and
    checkpoints, so resumed runs stay exact. Validation (``module.training`` false)
    carries the state untouched.
    """

    flops_formula = FLOPS_FORMULA

    def __init__(self, module: LSTMModel, start_resets: float = 0.0) -> None:
        self.module, self.start_resets = module, start_resets

    def flops_per_token(self) -> float:
        return training_flops_per_token(self.module.config)

    def init_state(self, batch_size: int, device: torch.device) -> State:
        return self.module.zero_state(batch_size, device)

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, state: Any) -> tuple[torch.Tensor, State]:
        if self.start_resets and self.module.training and state is not None:
            keep = (torch.rand(x.shape[0], device=x.device) >= self.start_resets).to(state[0].dtype)[None, :, None]
            state = (state[0] * keep, state[1] * keep)
        logits, state = model(x, state)
        return F.cross_entropy(logits.float().flatten(0, 1), y.flatten()), state


def measure_speed(vocab_size: int, train_ids: Any, *, start_resets: float, device: torch.device,
                  cpu_threads: int | None) -> Measure:
    """The sizing rule's measure of how fast a row's LSTM trains here (`toolkit.neural.probe`, cached)."""

    def build(values: dict[str, Any]) -> LSTMTask:
        return LSTMTask(LSTMModel(vocab_size, values["embedding_size"], values["hidden_size"], values["layers"],
                                  values["dropout"], tie_weights=False), start_resets)

    return speed_probe(build, train_ids, device=device, cpu_threads=cpu_threads, window="seq_len",
                       shape={"plugin": "lstm", "vocab": vocab_size})
