"""Summarizers: a paper in, a `Summary` out (or a `SummarizeError`)."""

from __future__ import annotations

from typing import Protocol

from papergist.models import Paper, Summary


class Summarizer(Protocol):
    """What the pipeline needs of a summarizer."""

    name: str

    def check_language(self, language: str) -> None:
        """Raise `UsageError` before any work if `language` cannot be written."""

    def summarize(self, paper: Paper, language: str) -> Summary:
        """Summarize one paper, or raise `SummarizeError` with the reason."""
