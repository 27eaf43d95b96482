"""Torch code shared by the neural plugins: devices, checkpoints, the one training loop, the sizing rule.

Imported only by neural plugins (never by ``import toolkit``), so the core stays
torch-free. A plugin describes its model as a `Task` and calls `fit`::

    from toolkit.neural import TrainConfig, fit, pick_device

    result = fit(task, train_ids, val_ids, TrainConfig(max_steps=2000, batch_size=64),
                 val_chars=len(corpus.val), checkpoint_dir=out / "train-state")

The names are imported lazily, as `toolkit`'s are: `toolkit.neural.sizing` is torch-free, so a
plugin's options and sizing table (which ``textgen options`` reads) never load torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and editors see; at run time `__getattr__` imports on first use
    from .checkpoint import load_tensors, read_checkpoint, save_tensors, write_checkpoint
    from .device import autocast, exact_float32, pick_device, seed_everything, use_cpu_threads
    from .trainer import Task, TrainConfig, TrainResult, fit

_API = {
    "load_tensors": "checkpoint", "read_checkpoint": "checkpoint", "save_tensors": "checkpoint",
    "write_checkpoint": "checkpoint", "autocast": "device", "exact_float32": "device", "pick_device": "device",
    "seed_everything": "device", "use_cpu_threads": "device", "Task": "trainer", "TrainConfig": "trainer",
    "TrainResult": "trainer", "fit": "trainer",
}

__all__ = [
    "Task", "TrainConfig", "TrainResult", "autocast", "exact_float32", "fit", "load_tensors", "pick_device",
    "read_checkpoint", "save_tensors", "seed_everything", "use_cpu_threads", "write_checkpoint",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(f"{__name__}.{_API[name]}"), name)
        globals()[name] = value  # once looked up, a plain attribute (so monkeypatching it works as before)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
