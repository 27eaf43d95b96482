"""The one training loop every neural plugin uses (LSTM and GPT-2 alike).

A plugin wraps its model in a `Task` (the module, its loss, and for a recurrent
model the hidden state to carry), picks a `TrainConfig` and calls `fit`. The loop
gives every plugin the same things: AdamW with weight decay on matrices only,
gradient clipping, linear warm-up then cosine decay, bf16 autocast on CUDA,
validation bits per character every ``eval_every`` steps with the best weights kept
and restored at the end, early stopping, step and wall-clock budgets, resumable
checkpoints (written at each evaluation and on Ctrl-C), a tqdm bar, seeded
reproducible CPU runs, and torchrun / DistributedDataParallel.

Two ways to cut batches from the token stream (`TrainConfig.batching`):

* ``"contiguous"`` (char-rnn): the training ids are cut into ``batch_size`` parallel
  streams read left to right in windows of ``seq_len``; the state `Task.loss` returns
  is detached and fed to the next window (truncated backpropagation through time),
  and reset to `Task.init_state` when the streams wrap round.
* ``"random"`` (nanoGPT): each row is a random window, and the state is
  `Task.init_state` every step (``None`` for a transformer).

Batches are a pure function of (seed, rank, step), so a resumed run sees exactly the
batches the uninterrupted one would have.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .checkpoint import load_module, optimizer_from_tensors, optimizer_to_tensors, read_checkpoint, write_checkpoint
from .device import DEVICES, autocast, distributed, pick_device, use_cpu_threads

CHECKPOINT_FORMAT = "textgen-train-state"
#: ``callback(step, record)`` after every step; raising KeyboardInterrupt there saves and stops like Ctrl-C.
Callback = Callable[[int, dict[str, Any]], None]


class Task:
    """What the loop needs to know about a model. Subclass it in the plugin.

    ``module`` holds every trained parameter; the loop moves it to the device (and
    wraps it for DDP). Keep the module small enough to clone: the best weights are
    kept as a copy on the same device.
    """

    module: nn.Module

    def init_state(self, batch_size: int, device: torch.device) -> Any:
        """State at the start of a stream: an RNN's zero hidden state, or None (the default)."""
        return None

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Mean next-token loss in nats of inputs ``x`` against targets ``y`` (both ``(batch, time)``).

        Call ``model`` (which may be a DDP wrapper of ``self.module``), never
        ``self.module`` directly, so gradients are synchronised. Return the new state
        (tensors, or tuples of them, or None); the loop detaches it.
        """
        raise NotImplementedError


@dataclass
class TrainConfig:
    """Budgets and hyper-parameters of one `fit`. Sizes are per process under torchrun."""

    max_steps: int | None = 2000  #: optimizer steps in all (a resumed run counts the steps already done)
    max_seconds: float | None = None  #: wall-clock budget of this call, evaluations included
    batch_size: int = 32  #: rows per step per process
    seq_len: int = 128  #: tokens per row (BPTT length for an RNN, context for a transformer)
    batching: Literal["contiguous", "random"] = "contiguous"
    lr: float = 2e-3  #: peak learning rate, reached after warm-up
    min_lr: float | None = None  #: end of the cosine decay; default lr / 10
    warmup_steps: int = 100
    weight_decay: float = 0.0  #: AdamW decay, applied to matrices (dim >= 2) only
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float | None = 1.0  #: max global gradient norm; None turns clipping off
    eval_every: int = 250  #: steps between validations (and checkpoints)
    eval_tokens: int | None = 65536  #: validate on this prefix of the validation ids; None for all
    patience: int | None = None  #: stop after this many validations without a new best
    device: str = "auto"
    cpu_threads: int | None = None  #: torch threads when training on the CPU; None: the toolkit's rule
    seed: int = 0
    progress: bool = True  #: show a tqdm bar (rank 0 only)

    def __post_init__(self) -> None:
        if self.max_steps is None and self.max_seconds is None:
            raise ValueError("give max_steps or max_seconds (or both): training needs a budget")
        positive = {"batch_size": self.batch_size, "seq_len": self.seq_len, "eval_every": self.eval_every,
                    "lr": self.lr, "max_steps": self.max_steps, "max_seconds": self.max_seconds,
                    "eval_tokens": self.eval_tokens, "patience": self.patience, "grad_clip": self.grad_clip,
                    "cpu_threads": self.cpu_threads}
        for name, value in positive.items():
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        for name, value in {"warmup_steps": self.warmup_steps, "weight_decay": self.weight_decay,
                            "min_lr": self.min_lr, "seed": self.seed}.items():
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if self.batching not in ("contiguous", "random"):
            raise ValueError(f"batching must be 'contiguous' or 'random', got {self.batching!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")

    def lr_at(self, step: int, progress: float) -> float:
        """Linear warm-up, then cosine decay to ``min_lr`` as ``progress`` (0..1 of the budget) runs out."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        min_lr = self.lr / 10 if self.min_lr is None else self.min_lr
        return min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * (self.lr - min_lr)


