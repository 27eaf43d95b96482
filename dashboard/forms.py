"""Pydantic options drawn as Streamlit inputs, so any plugin's options get controls for free.

Inputs return raw values; `toolkit.options.parse_options` validates them afterwards, so
a bad value becomes one message naming the parameter instead of a widget that silently
clamps it.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, Literal

import streamlit as st
from pydantic import BaseModel, Field

from toolkit.generation.sampling import SamplingOptions
from toolkit.options import Options, describe, parse_options


class RunOptions(Options):
    """How much to generate per column; drawn beside `SamplingOptions`.

    The budget is characters, not tokens: a word model's 120 tokens are four times a
    character model's text, and the columns would not compare.
    """

    max_chars: int = Field(300, ge=1, le=20_000, description="Characters per sample, for word and character "
                           "models alike, so the columns compare the same length of text.")
    seed: int = Field(0, ge=0, description="Sample i uses seed + i: the same seed gives the same text.")
    num_samples: int = Field(2, ge=1, le=20, description="Samples per model; the metrics compare them.")


#: A column's settings, parsed: how much to generate, and how to sample it.
Settings = tuple[RunOptions, SamplingOptions]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside ``X | None``, and whether None is allowed."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else annotation), True
    return annotation, False


def _choices(annotation: Any) -> list[Any] | None:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [m.value for m in annotation]
    return None


def option_inputs(model: type[BaseModel], *, key: str, defaults: dict[str, Any] | None = None,
                  where: Any = st) -> dict[str, Any]:
    """Draw one input per field of ``model`` in ``where``; return the raw values by name.

    ``defaults`` replace the model's defaults (a column starts from the shared settings).
    Widget keys are ``{key}.{field}``, stable across reruns and selectors for tests.
    """
    values: dict[str, Any] = {}
    for row in describe(model):
        name, help_text = row["name"], row["description"] or None
        annotation, optional = _unwrap(model.model_fields[name].annotation)
        default = (defaults or {}).get(name, row["default"])
        label, wkey = name.replace("_", " "), f"{key}.{name}"
        choices = _choices(annotation)
        if choices is not None:
            options = [None, *choices] if optional else choices
            index = options.index(default) if default in options else 0
            values[name] = where.selectbox(label, options, index=index, key=wkey, help=help_text)
        elif annotation is bool and not optional:
            values[name] = where.checkbox(label, value=bool(default), key=wkey, help=help_text)
        elif annotation is int and not optional and isinstance(default, int):
            values[name] = where.number_input(label, value=default, step=1, key=wkey, help=help_text)
        elif annotation is float and not optional and isinstance(default, int | float):
            values[name] = where.number_input(label, value=float(default), step=0.05, format="%.3g",
                                              key=wkey, help=help_text)
        else:  # anything else is typed as text; pydantic coerces it, "" means the default or None
            text = where.text_input(label, value="" if default is None else str(default), key=wkey,
                                    help=help_text)
            if text.strip() or not optional:
                values[name] = text.strip()
            else:
                values[name] = None
    return values


def parsed(raw_run: dict[str, Any], raw_sampling: dict[str, Any]) -> tuple[Settings | None, str | None]:
    """The settings, or None and the message saying what is wrong."""
    try:
        return (parse_options(RunOptions, raw_run, "setting"),
                parse_options(SamplingOptions, raw_sampling, "sampling option")), None
    except ValueError as exc:
        return None, str(exc)
