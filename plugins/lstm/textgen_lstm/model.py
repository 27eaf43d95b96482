"""The network: embedding -> multi-layer LSTM (cuDNN on GPU) with dropout -> linear."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from toolkit.neural.trainer import Task

State = tuple[torch.Tensor, torch.Tensor]


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

    def zero_state(self, batch_size: int, device: torch.device) -> State:
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        out, state = self.lstm(self.drop(self.embed(x)), state)
        return self.head(self.drop(out)), state


class LSTMTask(Task):
    """The training loop's view of the model: carry (h, c) across contiguous windows."""

    def __init__(self, module: LSTMModel) -> None:
        self.module = module

    def init_state(self, batch_size: int, device: torch.device) -> State:
        return self.module.zero_state(batch_size, device)

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, state: Any) -> tuple[torch.Tensor, State]:
        logits, state = model(x, state)
        return F.cross_entropy(logits.float().flatten(0, 1), y.flatten()), state
