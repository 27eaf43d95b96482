"""Deprecated: ``textgen compare`` is `toolkit.cli.compare`; `parse_temperatures` is in
`toolkit.generation.temperatures`."""

from .._moved import warn_moved
from ..cli.compare import read_prompts
from ..cli.compare import run as main
from ..generation.temperatures import parse_temperatures

__all__ = ["main", "parse_temperatures", "read_prompts"]

warn_moved("toolkit.comparison.cli", "toolkit.cli.compare (main is run; parse_temperatures is in "
           "toolkit.generation.temperatures)")
