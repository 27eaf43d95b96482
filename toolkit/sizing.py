"""Moved to `toolkit.neural.sizing`, each plugin owning its table; an alias until 1.0 (toolkit._compat)."""
from toolkit._compat import moved

moved(__name__)