@dataclass
class TrainResult:
    """How a `fit` went. ``best_val_bpc`` is estimated on ``eval_tokens`` of the validation ids."""

    steps: int
    best_step: int
    best_val_bpc: float
    last_loss: float
    stopped: str  #: "max_steps", "max_seconds" or "patience"
    seconds: float
    tokens: int  #: training tokens seen in this call, all processes together
    device: str
    world_size: int
    resumed_from: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    cpu_threads: int | None = None  #: torch CPU threads the toolkit's rule chose (None on a GPU)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_second": self.tokens_per_second}


def fit(task: Task, train_ids: Sequence[int] | np.ndarray | torch.Tensor,
        val_ids: Sequence[int] | np.ndarray | torch.Tensor, config: TrainConfig, *,
        val_chars: int | None = None, checkpoint_dir: str | Path | None = None,
        callback: Callback | None = None) -> TrainResult:
    """Train ``task.module`` in place; on return it holds the best validated weights.

    ``val_chars`` is how many characters ``val_ids`` spell, so the loop reports bits
    per character (without it, bits per token). With ``checkpoint_dir`` a checkpoint
    there is resumed from, a new one is written at every validation, and Ctrl-C
    writes one before the KeyboardInterrupt goes on up. Under torchrun every process
    calls `fit`; only rank 0 writes.
    """
    device = pick_device(config.device)
    threads = use_cpu_threads(config.cpu_threads) if device.type == "cpu" else None
    with distributed(device) as (rank, world):
        result = _Loop(task, config, device, rank, world, checkpoint_dir, callback).run(
            _as_ids(train_ids, device), _as_ids(val_ids, device), val_chars)
    result.cpu_threads = threads
    return result


def _as_ids(ids: Any, device: torch.device) -> torch.Tensor:
    """The whole id stream lives on the device, so a batch is a slice and needs no transfer."""
    if isinstance(ids, torch.Tensor):
        return ids.to(device=device, dtype=torch.long, non_blocking=True)
    return torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)


