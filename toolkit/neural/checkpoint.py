"""Safetensors + JSON files, written atomically, never pickle.

Weights go to ``.safetensors`` (loadable on any device: tensors are stored on the CPU
and moved on load), everything else to JSON. Optimizer state is flattened into named
tensors plus JSON, so a resumable training checkpoint needs no pickle either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_bytes
from safetensors.torch import save as _save_bytes

from .. import atomic

TENSORS = "state.safetensors"
META = "state.json"


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write named tensors atomically. Tied weights are stored twice (safetensors refuses shared storage)."""
    plain = {name: t.detach().to("cpu", copy=True).contiguous() for name, t in tensors.items()}
    atomic.write_bytes(path, _save_bytes(plain))


def load_tensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Read named tensors onto ``device``; a damaged file raises ValueError naming it."""
    try:
        tensors = _load_bytes(Path(path).read_bytes())
    except SafetensorError as exc:
        raise ValueError(f"{path} is not a readable safetensors file ({exc})") from None
    return {name: t.to(device) for name, t in tensors.items()}


def load_module(module: torch.nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    """Load weights strictly, turning a shape or name mismatch into a ValueError naming ``where``."""
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{where} does not fit this model: {str(exc).splitlines()[0]}") from None


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Flatten ``optimizer.state_dict()`` into ``optim.<param>.<key>`` tensors and a JSON part."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                           meta: dict[str, Any]) -> None:
    """Inverse of `optimizer_to_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def write_checkpoint(folder: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Replace ``folder`` atomically with ``state.safetensors`` + ``state.json``."""
    with atomic.directory(folder) as tmp:
        save_tensors(tmp / TENSORS, tensors)
        atomic.write_json(tmp / META, meta)


def read_checkpoint(folder: str | Path, device: str | torch.device = "cpu"
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """What `write_checkpoint` wrote, or None if ``folder`` holds no checkpoint."""
    folder = Path(folder)
    if not (folder / META).is_file():
        return None
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{folder / META} is corrupt ({exc})") from None
    return load_tensors(folder / TENSORS, device), meta
