"""GPT-2 folders without transformers: ``config.json`` and ``model.safetensors`` into a small torch module.

Importing transformers costs seconds, and this plugin decodes with its own cached pass
(`decoding.GPT2Window`) anyway, so a GPT-2 folder (this toolkit's own, or any plain
``save_pretrained`` one with a fast ``tokenizer.json``) is read here: the config as JSON,
the weights with ``safetensors``, the tokenizer with ``tokenizers``. The module keeps
Hugging Face's parameter names and ``Conv1D`` layout (``x @ W + b``), so the decoder
reads it as it reads ``GPT2LMHeadModel``, and `save_pretrained` writes a folder plain
transformers loads. Anything else (another architecture, ``pytorch_model.bin``, a slow
tokenizer, training) goes through transformers (`checkpoints.load`).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from .decoding import _ACTIVATIONS

WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"
#: GPT2Config's defaults for the fields the forward pass reads.
DEFAULTS = {"n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12, "layer_norm_epsilon": 1e-5,
            "activation_function": "gelu_new", "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
            "reorder_and_upcast_attn": False, "add_cross_attention": False, "tie_word_embeddings": True,
            "bos_token_id": 50256, "eos_token_id": 50256, "n_inner": None}


def read_config(folder: Path) -> SimpleNamespace | None:
    """The folder's GPT-2 config, if this module computes exactly what transformers would for it."""
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("model_type") != "gpt2":
        return None
    config = SimpleNamespace(**{**DEFAULTS, **data})
    config.num_hidden_layers, config.raw = config.n_layer, data
    exact = (config.activation_function in _ACTIVATIONS and config.scale_attn_weights
             and not config.scale_attn_by_inverse_layer_idx and not config.reorder_and_upcast_attn
             and not config.add_cross_attention and config.tie_word_embeddings)
    return config if exact else None


def can_load(folder: Path) -> bool:
    return (folder / WEIGHTS).is_file() and (folder / TOKENIZER).is_file() and read_config(folder) is not None


class Conv1D(nn.Module):
    """Hugging Face's GPT-2 linear layer: weight (in, out), ``x @ W + b``."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(inputs, outputs))
        self.bias = nn.Parameter(torch.zeros(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class Block(nn.Module):
    def __init__(self, config: SimpleNamespace) -> None:
        super().__init__()
        width, inner = config.n_embd, config.n_inner or 4 * config.n_embd
        self.heads, self.act = config.n_head, _ACTIVATIONS[config.activation_function]
        self.ln_1 = nn.LayerNorm(width, eps=config.layer_norm_epsilon)
        self.attn = nn.Module()
        self.attn.c_attn, self.attn.c_proj = Conv1D(width, 3 * width), Conv1D(width, width)
        self.ln_2 = nn.LayerNorm(width, eps=config.layer_norm_epsilon)
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = Conv1D(width, inner), Conv1D(inner, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).view(b, t, 3, self.heads, -1).transpose(1, 3).unbind(2)
        a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn.c_proj(a.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp.c_proj(self.act(self.mlp.c_fc(self.ln_2(x))))


class GPT2(nn.Module):
    """GPT-2 with Hugging Face's parameter names (``transformer.h.0.attn.c_attn.weight`` ...).

    Built for `load` to assign every weight, so the embeddings start empty: drawing their
    random initial values, only to throw them away, imports ``torch._dynamo`` on the meta
    device (a second of start-up).
    """

    def __init__(self, config: SimpleNamespace) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(config.vocab_size, config.n_embd,
                                            _weight=torch.empty(config.vocab_size, config.n_embd))
        self.transformer.wpe = nn.Embedding(config.n_positions, config.n_embd,
                                            _weight=torch.empty(config.n_positions, config.n_embd))
        self.transformer.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.transformer.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, input_ids: torch.Tensor, **_: Any) -> SimpleNamespace:
        """Logits of every position, as ``GPT2LMHeadModel(input_ids=...).logits``."""
        t = self.transformer
        x = t.wte(input_ids) + t.wpe.weight[: input_ids.shape[1]]
        for block in t.h:
            x = block(x)
        return SimpleNamespace(logits=self.lm_head(t.ln_f(x)))

    def save_pretrained(self, folder: str) -> None:
        """``config.json`` and ``model.safetensors`` as transformers writes them (the tied head left out)."""
        from safetensors.torch import save_file

        out = Path(folder)
        (out / "config.json").write_text(json.dumps(self.config.raw, indent=2))
        weights = {k: v.detach().contiguous() for k, v in self.state_dict().items() if k != "lm_head.weight"}
        save_file(weights, str(out / WEIGHTS), metadata={"format": "pt"})


def load(folder: Path, device: Any) -> GPT2:
    """The model in eval mode, float32, on ``device``; ValueError naming what is wrong."""
    from safetensors.torch import load_file

    config = read_config(folder)
    if config is None:
        raise ValueError(f"{folder}: not a GPT-2 config this plugin runs without transformers")
    try:
        weights = load_file(str(folder / WEIGHTS))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise ValueError(f"{folder / WEIGHTS}: unreadable ({type(exc).__name__}: {exc})") from None
    weights = {(k if k.startswith(("transformer.", "lm_head.")) else f"transformer.{k}"): v.float()
               for k, v in weights.items() if not k.endswith((".attn.bias", ".attn.masked_bias"))}
    weights.setdefault("lm_head.weight", weights.get("transformer.wte.weight"))
    with torch.device("meta"):
        model = GPT2(config)
    try:
        model.load_state_dict(weights, strict=True, assign=True)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{folder / WEIGHTS} does not fit its config.json ({exc})") from None
    model.lm_head.weight = model.transformer.wte.weight
    return model.to(device).eval()


def tokenizer(folder: Path) -> tuple[Any, int | None]:
    """The ``tokenizers`` backend and the BOS id named by the config or the tokenizer's config."""
    from tokenizers import Tokenizer

    try:
        backend = Tokenizer.from_file(str(folder / TOKENIZER))
    except Exception as exc:  # tokenizers raises a bare Exception for a damaged file
        raise ValueError(f"{folder / TOKENIZER}: unreadable ({exc})") from None
    config = read_config(folder)
    candidates: list[Any] = [getattr(config, "bos_token_id", None)]
    for name in ("tokenizer_config.json", "special_tokens_map.json"):  # transformers reads both: so do we
        try:
            special = json.loads((folder / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{folder / name}: unreadable ({exc})") from None
        tokens = [special.get(k) for k in ("bos_token", "eos_token")] if isinstance(special, dict) else []
        candidates += [backend.token_to_id(t if isinstance(t, str) else t.get("content", "")) for t in tokens
                       if isinstance(t, str | dict)]
    return backend, next((b for b in candidates if isinstance(b, int)), None)
