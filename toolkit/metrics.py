"""Moved to `toolkit.evaluation.metrics`; an alias until textgen-toolkit 1.0 (toolkit._compat)."""
from toolkit._compat import moved

moved(__name__)
