"""The orchestrator: fetch -> store -> summarize -> digest -> render.

The only module that knows every stage. Per-paper problems are values
(`PaperFailure`) gathered into the `RunReport`; whole-run problems (the source
is down, the store cannot be written) are raised as `PapergistError`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable, Protocol, Sequence

from papergist.errors import SummarizeError, UsageError
from papergist.http import HttpClient
from papergist.models import (Digest, DigestItem, ListedPaper, Paper, PaperFailure, RunReport,
                              Summary)
from papergist.render.json_digest import render_json
from papergist.render.markdown import render_markdown
from papergist.settings import Settings
from papergist.sources.arxiv import ArxivSource, check_ids
from papergist.sources.hf_daily import HFDailySource
from papergist.store import Store
from papergist.summarize import Summarizer

RENDERERS: dict[str, Callable[[Digest], str]] = {"markdown": render_markdown, "json": render_json}
EXTENSIONS = {"markdown": "md", "json": "json"}


class Progress(Protocol):
    """Where the pipeline tells a person what it is doing (stderr in the CLI)."""

    def note(self, text: str) -> None:
        """A line of status."""

    def start(self, total: int, what: str) -> None:
        """A batch of `total` steps begins."""

    def advance(self) -> None:
        """One step of the batch is done."""


class Silent:
    """A `Progress` that says nothing."""

    def note(self, text: str) -> None:
        """Say nothing."""

    def start(self, total: int, what: str) -> None:
        """Say nothing."""

    def advance(self) -> None:
        """Say nothing."""


def utc_today() -> date:
    """Today in UTC, the clock the HF feed publishes by."""
    return datetime.now(timezone.utc).date()


def check_day(day: date, today: date) -> None:
    """A day the feed can have: not in the future (HF answers 400 for those)."""
    if day > today:
        raise UsageError(f"{day} is in the future (today is {today} in UTC); "
                         "HF Daily Papers has no list for it yet")


@dataclass(frozen=True)
class Result:
    """A built digest and what it took."""

    digest: Digest
    report: RunReport


@dataclass
class Pipeline:
    """Composes the stages; one instance per run."""

    settings: Settings
    http: HttpClient
    store: Store
    summarizer: Summarizer
    language: str = "en"
    progress: Progress = Silent()

    def newest_day(self, today: date) -> date | None:
        """The newest day HF Daily Papers has published (looking back a week)."""
        return HFDailySource(self.http, self.settings).newest_day(today)

    def day_digest(self, day: date) -> Result:
        """Fetch, store and summarize one day of the HF feed."""
        self.summarizer.check_language(self.language)
        self.progress.note(f"Fetching HF Daily Papers for {day}")
        daily, fetch_failures = HFDailySource(self.http, self.settings).fetch(day)
        self.store.save_day(daily)
        self.progress.note(f"{len(daily.entries)} papers on {day}")
        return self._summarized(day, "daily", list(daily.entries), fetch_failures)

    def ids_digest(self, ids: Sequence[str], day: date) -> Result:
        """Fetch arXiv papers by id, store and summarize them, in the order asked."""
        self.summarizer.check_language(self.language)
        ids = check_ids(list(ids))
        self.progress.note(f"Fetching {len(ids)} paper(s) from the arXiv API")
        papers, unknown = ArxivSource(self.http, self.settings).fetch(ids)
        self.store.save_papers(papers)
        failures = tuple(PaperFailure(paper_id=i, stage="fetch", reason="arXiv has no paper "
                                      "with this id") for i in unknown)
        listed = [ListedPaper(paper=p, rank=n) for n, p in enumerate(papers, 1)]
        return self._summarized(day, "ids", listed, failures)

    def _summarized(self, day: date, kind: str, listed: list[ListedPaper],
                    fetch_failures: Sequence[PaperFailure]) -> Result:
        self.progress.start(len(listed), "Summarizing")
        items, summaries = [], []
        for entry in listed:
            summary, failure = self._summarize(entry.paper)
            if summary:
                summaries.append(summary)
            items.append(DigestItem(paper=entry.paper, rank=entry.rank, upvotes=entry.upvotes,
                                    summary=summary, failure=failure))
            self.progress.advance()
        self.store.save_summaries(summaries)
        items.sort(key=lambda i: (-(i.upvotes if i.upvotes is not None else -1), i.rank))
        failures = tuple(fetch_failures) + tuple(i.failure for i in items if i.failure)
        report = RunReport(day=day, fetched=len(listed) + len(fetch_failures),
                           summarized=len(summaries), failures=failures)
        return Result(Digest(date=day, kind=kind, items=tuple(items)), report)

    def _summarize(self, paper: Paper) -> tuple[Summary | None, PaperFailure | None]:
        try:
            return self.summarizer.summarize(paper, self.language), None
        except SummarizeError as exc:
            return None, PaperFailure(paper_id=paper.id, stage="summarize", reason=str(exc))


def render(digest: Digest, fmt: str) -> str:
    """The digest in one of `RENDERERS`' formats."""
    return RENDERERS[fmt](digest)
