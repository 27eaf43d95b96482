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


#: The methods of a plugin the core calls; an exception escaping one of them is the plugin's bug.
PLUGIN_METHODS = frozenset({
    "encode", "decode", "begin", "advance", "begin_rows", "nats", "unknowns", "unknown_nats", "logits_processors",
    "stopping_criteria", "info", "save_files", "load_files", "train", "from_pretrained", "recognizes",
})


def plugin_fault(exc: BaseException) -> str | None:
    """One line naming the plugin and method an unexpected exception escaped from, if it did.

    Walks the traceback for the outermost frame of a plugin's own method (one the core
    called, defined outside ``toolkit``), so a plugin's ``IndexError`` reads as the
    plugin's bug instead of a traceback through the core. None when no plugin is involved.
    """
    from .generator import Generator

    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
        module = frame.f_globals.get("__name__", "")
        kind = owner if isinstance(owner, type) else type(owner)
        if (frame.f_code.co_name in PLUGIN_METHODS and issubclass(kind, Generator)
                and module.split(".")[0] != "toolkit"):
            from .registry import plugin_version

            distribution, version = plugin_version(kind.name, kind)
            where = f"{distribution} {version}" if distribution != "unregistered" else kind.__module__
            return (f"plugin {kind.name!r} ({where}) failed in its {frame.f_code.co_name} method: "
                    f"{type(exc).__name__}: {exc} (a bug in the plugin; `textgen --debug ...` or TEXTGEN_DEBUG=1 "
                    "shows the traceback)")
        tb = tb.tb_next
    return None
