"""Torch code shared by the neural plugins: devices, checkpoints and the one training loop.

Imported only by neural plugins (never by ``import toolkit``), so the core stays
torch-free. A plugin describes its model as a `Task` and calls `fit`::

    from toolkit.neural import TrainConfig, fit, pick_device

    result = fit(task, train_ids, val_ids, TrainConfig(max_steps=2000, batch_size=64),
                 val_chars=len(corpus.val), checkpoint_dir=out / "train-state")
"""

from .checkpoint import load_tensors, read_checkpoint, save_tensors, write_checkpoint
from .device import autocast, pick_device, seed_everything, use_cpu_threads
from .trainer import Task, TrainConfig, TrainResult, fit

__all__ = [
    "Task", "TrainConfig", "TrainResult", "autocast", "fit", "load_tensors", "pick_device", "read_checkpoint",
    "save_tensors", "seed_everything", "use_cpu_threads", "write_checkpoint",
]
