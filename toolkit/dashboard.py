"""Moved to `toolkit.cli.dashboard`; an alias until textgen-toolkit 1.0 (toolkit._compat)."""
from toolkit._compat import moved

moved(__name__)
