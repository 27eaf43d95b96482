"""Where tensors live: device choice, CPU thread policy, bf16 autocast on CUDA, seeding, distributed helpers."""

from __future__ import annotations

import contextlib
import math
import os
import random
import threading
import time
from collections.abc import Iterator

import numpy as np
import torch

from ..machine import DEVICES, free_cores, usable_cores

#: Environment variable that fixes torch's CPU thread count for every model (the option still wins).
THREADS_ENV = "TEXTGEN_THREADS"
#: Seconds between looks at the machine's load; a model that ran within it counts as running.
LOOK_EVERY = 1.0


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA, then Apple MPS, then the CPU; asking for a missing one is an error.

    Under torchrun each process takes the GPU of its ``LOCAL_RANK``.
    """
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if name == "mps" and not has_mps:
        raise ValueError("device 'mps' was asked for but torch sees no Apple GPU; use --device cpu or auto")
    return torch.device(name)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (fast, no loss scaling needed); full float32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


#: Where torch keeps the float32 precision of CUDA's matmuls and cuDNN's kernels (torch >= 2.9; older: allow_tf32).
_PRECISION_KNOBS = ("cuda.matmul", "cudnn.rnn", "cudnn.conv")


@contextlib.contextmanager
def exact_float32(device: torch.device) -> Iterator[None]:
    """IEEE float32 inside, on CUDA; nothing changes elsewhere.

    By default cuDNN runs an LSTM's float32 in TF32 (a 10-bit mantissa), and which kernel runs depends on
    the weights' layout, so the same model scored twice on one GPU could differ in the 6th digit. A held-out
    figure is the product's verdict: it is scored in float32 on every device (training keeps bf16 and TF32).
    """
    if device.type != "cuda":
        yield
        return
    knobs = [_knob(path) for path in _PRECISION_KNOBS]
    if all(k is not None and hasattr(k, "fp32_precision") for k in knobs):
        before = [k.fp32_precision for k in knobs]
        try:
            for k in knobs:
                k.fp32_precision = "ieee"
            yield
        finally:
            for k, value in zip(knobs, before, strict=True):
                k.fp32_precision = value
        return
    cudnn = torch.backends.cudnn  # older torch: flags() sets every flag, so the user's others are passed on
    with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                     allow_tf32=False):
        yield


def _knob(path: str) -> object | None:
    """``torch.backends`` at ``path`` ("cudnn.rnn"), or None where this torch lacks it."""
    found: object | None = torch.backends
    for part in path.split("."):
        found = getattr(found, part, None)
    return found


def use_cpu_threads(requested: int | None = None) -> int:
    """Set torch's CPU threads for the calling thread by the toolkit's rule; returns the count.

    The rule, in one place: an explicit count (the ``cpu_threads`` option) wins, then
    the ``TEXTGEN_THREADS`` environment variable, else the cores this process may use
    that other processes are not keeping busy right now, shared evenly among the
    models running torch in this process at the moment (dashboard columns, a parallel
    compare), at least one each. On a quiet machine one model gets every core; with
    other jobs running or four columns at once it gets fewer, because OpenMP threads
    that outnumber the free cores spin against each other (ten times slower, measured).
    Cheap enough to call before every forward pass: the machine is looked at once a second.
    """
    threads = requested or _env_threads() or _POLICY.share()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def _env_threads() -> int | None:
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number >= 1, got {value!r}")
    return int(value)


class _ThreadPolicy:
    """Counts the threads that ran a model in the last second, and the cores other processes leave free."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[int, float] = {}
        self.free = usable_cores()
        self.looked = -math.inf

    def share(self) -> int:
        now = time.monotonic()
        with self.lock:
            self.seen[threading.get_ident()] = now
            if now - self.looked > LOOK_EVERY:
                self.looked = now
                self.free = free_cores()
                self.seen = {ident: t for ident, t in self.seen.items() if now - t <= LOOK_EVERY}
            return max(1, self.free // len(self.seen))


_POLICY = _ThreadPolicy()


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (every GPU too), so a CPU run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 outside torchrun)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


@contextlib.contextmanager
def distributed(device: torch.device) -> Iterator[tuple[int, int]]:
    """Join the torchrun process group if there is one (gloo on CPU, nccl on GPU).

    Yields (rank, world size). A group set up here is torn down on exit; one the
    caller set up is left alone.
    """
    dist = torch.distributed
    started = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and dist.is_available() and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        started = True
    try:
        yield rank_and_world()
        if started:  # rank 0 holds the group's store: none tears down while another still talks to it
            dist.barrier()
    finally:
        if started:
            dist.destroy_process_group()
