"""Moved to `toolkit.cli.compare`; an alias that warns (toolkit._moved)."""
from .._moved import moved

moved(__name__, "toolkit.cli.compare")
