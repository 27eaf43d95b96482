"""Exceptions that mean "the user gave us something wrong", as opposed to bugs.

The CLI prints a `TextgenError` as one line and exits non-zero; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class TextgenError(Exception):
    """A mistake in the user's input: bad corpus, bad option, bad model directory."""


class CorpusError(TextgenError, ValueError):
    """A corpus that cannot be read as text (missing, empty, binary, not UTF-8)."""


class ModelDirError(TextgenError):
    """A model directory that is missing, corrupt or belongs to something else."""


class PluginError(TextgenError):
    """A plugin that is unknown, failed to import, or broke its contract."""


class ScoringUnavailable(PluginError):
    """A model that cannot give the log-probabilities of a text (a server without prompt log-probabilities).

    `compare` shows "—" for such a model's bits per character instead of failing its row.
    """
