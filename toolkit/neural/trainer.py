"""The one training loop every neural plugin uses (recurrent and transformer alike).

A plugin wraps its model in a `Task` (the module, its loss, and for a recurrent
model the hidden state to carry), picks a `TrainConfig` and calls `fit`. The loop
gives every plugin the same things: AdamW with weight decay on matrices only,
gradient clipping, linear warm-up then cosine decay, bf16 autocast on CUDA,
a held-out estimate in bits per character (``val_bpc_estimate``, on the fixed
evaluation slice of `toolkit.data.heldout`, unknown characters charged as `score` charges
them) at regular validations (`_Cadence`: every ``eval_every`` steps, or by default
`EVALUATIONS` of them spread over the budget) and a few more before the first, so the
learning curve is dense early; the best weights on that estimate kept and restored at
the end; early stopping after ``patience`` validations without a new best, said in one
line; step, token, FLOP and wall-clock budgets; training FLOPs counted (`Task.flops_per_token`)
on every curve point and in ``training["compute"]``; resumable checkpoints (written at every regular
validation and on Ctrl-C, never holding non-finite weights, and refused on resume if
they do); one clear line on divergence; progress in bits per character (a tqdm bar on a terminal,
a line every few seconds in a log);
seeded reproducible CPU runs; and torchrun / DistributedDataParallel.

Two ways to cut batches from the token stream (`TrainConfig.batching`):

* ``"contiguous"`` (char-rnn): the training ids are cut into ``batch_size`` parallel
  streams read left to right in windows of ``seq_len``; the state `Task.loss` returns
  is detached and fed to the next window (truncated backpropagation through time),
  and reset to `Task.init_state` when the streams wrap round.
* ``"random"`` (nanoGPT): each row is a random window, and the state is
  `Task.init_state` every step (``None`` for a transformer).

Batches are a pure function of (seed, rank, step), so a resumed run sees exactly the
batches the uninterrupted one would have.

A step, token or FLOP budget (``max_steps``, ``max_tokens``, ``max_flops``) reproduces: it
fixes the number of steps before the first one, and the validations, the checkpoints, the
learning-rate schedule and early stopping then count steps, never the clock, so the same
seed and thread count give the same weights and the same ``val_bpc`` on any machine. Only a
seconds budget (``max_seconds``) looks at the clock.
"""

from __future__ import annotations

import gc
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

from ..data.heldout import HeldOut
from ..errors import TextgenError
from ..machine import DEVICES, cpu_name
from .checkpoint import load_module, optimizer_from_tensors, optimizer_to_tensors, read_checkpoint, write_checkpoint
from .device import autocast, distributed, pick_device, use_cpu_threads
from .progress import progress_bar

CHECKPOINT_FORMAT = "textgen-train-state"
#: Regular validations spread over the budget when ``eval_every`` is unset, so that ``patience`` of them in a
#: row without a new best (the rule's 5: a quarter of the budget) is a plateau rather than noise.
EVALUATIONS = 20
#: Under a seconds budget, at most this share of the time goes to regular validations (they space out further).
EVAL_SHARE = 0.05
#: ``callback(step, record)`` after every step; raising KeyboardInterrupt there saves and stops like Ctrl-C.
Callback = Callable[[int, dict[str, Any]], None]


class Task:
    """What the loop needs to know about a model. Subclass it in the plugin.

    ``module`` holds every trained parameter; the loop moves it to the device (and
    wraps it for DDP). Keep the module small enough to clone: the best weights are
    kept as a copy on the same device.
    """

    module: nn.Module
    #: The stop line's advice when validation stops improving before the budget ends, e.g.
    #: ``"a larger model (-o hidden_size=768) could use the rest of the budget"`` (`sizing.plateau_hint`).
    plateau_hint: str = ""

    #: `flops_per_token`'s formula in words, recorded beside it in ``training["compute"]["formula"]``.
    flops_formula: str = "6N per token, N = weights outside embedding tables (the loop's default estimate)"

    def flops_per_token(self) -> float:
        """Training FLOPs (forward and backward) per token of this model: what a compute budget counts.

        The default is the usual 6N (2N forward, 4N backward) over the weights that multiply
        (`non_embedding_weights`); a plugin overrides it with its model's own count and sets
        `flops_formula`, so a budget in FLOPs means the same work on any machine.
        """
        return 6.0 * non_embedding_weights(self.module)

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


