"""Moved to `toolkit.neural.sizing` (each plugin now owns its table); an alias that warns (toolkit._moved)."""
from ._moved import moved

moved(__name__, "toolkit.neural.sizing")
