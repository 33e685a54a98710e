"""Summarizers: a paper and its text in, a `Summary` out (or a `SummarizeError`)."""

from __future__ import annotations

from typing import Any, Protocol

from papergist.models import Paper, PaperText, Summary, Verdict


class Summarizer(Protocol):
    """What the pipeline needs of a summarizer (an async context manager)."""

    name: str
    model: str
    prompt_version: str
    wants_fulltext: bool
    paid: bool  # True when a summary costs money or time: runs then share it

    async def __aenter__(self) -> Any:
        """Open connections for a run."""

    async def __aexit__(self, *exc: Any) -> None:
        """Close them."""

    def run_notes(self) -> list[str]:
        """Notes a person should hear once about the run so far (limits learned, ...)."""

    def check_language(self, language: str) -> None:
        """Raise `UsageError` before any work if `language` cannot be written."""

    def source_hash(self, paper: Paper, text: PaperText) -> str:
        """A hash of exactly what a summary of `paper` from `text` would be written from."""

    def sent_body(self, text: PaperText) -> str | None:
        """The part of `text` beyond the title and abstract that the summary is written from."""

    async def summarize_text(self, paper: Paper, text: PaperText, language: str,
                             regenerate: Verdict | None = None,
                             tally: Any = None, stopwatch: Any = None) -> Summary:
        """Summarize one paper (`regenerate`: an earlier try failed the check against
        the paper, with these unsupported claims), or raise `SummarizeError` (with
        `usage` and `attempts` as context). `tally` (a scheduler `Stats`) counts the
        requests sent for it; `stopwatch` (an `http.Stopwatch`) is paused while a
        request waits in line."""
