"""The report: a comparison's records with their Markdown and their files.

It stands above the renderers, which read only the records (`results`), so the report
can offer ``markdown()`` and ``save()`` without a circle of imports.
"""

from __future__ import annotations

from pathlib import Path

from .. import atomic
from .markdown import markdown
from .plots import plot
from .results import CompareResults


class CompareReport(CompareResults):
    """What `compare` returns: the records, as Markdown, or saved as JSON, Markdown and plots."""

    def markdown(self) -> str:
        return markdown(self)

    def save(self, out: str | Path) -> dict[str, str]:
        """Write report.json, report.md and the PNG plots into ``out``; returns their paths."""
        out = Path(out)
        atomic.write_json(out / "report.json", self.to_json())
        atomic.write_text(out / "report.md", self.markdown())
        self.files = {"json": str(out / "report.json"), "markdown": str(out / "report.md"),
                      **{name: str(path) for name, path in plot(self, out).items()}}
        return self.files
