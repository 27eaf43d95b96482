"""Typed options: pydantic models whose field descriptions the CLI and dashboard show.

Every option a user can set (sampling, a plugin's training options) is a field of a
pydantic model, as in simonw/llm. This module turns loose values (keyword arguments,
``-o key=value`` strings) into such a model, and pydantic's errors into one line that
names the parameter.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import TextgenError
from .machine import Device

M = TypeVar("M", bound=BaseModel)

#: Seeds every plugin accepts: what numpy, torch and Python's `random` all take without overflow,
#: with room for the per-step and per-rank seeds the training loop derives from it.
MAX_SEED = 2**32 - 1
#: The largest whole-number option: what a C int (torch's sizes, numpy's counts) holds.
MAX_INT = 2**31 - 1
#: Validations without a new best before training stops early (``patience``; 0 never stops early). The
#: trainer spreads its validations over the budget (`toolkit.neural.trainer.EVALUATIONS`, 20), so 5 in a row
#: without a new best is a quarter of the budget on a plateau, not noise.
DEFAULT_PATIENCE = 5
#: What a training budget means when none is set (steps; the neural plugins' default).
DEFAULT_STEPS = 2000


def auto(description: str, how: str = "from the budget, corpus and device", **constraints: Any) -> Any:
    """A pydantic field the sizing rule (`toolkit.neural.sizing`) fills when the user leaves it unset;
    ``textgen options`` marks it auto (`describe`)."""
    return Field(None, description=f"{description}; auto: {how} (docs/sizing.md).",
                 json_schema_extra={"auto": True}, **constraints)


class OptionError(TextgenError, ValueError):
    """An option with a bad name or value; the message names the parameter."""


class Options(BaseModel):
    """Base class for a plugin's options: unknown keys are errors, not silently ignored.

    No float option may be NaN or infinite: ``lr=inf`` would train for the whole budget
    and save a model of NaNs, so it is refused here, with the field named.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=(), allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _fits_a_c_int(cls, value: Any) -> Any:
        """Sizes and counts reach torch and numpy as C ints: ``batch_size=2**70`` is refused here, by name."""
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ValueError(f"must be at most {MAX_INT} in size")
        return value


class TrainingOptions(Options):
    """Options every plugin trained with the shared torch loop (`toolkit.neural`) takes.

    Plain pydantic, no torch: plugins subclass it and add their sizes, learning rate and
    batch shape, whose defaults differ per model.
    """

    min_lr: float | None = Field(None, ge=0, description="Learning rate at the end of the cosine decay "
                                                         "(default lr/10).")
    grad_clip: float = Field(1.0, gt=0, description="Maximum global gradient norm.")
    max_steps: int | None = Field(None, ge=1, description="Optimizer steps (default 2000 unless another budget "
                                                          "is set).")
    max_seconds: float | None = Field(None, gt=0, description="Training time budget in seconds: what this machine "
                                                               "trains in that time (not reproducible elsewhere).")
    max_tokens: int | None = Field(None, ge=1, description="Training budget in tokens (whole steps, rounded down): "
                                                           "the same model on any machine.")
    max_flops: float | None = Field(None, gt=0, description="Training budget in FLOPs, the model's stated count per "
                                                            "token times tokens (whole steps, rounded down): the same "
                                                            "model on any machine, comparable across families.")
    patience: int | None = auto("Stop after this many validations without a new best held-out figure (0: never)",
                                how=f"{DEFAULT_PATIENCE}, the validations spread over the budget", ge=0)
    device: Device = Field("auto", description="Where to train and run (bf16 on CUDA).")
    cpu_threads: int | None = Field(None, ge=1, description="torch threads on the CPU, for training and generation "
                                                            "(default: TEXTGEN_THREADS, else the cores other jobs "
                                                            "leave free, shared among the models running at once).")
    progress: bool = Field(True, description="Show a progress bar while training.")

    @model_validator(mode="after")
    def _min_lr_below_peak(self) -> TrainingOptions:
        """The cosine decay runs from the peak ``lr`` (a subclass's field) down to ``min_lr``."""
        peak = getattr(self, "lr", None)
        if self.min_lr is not None and peak is not None and self.min_lr > peak:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed lr ({peak})")
        return self

    @model_validator(mode="after")
    def _one_kind_of_budget(self) -> TrainingOptions:
        """A compute budget reproduces and a seconds budget does not; both at once would be neither."""
        if self.max_seconds is not None and (self.max_flops is not None or self.max_tokens is not None):
            given = "max_flops" if self.max_flops is not None else "max_tokens"
            raise ValueError(f"give max_seconds or {given}, not both: {given} trains the same model on any machine "
                             "(validations count steps), max_seconds what this machine trains in that time")
        return self

    def budget(self) -> dict[str, Any]:
        """The budget fields `toolkit.neural.TrainConfig` takes; none set: `DEFAULT_STEPS` steps."""
        given = {"max_steps": self.max_steps, "max_seconds": self.max_seconds, "max_tokens": self.max_tokens,
                 "max_flops": self.max_flops}
        if all(value is None for value in given.values()):
            given["max_steps"] = DEFAULT_STEPS
        return given


def check_seed(seed: Any, what: str = "seed") -> int:
    """The one rule for seeds, on every plugin and entry point: a whole number in 0..`MAX_SEED`."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise OptionError(f"{what} must be a whole number from 0 to {MAX_SEED} (2**32 - 1), got {seed!r}")
    return seed


def parse_options(model: type[M], values: dict[str, Any], what: str = "option") -> M:
    """Validate ``values`` against ``model``, raising `OptionError` naming the parameter."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                known = ", ".join(model.model_fields) or "none"
                problems.append(f"unknown {what} {name!r} (known: {known})")
            elif not name:  # a check across fields names them in its message
                problems.append(f"{what}s: {message}")
            else:
                problems.append(f"{what} {name}={err.get('input')!r}: {message}")
        raise OptionError("; ".join(problems)) from None


def parse_pairs(pairs: list[str] | None) -> dict[str, str]:
    """Turn CLI ``-o key=value`` pairs into a dict; pydantic coerces the strings later."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"option {pair!r} is not key=value")
        values[key.strip().replace("-", "_")] = value.strip()
    return values


def describe(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Name, type, default and description of each field, for help screens and forms.

    ``auto`` is true for a field the sizing rule fills when it is left unset (`auto`).
    """
    rows = []
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        annotation = field.annotation
        type_name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
        rows.append(
            {
                "name": name,
                "type": type_name,
                "default": field.default,
                "description": field.description or "",
                "constraints": [str(m) for m in field.metadata],
                "auto": bool(extra.get("auto")),
            }
        )
    return rows
