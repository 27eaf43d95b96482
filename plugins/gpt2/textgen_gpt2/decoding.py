"""The per-token path: a key/value cache over a Hugging Face causal LM, and sliding-window scoring.

Sampling one token must cost little more than the arithmetic. For GPT-2 models the
cached step is GPT-2's forward pass written out over the checkpoint's own weights with
a preallocated cache (as in nanoGPT), which skips the per-call bookkeeping of the HF
module tree; any other causal LM is called with a ``DynamicCache``. Both keep
``[BOS] + the last tokens`` in the window: when the cache is full the last part of the
context is encoded again, so generation can run past the model's context length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

_ACTIVATIONS = {
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu, "relu": F.relu,
}


def context_length(config: Any) -> int:
    """Positions the model can attend over (``n_positions`` for GPT-2)."""
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 1:
            return value
    raise ValueError(f"model config {type(config).__name__} names no context length")


class Window:
    """Decoding state for a batch: the cache, its length, and the tokens it may need to re-encode."""

    def __init__(self, model: Any, bos: int, batch: int) -> None:
        self.model, self.bos, self.batch = model, bos, batch
        self.size = context_length(model.config)
        self.keep = max(1, self.size * 3 // 4 - 1)  # tokens kept after BOS when the window slides
        self.device = next(model.parameters()).device
        self.history: list[torch.Tensor] = []  # (batch,) token tensors, the last ones fed
        self.length = 0

    def start(self, prompt: list[int]) -> torch.Tensor:
        """Encode ``[BOS] + prompt`` (its tail if too long); logits (batch, vocab) of the next token."""
        tail = prompt[-self.keep :] if len(prompt) > self.keep else prompt
        ids = torch.tensor([self.bos, *tail], device=self.device).expand(self.batch, -1)
        self.history = list(ids[:, 1:].T)
        return self._prefill(ids)

    def step(self, tokens: np.ndarray) -> torch.Tensor:
        """Feed one token per row; logits of the next."""
        column = torch.from_numpy(np.asarray(tokens, dtype=np.int64)).to(self.device)
        self.history.append(column)
        if self.length >= self.size:  # full: slide, encoding the last tokens again
            self.history = self.history[-self.keep :]
            bos = torch.full((self.batch, 1), self.bos, device=self.device)
            return self._prefill(torch.cat([bos, torch.stack(self.history, dim=1)], dim=1))
        return self._step(column)

    def _prefill(self, ids: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _step(self, column: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class HFWindow(Window):
    """Any causal LM: the model called with its own ``DynamicCache``."""

    def _prefill(self, ids: torch.Tensor) -> torch.Tensor:
        from transformers import DynamicCache

        self.cache = DynamicCache()
        self.length = ids.shape[1]
        out = self.model(input_ids=ids, past_key_values=self.cache, use_cache=True)
        return out.logits[:, -1].float()

    def _step(self, column: torch.Tensor) -> torch.Tensor:
        self.length += 1
        out = self.model(input_ids=column[:, None], past_key_values=self.cache, use_cache=True)
        return out.logits[:, -1].float()


class GPT2Window(Window):
    """GPT-2's forward pass over the HF weights with a preallocated key/value cache."""

    def __init__(self, model: Any, bos: int, batch: int) -> None:
        super().__init__(model, bos, batch)
        config, t = model.config, model.transformer
        self.act = _ACTIVATIONS[config.activation_function]
        self.heads, self.width, self.eps = config.n_head, config.n_embd, config.layer_norm_epsilon
        self.wte, self.wpe, self.head = t.wte.weight, t.wpe.weight, model.lm_head.weight
        self.ln_f = (t.ln_f.weight, t.ln_f.bias)
        self.blocks = [(b.ln_1.weight, b.ln_1.bias, b.attn.c_attn.weight, b.attn.c_attn.bias,
                        b.attn.c_proj.weight, b.attn.c_proj.bias, b.ln_2.weight, b.ln_2.bias,
                        b.mlp.c_fc.weight, b.mlp.c_fc.bias, b.mlp.c_proj.weight, b.mlp.c_proj.bias)
                       for b in t.h]
        shape = (batch, self.heads, self.size, self.width // self.heads)
        self.keys = [torch.empty(shape, dtype=self.wte.dtype, device=self.device) for _ in self.blocks]
        self.values = [torch.empty_like(k) for k in self.keys]

    @staticmethod
    def supports(model: Any) -> bool:
        """Whether the hand-written pass computes exactly what the HF module does for this checkpoint."""
        c = model.config
        return (c.model_type == "gpt2" and c.activation_function in _ACTIVATIONS and c.scale_attn_weights
                and not c.scale_attn_by_inverse_layer_idx and not c.reorder_and_upcast_attn
                and getattr(c, "add_cross_attention", False) is False)

    def _prefill(self, ids: torch.Tensor) -> torch.Tensor:
        self.length = 0
        return self._forward(ids)

    def _step(self, column: torch.Tensor) -> torch.Tensor:
        return self._forward(column[:, None])

    def _forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Positions ``length ..`` of ``ids`` (batch, T); T > 1 only from an empty cache (causal mask).

        Every call here costs a few microseconds of dispatch, which is most of a small
        model's step: hence torch.* calls without the functional wrappers, and views.
        """
        b, t = ids.shape
        c, h, p, eps = self.width, self.heads, self.length, self.eps
        end = p + t
        x = (torch.embedding(self.wte, ids) + self.wpe[p:end]).view(b * t, c)
        for block, keys, values in zip(self.blocks, self.keys, self.values, strict=True):
            g1, b1, wa, ba, wp, bp, g2, b2, wf, bf, wm, bm = block
            qkv = torch.addmm(ba, torch.layer_norm(x, (c,), g1, b1, eps), wa)
            q, k, v = qkv.view(b, t, 3, h, -1).transpose(1, 3).unbind(2)
            keys[:, :, p:end] = k
            values[:, :, p:end] = v
            a = F.scaled_dot_product_attention(q, keys[:, :, :end], values[:, :, :end], is_causal=t > 1)
            x = torch.addmm(x, a.transpose(1, 2).reshape(b * t, c), wp).add_(bp)
            x = torch.addmm(x, self.act(torch.addmm(bf, torch.layer_norm(x, (c,), g2, b2, eps), wf)), wm).add_(bm)
        self.length = end
        return F.linear(torch.layer_norm(x.view(b, t, c)[:, -1], (c,), *self.ln_f, eps), self.head).float()


def window(model: Any, bos: int, batch: int) -> Window:
    """The fastest exact decoder for ``model``."""
    return (GPT2Window if GPT2Window.supports(model) else HFWindow)(model, bos, batch)


def sliding_nats(model: Any, bos: int, ids: list[int], batch: int = 8) -> np.ndarray:
    """Negative log-likelihood (nats) of each of ``ids`` after ``[BOS]``, with a strided sliding window.

    As in the Hugging Face perplexity guide: windows of the full context advance by half
    of it, and each scores only the tokens the previous one did not, so every token but
    the first few is predicted from at least half a context. Text that fits scores exactly.
    """
    size = context_length(model.config)
    width, stride = size - 1, max(1, (size - 1) // 2)  # tokens per window after BOS; new tokens per window
    device = next(model.parameters()).device
    spans = []  # (start, end, first scored) of each window
    done = 0
    for start in range(0, len(ids), stride):
        end = min(start + width, len(ids))
        spans.append((start, end, done))
        done = end
        if end == len(ids):
            break
    scored = [np.zeros(0)]
    for i in range(0, len(spans), batch):
        group = spans[i : i + batch]
        length = max(end - start for start, end, _ in group)
        rows = torch.full((len(group), length + 1), bos, dtype=torch.long)
        for r, (start, end, _) in enumerate(group):
            rows[r, 1 : 1 + end - start] = torch.tensor(ids[start:end])
        logits = model(input_ids=rows.to(device)).logits.float()
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1).cpu()
        for r, (start, end, first) in enumerate(group):
            positions = torch.arange(first - start, end - start)
            scored.append(-log_probs[r, positions, rows[r, positions + 1]].double().numpy())
    return np.concatenate(scored)
