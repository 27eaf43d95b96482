"""A short timed probe of a model's training step on this machine: what the sizing rule measures.

`tokens_per_second` times a few steps (forward, backward, AdamW) after a warm-up step, on
random windows of the real training ids at the row's batch shape, with the threads and device
the training will use. `speed_probe` wraps it for the rule: cached per machine
(`toolkit.neural.speeds`), so only the first run on a machine pays, and only for the rows
the rule needs to look at. Probing touches neither the global random state nor the model
that will be trained.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..machine import cpu_name
from .device import autocast, use_cpu_threads
from .sizing import Measure, Speed
from .speeds import SpeedCache, measured
from .trainer import Task

#: Timed steps after the warm-up step. Their mean is the speed: few, so the probe costs well under 2%
#: of a 70 s training (the rule probes only the rows it needs, and a cached speed costs nothing).
PROBE_STEPS = 3


def _sync(device: torch.device) -> None:
    """Wait for the device's queued work, so the clock reads what the steps took."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def tokens_per_second(task: Task, train: torch.Tensor, batch_size: int, seq_len: int, device: torch.device,
                      steps: int = PROBE_STEPS) -> float:
    """Training tokens/s of ``task``'s module: ``steps`` timed steps on ``batch_size`` x ``seq_len`` windows."""
    module = task.module.to(device).train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, fused=device.type == "cuda")
    seq_len = max(1, min(seq_len, len(train) - 2))
    windows = torch.arange(seq_len + 1)
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        starts = torch.randint(len(train) - seq_len, (batch_size,), generator=generator)
        batch = train[starts[:, None] + windows].to(device)
        with autocast(device):
            loss, _ = task.loss(module, batch[:, :-1], batch[:, 1:], task.init_state(batch_size, device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up: allocation, kernel choice, first-touch of the weights
    _sync(device)
    began = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return batch_size * seq_len * steps / (time.perf_counter() - began)


def speed_probe(build: Callable[[dict[str, Any]], Task], train_ids: Any, *, device: torch.device,
                cpu_threads: int | None, window: str, shape: dict[str, Any],
                cache: SpeedCache | None = None) -> Measure:
    """The plugin's `Measure` for `toolkit.neural.sizing.apply`: a row's training speed here, cached.

    ``build(values)`` makes the `Task` of a model with those option values; ``window`` names the
    option that holds its training window (``seq_len``, ``context``); ``shape`` adds what else
    sets the speed to the cache key (the plugin, its vocabulary size). Nothing runs until the
    rule asks for a row.
    """

    @functools.cache
    def ready() -> Measure:  # on the first row the rule asks for: a step budget costs nothing at all
        # the first optimizer of a process imports torch._dynamo (seconds): the training pays that anyway,
        # so it is paid here, outside the probe's clock, and `Speed.seconds` is what probing adds
        importlib.import_module("torch._dynamo")
        train = torch.as_tensor(np.asarray(train_ids, dtype=np.int64))
        threads = use_cpu_threads(cpu_threads) if device.type == "cpu" else None
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
        machine = {"cpu": cpu_name(), "threads": threads, "torch": torch.__version__, "device": where, **shape}

        def probe(values: dict[str, Any]) -> float:
            forked = [device.index or 0] if device.type == "cuda" else []
            with torch.random.fork_rng(devices=forked):
                if threads is not None:
                    use_cpu_threads(threads)
                return tokens_per_second(build(values), train, values["batch_size"], values[window], device)

        return measured(probe, machine, cache)

    def measure(values: dict[str, Any]) -> Speed:
        return ready()(values)

    return measure
