"""Moved to `toolkit.cli.dashboard`; an alias that warns (toolkit._moved)."""
from ._moved import moved

moved(__name__, "toolkit.cli.dashboard")