def non_embedding_weights(module: nn.Module) -> int:
    """Weights outside embedding tables: those a token multiplies (a lookup costs no FLOPs; Kaplan's N)."""
    lookups = {id(p) for m in module.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    return sum(p.numel() for p in module.parameters() if id(p) not in lookups)


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
    #: steps between regular validations (and checkpoints); None: `EVALUATIONS` spread over the budget, by the
    #: clock under ``max_seconds`` alone or with ``max_steps`` (at most `EVAL_SHARE` of it spent validating), else
    #: over the steps the step, token or FLOP budget allows
    eval_every: int | None = 250
    eval_tokens: int | None = 65536  #: size of the evaluation slice, spread over the split; None for all
    patience: int | None = None  #: stop after this many validations without a new best; None or 0: never
    device: str = "auto"
    cpu_threads: int | None = None  #: torch threads when training on the CPU; None: the toolkit's rule
    seed: int = 0
    progress: bool = True  #: show progress (rank 0 only): a bar on a terminal, lines in a log
    #: the budgets added in plugin API 1.1 come last, so positional calls written for 1.0 keep their meaning
    max_tokens: int | None = None  #: training tokens in all, all processes together (whole steps, rounded down)
    max_flops: float | None = None  #: training FLOPs in all (tokens x `Task.flops_per_token`; whole steps, down)

    def __post_init__(self) -> None:
        if (self.max_steps, self.max_seconds, self.max_tokens, self.max_flops) == (None,) * 4:
            raise ValueError("give max_steps, max_tokens, max_flops or max_seconds: training needs a budget")
        positive = {"batch_size": self.batch_size, "seq_len": self.seq_len, "eval_every": self.eval_every,
                    "lr": self.lr, "max_steps": self.max_steps, "max_seconds": self.max_seconds,
                    "max_tokens": self.max_tokens, "max_flops": self.max_flops,
                    "eval_tokens": self.eval_tokens, "grad_clip": self.grad_clip, "cpu_threads": self.cpu_threads}
        for name, value in positive.items():
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        for name, value in {"warmup_steps": self.warmup_steps, "weight_decay": self.weight_decay,
                            "min_lr": self.min_lr, "seed": self.seed, "patience": self.patience}.items():
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

    def step_budget(self, tokens_per_step: int, flops_per_token: float) -> tuple[int | None, str]:
        """The steps the step, token and FLOP budgets allow (the tightest), and which one that is.

        ``(None, "max_seconds")`` under a seconds budget alone. A token or FLOP budget buys whole
        steps, rounded down (at least one), so the run never spends more than it was given.
        """
        limits = []
        if self.max_steps is not None:
            limits.append((self.max_steps, "max_steps"))
        if self.max_tokens is not None:
            limits.append((max(1, self.max_tokens // tokens_per_step), "max_tokens"))
        if self.max_flops is not None:
            if not flops_per_token > 0:
                raise ValueError(f"max_flops needs the model's training FLOPs per token (Task.flops_per_token), "
                                 f"got {flops_per_token!r}")
            limits.append((max(1, int(self.max_flops // (tokens_per_step * flops_per_token))), "max_flops"))
        return min(limits) if limits else (None, "max_seconds")


class Diverged(TextgenError):
    """The training loss or the weights became NaN or infinite; the checkpoint on disk stays the last finite one."""


@dataclass
class TrainResult:
    """How a `fit` went. Estimates are on the fixed evaluation slice (`toolkit.data.heldout`), not the whole split."""

    steps: int
    best_step: int
    best_val_bpc_estimate: float
    last_loss: float
    stopped: str  #: "max_steps", "max_tokens", "max_flops", "max_seconds" or "patience"
    message: str  #: one line saying when and why training stopped
    seconds: float  #: wall-clock seconds of this call
    tokens: int  #: training tokens seen in this call, all processes together
    device: str
    world_size: int
    resumed_from: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    curve: list[dict[str, Any]] = field(default_factory=list)  #: ``training["curve"]`` points, resumed runs included
    curve_slice: dict[str, Any] = field(default_factory=dict)
    cpu_threads: int | None = None  #: torch CPU threads the toolkit's rule chose (None on a GPU)
    patience: int | None = None  #: validations without a new best that stop training (None: never)
    evaluations: str = ""  #: when the regular validations ran, in words (`_Cadence.describe`)
    flops_per_token: float = 0.0  #: training FLOPs per token (`Task.flops_per_token`)
    flops_formula: str = ""  #: `Task.flops_formula`
    flops: float = 0.0  #: training FLOPs of the whole run, a resumed one's earlier steps included
    budget: dict[str, Any] = field(default_factory=dict)  #: what bounded the run: ``{"unit": ..., "value": ...}``

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def compute(self) -> dict[str, Any]:
        """``training["compute"]``: the FLOPs counted, what this machine sustained, the budget and the machine."""
        device = self.device.split(":")[0]
        return {"kind": "training", "flops_per_token": self.flops_per_token, "formula": self.flops_formula,
                "flops": self.flops, "flops_per_second": self.tokens_per_second * self.flops_per_token,
                "tokens_per_second": self.tokens_per_second, "budget": self.budget,
                "machine": {"cpu": cpu_name(), "threads": self.cpu_threads, "device": device}}

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_second": self.tokens_per_second}

    def manifest(self) -> dict[str, Any]:
        """What a plugin puts in ``model.training``: the curve, how it stopped, where it resumed from."""
        fit = {k: v for k, v in self.to_json().items() if k not in ("history", "curve", "curve_slice")}
        return {"fit": fit, "history": self.history, "curve": self.curve, "curve_slice": self.curve_slice,
                "stopped": self.message, "resumed_from": self.resumed_from, "compute": self.compute()}


def fit(task: Task, train_ids: Sequence[int] | np.ndarray | torch.Tensor,
        val: HeldOut | Sequence[int] | np.ndarray | torch.Tensor, config: TrainConfig, *,
        val_chars: int | None = None, train_chars: int | None = None, checkpoint_dir: str | Path | None = None,
        callback: Callback | None = None) -> TrainResult:
    """Train ``task.module`` in place; on return it holds the best weights on the evaluation slice.

    ``val`` is a `HeldOut` slice (``HeldOut.from_text(corpus.val, tokenizer, config.eval_tokens)``,
    which charges unknown characters as `Generator.score` does), or plain validation ids
    that spell ``val_chars`` characters. ``train_chars`` is how many characters the
    training ids spell; without these two the loop reports bits per token. With
    ``checkpoint_dir`` a checkpoint there is resumed from (unless it holds non-finite
    weights), a new one is written every ``eval_every`` steps, and Ctrl-C writes one
    before the KeyboardInterrupt goes on up. Under torchrun every process calls `fit`;
    only rank 0 writes.
    """
    device = pick_device(config.device)
    threads = use_cpu_threads(config.cpu_threads) if device.type == "cpu" else None
    train = _as_ids(train_ids, device)
    if not isinstance(val, HeldOut):
        ids = _as_ids(val, device).tolist()
        val = HeldOut.from_ids(ids, config.eval_tokens, val_chars / len(ids) if val_chars and ids else 1.0)
    with distributed(device) as (rank, world):
        loop = _Loop(task, config, device, rank, world, checkpoint_dir, callback)
        result = loop.run(train, val, (train_chars or len(train)) / max(1, len(train)))
        if world > 1:  # the DDP wrapper and its gloo work go now, while the process group is whole: left to
            del loop  # interpreter exit, gloo's threads touched Python objects mid-teardown (SIGABRT now and then)
            gc.collect()
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


def _finite(tensors: dict[str, torch.Tensor]) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in tensors.values() if t.is_floating_point())


def _doubling(every: int) -> list[int]:
    """Steps doubling from every/16 up to (not including) ``every``: the early validations of a step cadence."""
    step, steps = max(1, every // 16), []
    while step < every:
        steps.append(step)
        step *= 2
    return steps


class _Cadence:
    """When to validate: regular validations (which also checkpoint), and early ones so curves start dense.

    By steps, every ``eval_every`` (or, unset under a step, token or FLOP budget, every ``steps / EVALUATIONS``
    of the steps it allows: nothing clock-based, so such a run reproduces). Unset under a seconds budget
    (alone or with ``max_steps``), by the clock: every ``max_seconds / EVALUATIONS`` seconds, spaced
    further while a validation costs more than `EVAL_SHARE` of that, so early stopping's ``patience``
    counts validations spread over the whole budget however fast the model trains. Either way the
    early ones fall at about 1/16, 1/8, 1/4 and 1/2 of the first interval.
    """

    def __init__(self, config: TrainConfig, steps: int | None) -> None:
        self.by_clock = (config.eval_every is None and config.max_seconds is not None
                         and config.max_tokens is None and config.max_flops is None)
        if self.by_clock:
            self.every: float = config.max_seconds / EVALUATIONS  # type: ignore[operator]
        else:
            self.every = config.eval_every or max(1, (steps or 0) // EVALUATIONS)
        self.early: list[float] = ([self.every / 2**k for k in (4, 3, 2, 1)] if self.by_clock
                                   else list(_doubling(int(self.every))))
        self.next = self.every

    def due(self, step: int, elapsed: float, eval_seconds: float) -> bool | None:
        """True: a regular validation now; False: an early one; None: not now."""
        if not self.by_clock:
            return True if step % self.every == 0 else False if step in self.early else None
        passed = bool(self.early) and elapsed >= self.early[0]
        self.early = [mark for mark in self.early if mark > elapsed]  # every early mark is before the first regular
        if elapsed >= self.next:
            self.next = elapsed + max(self.every, eval_seconds / EVAL_SHARE)
            return True
        return False if passed else None

    def describe(self) -> str:
        if self.by_clock:
            return (f"every {self.every:.3g} s (max_seconds / {EVALUATIONS}), or more while a validation takes "
                    f"over {EVAL_SHARE:.0%} of that")
        return f"every {self.every} steps"


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
        self.curve: list[dict[str, Any]] = []
        self.state: Any = None
        self.seconds_before = 0.0  # training seconds of the run this one resumes
        self.started = time.perf_counter()
        self.eval_seconds = 0.0  # how long the last validation took (0 until one ran)
        self.tokens_per_step = config.batch_size * config.seq_len * world
        self.flops_per_token = float(task.flops_per_token())
        self.limit, self.unit = config.step_budget(self.tokens_per_step, self.flops_per_token)
        self.cadence = _Cadence(config, self.limit)
        self.tokens, self.loss_value, self.last_eval = 0, math.nan, -1
        self.chars_per_token = 1.0

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

    def _slice_rows(self, held: HeldOut) -> torch.Tensor:
        """The slice's windows as ``(windows, length)`` ids, cut to the shortest so they batch."""
        length = min(len(w) for w in held.windows) if held.windows else 0
        if length < 2:
            raise ValueError("the validation split has fewer than 2 tokens; nothing to validate on")
        return torch.tensor([w[:length] for w in held.windows], dtype=torch.long, device=self.device)

    @torch.no_grad()
    def evaluate(self, rows: torch.Tensor) -> float:
        """Mean nats per token over the slice's windows, each a stream with its state carried."""
        share = math.ceil(len(rows) / self.world)
        mine = rows[self.rank * share : (self.rank + 1) * share]
        xs, ys = mine[:, :-1], mine[:, 1:]
        totals = torch.zeros(2, dtype=torch.float64, device=self.device)
        self.module.eval()
        try:
            state = self.task.init_state(len(xs), self.device) if len(xs) else None
            for i in range(0, xs.shape[1] if len(xs) else 0, self.config.seq_len):
                x, y = xs[:, i : i + self.config.seq_len], ys[:, i : i + self.config.seq_len]
                with autocast(self.device):
                    loss, state = self.task.loss(self.module, x, y, state)
                totals += torch.stack([loss.double() * y.numel(), torch.tensor(y.numel(), device=self.device)])
        finally:
            self.module.train()
        if self.world > 1:
            torch.distributed.all_reduce(totals)
        return float(totals[0] / totals[1])

    def _estimate(self, rows: torch.Tensor, held: HeldOut) -> float:
        """``val_bpc_estimate``: the slice's code length per character, unknown characters charged."""
        nats = self.evaluate(rows) * held.tokens + held.unknown_nats
        return nats / held.chars / math.log(2)

    def _validate(self, rows: torch.Tensor, held: HeldOut, regular: bool = True) -> None:
        """Estimate on the slice, keep the best weights, record a curve point; time it for the budget.

        A regular validation (not an early one) and the last one write a checkpoint.
        """
        began = time.perf_counter()
        bpc = self._estimate(rows, held)
        if not math.isfinite(bpc):
            raise self._diverged(f"the held-out estimate became {bpc}")
        if bpc < self.best_bpc:
            self.best_bpc, self.best_step, self.bad_evals = bpc, self.step, 0
            self.best_weights = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        else:
            self.bad_evals += 1
        seconds = round(self.seconds_before + time.perf_counter() - self.started, 3)
        tokens = self.step * self.tokens_per_step
        self.history.append({"step": self.step, "train_bpc": self._bpc(self.loss_value),
                             "val_bpc_estimate": bpc, "seconds": seconds})
        self.curve.append({"seconds": seconds, "tokens": tokens, "chars": round(tokens * self.chars_per_token),
                           "flops": tokens * self.flops_per_token, "val_bpc_estimate": bpc})
        self.last_eval = self.step
        if regular or self._stop_reason(time.perf_counter() - self.started):
            self.save()
        self.eval_seconds = self._most(time.perf_counter() - began)

    def _bpc(self, nats_per_token: float) -> float:
        return nats_per_token / self.chars_per_token / math.log(2)

    def _diverged(self, what: str) -> Diverged:
        cfg = self.config
        kept = f"; the checkpoint in {self.checkpoint_dir} is the last finite one" if self.checkpoint_dir else ""
        return Diverged(f"training diverged at step {self.step + 1}: {what}; lower lr (now {cfg.lr:g}) or raise "
                        f"warmup_steps (now {cfg.warmup_steps}){kept}")

    # -- checkpoints ----------------------------------------------------------------------

    def save(self) -> None:
        """Write a resumable checkpoint, never one holding non-finite weights."""
        if self.checkpoint_dir is None or self.rank != 0:
            return
        tensors = {f"model.{k}": v for k, v in self.module.state_dict().items()}
        if not _finite(tensors):
            raise self._diverged("the weights became non-finite")
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
            "format": CHECKPOINT_FORMAT, "step": self.step, "best_val_bpc_estimate": self.best_bpc,
            "best_step": self.best_step, "bad_evals": self.bad_evals, "history": self.history, "curve": self.curve,
            "seconds": self.seconds_before + time.perf_counter() - self.started,
            "saved": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "carry": layout, "optimizer": optim_meta, "world_size": self.world, "config": asdict(self.config)})

    def _say(self, line: str) -> None:
        if self.rank == 0:
            print(line, file=sys.stderr, flush=True)

    def _readable_checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """The checkpoint to resume, or None; one holding non-finite weights is refused (a fresh run starts)."""
        found = read_checkpoint(self.checkpoint_dir, self.device) if self.checkpoint_dir is not None else None
        if found is None:
            return None
        tensors, meta = found
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"checkpoint {self.checkpoint_dir} is not a textgen training checkpoint "
                             "(delete it, or pass --fresh)")
        if not _finite({k: v for k, v in tensors.items() if k.startswith(("model.", "best."))}):
            self._say(f"textgen: warning: not resuming {self.checkpoint_dir}: it holds non-finite weights "
                      "(a run that diverged); starting fresh")
            return None
        return tensors, meta

    def resume(self) -> int | None:
        """Load the checkpoint in ``checkpoint_dir``, if any and sound; return the step it was taken at."""
        found = self._readable_checkpoint()
        if found is None:
            return None
        tensors, meta = found
        where = f"checkpoint {self.checkpoint_dir} (pass --fresh to start over)"
        load_module(self.module, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, where)
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        self.best_weights = best or None
        try:
            optimizer_from_tensors(self.optimizer, tensors, meta["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ValueError(f"{where}: optimizer state does not fit ({exc})") from None
        self.step, self.best_step, self.bad_evals = meta["step"], meta["best_step"], meta["bad_evals"]
        self.best_bpc, self.history = meta["best_val_bpc_estimate"], meta["history"]
        self.curve, self.seconds_before = meta.get("curve", []), meta.get("seconds", 0.0)
        carried = [tensors[f"carry.{i}"] for i in range(sum(1 for k in tensors if k.startswith("carry.")))]
        if self.rank == 0 and meta.get("world_size", 1) == self.world:
            self.state = _unflatten(meta["carry"], carried)
        torch.set_rng_state(tensors["rng.cpu"].cpu())
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"].cpu(), self.device)
        self._say(f"resuming from step {self.step} of a run interrupted at {meta.get('saved', 'an unknown time')} "
                  "(--fresh to start over)")
        return self.step

    # -- the loop -------------------------------------------------------------------------

    def _most(self, seconds: float) -> float:
        """The largest of every process's ``seconds``, so timed decisions (stop, validate) agree across them."""
        if self.world > 1:
            t = torch.tensor([seconds], dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
            seconds = float(t)
        return seconds

    def _elapsed(self) -> float:
        """Seconds since this call started, the same on every process (their maximum) so they stop together."""
        return self._most(time.perf_counter() - self.started)

    def _stop_reason(self, elapsed: float) -> str:
        """Why to stop before the next step ("" to go on); a time budget keeps room for the last validation."""
        cfg = self.config
        if self.limit is not None and self.step >= self.limit:
            return self.unit
        if cfg.max_seconds is not None and elapsed + self.eval_seconds >= cfg.max_seconds:
            return "max_seconds"
        if cfg.patience and self.bad_evals >= cfg.patience:
            return "patience"
        return ""

    def _progress(self, elapsed: float) -> float:
        """How much of the budget is spent (0..1), for the learning-rate schedule."""
        cfg = self.config
        by_steps = ((self.step - cfg.warmup_steps) / max(1, self.limit - cfg.warmup_steps)
                    if self.limit is not None else 0.0)
        return max(by_steps, elapsed / cfg.max_seconds if cfg.max_seconds is not None else 0.0)

    def _train_step(self, batch: Callable[[int], tuple[torch.Tensor, torch.Tensor, bool]], elapsed: float) -> float:
        """One optimizer step; returns the learning rate it used."""
        cfg = self.config
        lr = cfg.lr_at(self.step, self._progress(elapsed))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y, reset = batch(self.step)
        state = self.task.init_state(len(x), self.device) if reset or self.state is None else self.state
        with autocast(self.device):
            loss, new_state = self.task.loss(self.model, x, y, state)
        self.loss_value = float(loss.detach())
        if not math.isfinite(self.loss_value):
            raise self._diverged(f"the training loss became {self.loss_value}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.module.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.state = _detach(new_state)
        self.step += 1
        self.tokens += y.numel() * self.world
        return lr

    def _guess_eval_seconds(self, first_step_seconds: float, rows: torch.Tensor) -> None:
        """Until a validation is timed, guess it from the first step: a forward pass is ~1/3 of a step."""
        if not self.eval_seconds:
            tokens_per_step = self.config.batch_size * self.config.seq_len
            self.eval_seconds = self._most(first_step_seconds * rows.numel() / tokens_per_step / 3)

    def _show(self, bar: Any, record: dict[str, Any]) -> None:
        """The progress bar, in bits per character; the held-out estimate only once there is one."""
        if bar.disable:
            return
        if "val_bpc_estimate" in record:
            bar.write(f"step {self.step}: train {record['train_bpc']:.4f} bits/char, held-out "
                      f"{record['val_bpc_estimate']:.4f} bits/char (val_bpc_estimate, evaluation slice)",
                      file=sys.stderr)
        bar.update(1)
        if self.step % 10 == 0 or "val_bpc_estimate" in record:
            shown = {"train_bpc": f"{record['train_bpc']:.3f}"}
            if self.history:
                shown["val_bpc_estimate"] = f"{self.best_bpc:.3f}"
            shown["tok_s"] = f"{self.tokens / max(time.perf_counter() - self.started, 1e-9):.0f}"
            bar.set_postfix(shown)

    def _after_step(self, rows: torch.Tensor, held: HeldOut, lr: float, bar: Any) -> None:
        record: dict[str, Any] = {"step": self.step, "loss": self.loss_value, "lr": lr,
                                  "train_bpc": self._bpc(self.loss_value)}
        regular = self.cadence.due(self.step, self._elapsed() if self.cadence.by_clock else 0.0, self.eval_seconds)
        if regular is not None:
            self._validate(rows, held, regular)
            record["val_bpc_estimate"] = self.history[-1]["val_bpc_estimate"]
        self._show(bar, record)
        if self.callback is not None:
            self.callback(self.step, record)

    def _message(self, stopped: str, seconds: float) -> str:
        cfg = self.config
        if stopped == "patience":
            tail = f"; {self.task.plateau_hint}" if self.task.plateau_hint else ""
            return (f"stopped at {seconds:.0f} s (step {self.step}): held-out bits/char stopped improving for "
                    f"{cfg.patience} evaluations{tail}")
        value = getattr(cfg, stopped)
        shown = f"{value:g}" if isinstance(value, float) else value
        return f"stopped at {seconds:.0f} s (step {self.step}): budget {stopped}={shown} spent"

    def _budget(self, stopped: str) -> dict[str, Any]:
        """``compute["budget"]``: the budget that ended the run (the binding one, if patience did)."""
        unit = stopped if stopped.startswith("max_") else self.unit
        return {"unit": unit.removeprefix("max_"), "value": getattr(self.config, unit)}

    def _loop(self, batch: Callable[[int], tuple[torch.Tensor, torch.Tensor, bool]], rows: torch.Tensor,
              held: HeldOut, bar: Any) -> str:
        """Step until a budget or the patience runs out; return which."""
        resumed_at = self.step
        while not (stopped := self._stop_reason(self._elapsed())):
            lr = self._train_step(batch, self._elapsed())
            if self.step == resumed_at + 1:
                self._guess_eval_seconds(time.perf_counter() - self.started, rows)
            self._after_step(rows, held, lr, bar)
        return stopped

    def run(self, train: torch.Tensor, held: HeldOut, chars_per_token: float) -> TrainResult:
        cfg = self.config
        rows = self._slice_rows(held)
        self.chars_per_token = chars_per_token
        batch = self._batches(train)
        torch.manual_seed(cfg.seed + self.rank)
        resumed_from = self.resume()
        self.started = time.perf_counter()
        bar = progress_bar(self.limit, self.step, disable=not cfg.progress or self.rank != 0)
        try:
            stopped = self._loop(batch, rows, held, bar)
            if self.last_eval != self.step:
                self._validate(rows, held)
        except KeyboardInterrupt:
            self.save()
            raise
        finally:
            bar.close()
        if self.best_weights is not None:
            self.module.load_state_dict(self.best_weights)
        seconds = time.perf_counter() - self.started
        message = self._message(stopped, self.seconds_before + seconds)
        if cfg.progress:
            self._say(message)
        return TrainResult(steps=self.step, best_step=self.best_step, best_val_bpc_estimate=self.best_bpc,
                           last_loss=self.loss_value, stopped=stopped,
                           message=message, seconds=seconds,
                           tokens=self.tokens, device=str(self.device), world_size=self.world,
                           resumed_from=resumed_from, history=self.history, curve=self.curve,
                           curve_slice=held.describe(), patience=cfg.patience or None,
                           evaluations=self.cadence.describe(), flops_per_token=self.flops_per_token,
                           flops_formula=self.task.flops_formula,
                           flops=self.step * self.tokens_per_step * self.flops_per_token,
                           budget=self._budget(stopped))
