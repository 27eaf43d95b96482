"""The temperature sweep of the original lesson, and its comma-separated spelling.

Torch-free and import-light: the CLI's flags, `compare`, the demo and the dashboard's lens
all take their default sweep from here, and read a typed sweep with `parse_temperatures`.
"""

from __future__ import annotations

import math

#: The temperature sweep of the original lesson.
DEFAULT_TEMPERATURES = (0.3, 0.8, 1.0, 1.3, 1.8)


def format_temperatures(values: tuple[float, ...] | list[float] = DEFAULT_TEMPERATURES) -> str:
    """``(0.3, 0.8)`` -> ``"0.3,0.8"``, the form `parse_temperatures` reads back."""
    return ",".join(map(str, values))


def parse_temperatures(text: str) -> list[float]:
    """``"0.3,0.8"`` -> ``[0.3, 0.8]``, or a ValueError naming --temperatures."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--temperatures must be numbers separated by commas, got {text!r}") from None
    if not values or any(not (0 <= v < math.inf) for v in values):
        raise ValueError(f"--temperatures must be one or more numbers >= 0, got {text!r}")
    return values