def _detach(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(_detach(s) for s in state)
    return state


def _flatten(state: Any, out: list[torch.Tensor]) -> Any:
    """JSON layout of a nested state whose tensors are appended to ``out``."""
    if isinstance(state, torch.Tensor):
        out.append(state)
        return len(out) - 1
    if isinstance(state, (tuple, list)):
        return [_flatten(s, out) for s in state]
    return None


def _unflatten(layout: Any, tensors: list[torch.Tensor]) -> Any:
    if isinstance(layout, int):
        return tensors[layout]
    if isinstance(layout, list):
        return tuple(_unflatten(item, tensors) for item in layout)
    return None


def _streams(ids: torch.Tensor, streams: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets as ``(streams, length)``: stream ``i`` is the i-th contiguous stretch."""
    length = (len(ids) - 1) // streams
    x = ids[: streams * length].view(streams, length)
    y = ids[1 : streams * length + 1].view(streams, length)
    return x, y


class _Loop:
    def __init__(self, task: Task, config: TrainConfig, device: torch.device, rank: int, world: int,
                 checkpoint_dir: str | Path | None, callback: Callback | None) -> None:
        self.task, self.config, self.device, self.rank, self.world = task, config, device, rank, world
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.callback = callback
        self.module = task.module.to(device)
        if world > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.model: nn.Module = nn.parallel.DistributedDataParallel(self.module, device_ids=ids)
        else:
            self.model = self.module
        params = [p for p in self.module.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=config.lr, betas=config.betas,
                                           fused=device.type == "cuda")
        self.step = 0
        self.best_bpc, self.best_step, self.bad_evals = math.inf, 0, 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.history: list[dict[str, Any]] = []
        self.state: Any = None

    # -- batches ----------------------------------------------------------------------

    def _batches(self, train: torch.Tensor) -> Callable[[int], tuple[torch.Tensor, torch.Tensor, bool]]:
        """``batch(step) -> (x, y, reset)``: a pure function of the step, so resuming is exact."""
        cfg, rows, t = self.config, self.config.batch_size, self.config.seq_len
        if cfg.batching == "random":
            if len(train) <= t:
                raise ValueError(f"seq_len={t} is not shorter than the {len(train)} training tokens")
            offsets = torch.arange(t + 1, device=self.device)

            def random_batch(step: int) -> tuple[torch.Tensor, torch.Tensor, bool]:
                gen = torch.Generator().manual_seed((cfg.seed * 1_000_003 + step) * self.world + self.rank)
                starts = torch.randint(len(train) - t, (rows,), generator=gen).to(self.device)
                window = train[starts[:, None] + offsets]
                return window[:, :-1], window[:, 1:], True

            return random_batch
        xs, ys = _streams(train, rows * self.world)
        windows = xs.shape[1] // t
        if windows == 0:
            raise ValueError(f"{len(train)} training tokens are too few for batch_size={rows} x seq_len={t} "
                             f"x {self.world} process(es); lower batch_size or seq_len")
        mine = slice(self.rank * rows, (self.rank + 1) * rows)
        xs, ys = xs[mine], ys[mine]

        def contiguous_batch(step: int) -> tuple[torch.Tensor, torch.Tensor, bool]:
            w = step % windows
            return xs[:, w * t : (w + 1) * t], ys[:, w * t : (w + 1) * t], w == 0

        return contiguous_batch

    # -- validation ---------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, val: torch.Tensor) -> float:
        """Mean nats per token over the first ``eval_tokens`` validation ids, state carried per stream."""
        cfg = self.config
        if cfg.eval_tokens is not None:
            val = val[: cfg.eval_tokens + 1]
        streams = max(1, min(cfg.batch_size * self.world, (len(val) - 1) // cfg.seq_len))
        xs, ys = _streams(val, streams)
        share = math.ceil(streams / self.world)
        xs, ys = xs[self.rank * share : (self.rank + 1) * share], ys[self.rank * share : (self.rank + 1) * share]
        totals = torch.zeros(2, dtype=torch.float64, device=self.device)
        self.module.eval()
        try:
            if len(xs):
                state = self.task.init_state(len(xs), self.device)
                for i in range(0, xs.shape[1], cfg.seq_len):
                    x, y = xs[:, i : i + cfg.seq_len], ys[:, i : i + cfg.seq_len]
                    with autocast(self.device):
                        loss, state = self.task.loss(self.module, x, y, state)
                    totals += torch.stack([loss.double() * y.numel(), torch.tensor(y.numel(), device=self.device)])
        finally:
            self.module.train()
        if self.world > 1:
            torch.distributed.all_reduce(totals)
        return float(totals[0] / totals[1])

    # -- checkpoints ----------------------------------------------------------------------

    def save(self) -> None:
        if self.checkpoint_dir is None or self.rank != 0:
            return
        tensors = {f"model.{k}": v for k, v in self.module.state_dict().items()}
        if self.best_weights is not None:
            tensors.update({f"best.{k}": v for k, v in self.best_weights.items()})
        optim_tensors, optim_meta = optimizer_to_tensors(self.optimizer)
        tensors.update(optim_tensors)
        carried: list[torch.Tensor] = []
        layout = _flatten(self.state, carried)
        tensors.update({f"carry.{i}": t for i, t in enumerate(carried)})
        tensors["rng.cpu"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        write_checkpoint(self.checkpoint_dir, tensors, {
            "format": CHECKPOINT_FORMAT, "step": self.step, "best_val_bpc": self.best_bpc,
            "best_step": self.best_step, "bad_evals": self.bad_evals, "history": self.history,
            "carry": layout, "optimizer": optim_meta, "world_size": self.world, "config": asdict(self.config)})

    def resume(self) -> int | None:
        """Load the checkpoint in ``checkpoint_dir``, if any; return the step it was taken at."""
        found = read_checkpoint(self.checkpoint_dir, self.device) if self.checkpoint_dir is not None else None
        if found is None:
            return None
        tensors, meta = found
        where = f"checkpoint {self.checkpoint_dir} (delete it to start afresh)"
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{where} is not a textgen training checkpoint")
        load_module(self.module, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, where)
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        self.best_weights = best or None
        try:
            optimizer_from_tensors(self.optimizer, tensors, meta["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ValueError(f"{where}: optimizer state does not fit ({exc})") from None
        self.step, self.best_step, self.bad_evals = meta["step"], meta["best_step"], meta["bad_evals"]
        self.best_bpc, self.history = meta["best_val_bpc"], meta["history"]
        carried = [tensors[f"carry.{i}"] for i in range(sum(1 for k in tensors if k.startswith("carry.")))]
        if self.rank == 0 and meta.get("world_size", 1) == self.world:
            self.state = _unflatten(meta["carry"], carried)
        torch.set_rng_state(tensors["rng.cpu"].cpu())
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"].cpu(), self.device)
        return self.step

    # -- the loop -------------------------------------------------------------------------

    def _elapsed(self, started: float) -> float:
        """Seconds since ``started``, the same on every process (their maximum) so they stop together."""
        elapsed = time.perf_counter() - started
        if self.world > 1:
            t = torch.tensor([elapsed], dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
            elapsed = float(t)
        return elapsed

    def _validate(self, val: torch.Tensor, tokens_per_char: float, started: float, loss: float) -> float:
        """Validate, keep the best weights, save a checkpoint; return the seconds it took."""
        began = time.perf_counter()
        bpc = self.evaluate(val) * tokens_per_char / math.log(2)
        if bpc < self.best_bpc:
            self.best_bpc, self.best_step, self.bad_evals = bpc, self.step, 0
            self.best_weights = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        else:
            self.bad_evals += 1
        self.history.append({"step": self.step, "train_loss": loss, "val_bpc": bpc,
                             "seconds": round(time.perf_counter() - started, 3)})
        self.save()
        return time.perf_counter() - began

    def run(self, train: torch.Tensor, val: torch.Tensor, val_chars: int | None) -> TrainResult:
        from tqdm.auto import tqdm

        cfg = self.config
        if len(val) < 2:
            raise ValueError("the validation split has fewer than 2 tokens; nothing to validate on")
        tokens_per_char = len(val) / val_chars if val_chars else 1.0
        batch = self._batches(train)
        torch.manual_seed(cfg.seed + self.rank)
        resumed_from = self.resume()
        started = time.perf_counter()
        bar = tqdm(total=cfg.max_steps, initial=self.step, unit="step", dynamic_ncols=True, leave=False, mininterval=1,
                   disable=not cfg.progress or self.rank != 0)
        tokens, loss_value, eval_seconds, first_eval, stopped = 0, math.nan, 0.0, 0.0, ""
        last_eval = -1
        try:
            while True:
                elapsed = self._elapsed(started)
                if cfg.max_steps is not None and self.step >= cfg.max_steps:
                    stopped = "max_steps"
                elif cfg.max_seconds is not None and elapsed + (eval_seconds or first_eval) >= cfg.max_seconds:
                    stopped = "max_seconds"
                elif cfg.patience is not None and self.bad_evals >= cfg.patience:
                    stopped = "patience"
                if stopped:
                    break
                progress = max(
                    (self.step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
                    if cfg.max_steps is not None else 0.0,
                    elapsed / cfg.max_seconds if cfg.max_seconds is not None else 0.0)
                lr = cfg.lr_at(self.step, progress)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                x, y, reset = batch(self.step)
                state = self.task.init_state(len(x), self.device) if reset or self.state is None else self.state
                with autocast(self.device):
                    loss, new_state = self.task.loss(self.model, x, y, state)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip is not None:
                    nn.utils.clip_grad_norm_(self.module.parameters(), cfg.grad_clip)
                self.optimizer.step()
                self.state = _detach(new_state)
                self.step += 1
                tokens += y.numel() * self.world
                loss_value = float(loss.detach())
                if self.step == 1 + (resumed_from or 0) and not eval_seconds:
                    # until a validation is timed, guess it from this step: a forward pass is ~1/3 of a step
                    val_tokens = min(len(val), cfg.eval_tokens or len(val))
                    first_eval = (time.perf_counter() - started) * val_tokens / y.numel() / 3
                if not math.isfinite(loss_value):
                    raise FloatingPointError(f"training loss became {loss_value} at step {self.step}; "
                                             "lower lr or raise warmup_steps")
                record: dict[str, Any] = {"step": self.step, "loss": loss_value, "lr": lr}
                if self.step % cfg.eval_every == 0:
                    eval_seconds = self._validate(val, tokens_per_char, started, loss_value)
                    last_eval = self.step
                    record["val_bpc"] = self.history[-1]["val_bpc"]
                    if not bar.disable:
                        bar.write(f"step {self.step}: train loss {loss_value:.4f}, "
                                  f"val {record['val_bpc']:.4f} bpc", file=sys.stderr)
                bar.update(1)
                if self.step % 10 == 0 or "val_bpc" in record:
                    rate = tokens / max(time.perf_counter() - started, 1e-9)
                    bar.set_postfix(loss=f"{loss_value:.3f}", val_bpc=f"{self.best_bpc:.3f}", tok_s=f"{rate:.0f}")
                if self.callback is not None:
                    self.callback(self.step, record)
        except KeyboardInterrupt:
            self.save()
            bar.close()
            raise
        if last_eval != self.step:
            self._validate(val, tokens_per_char, started, loss_value)
        bar.close()
        if self.best_weights is not None:
            self.module.load_state_dict(self.best_weights)
        return TrainResult(steps=self.step, best_step=self.best_step, best_val_bpc=self.best_bpc,
                           last_loss=loss_value, stopped=stopped, seconds=time.perf_counter() - started,
                           tokens=tokens, device=str(self.device), world_size=self.world,
                           resumed_from=resumed_from, history=self.history)
