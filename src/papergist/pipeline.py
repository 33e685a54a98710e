"""The orchestrator: fetch -> store -> summarize -> digest -> render.

The only module that knows every stage. Per-paper problems are values
(`PaperFailure`) gathered into the `RunReport`; whole-run problems (the source
is down, the store cannot be written) are raised as `PapergistError`s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from datetime import date, datetime, timezone
from typing import Any, Callable, Coroutine, Protocol, Sequence

from papergist.errors import SummarizeError, UsageError
from papergist.http import AsyncHttpClient, HttpClient
from papergist.logs import emit, logger
from papergist.models import (Digest, DigestItem, DigestKind, Fallback, ListedPaper, Paper,
                              PaperFailure, PaperText, PeriodKind, RunReport, Summary, Usage,
                              period_label)
from papergist.render.json_digest import render_json
from papergist.render.common import verdict_note
from papergist.render.markdown import render_markdown
from papergist.settings import Settings
from papergist.sources.arxiv import ArxivSource, check_categories, check_ids
from papergist.sources.fulltext import FullTextSource, abstract_text
from papergist.sources.hf_daily import HFDailySource, NewestDay
from papergist.store import Store
from papergist.summarize import Summarizer
from papergist.summarize.scheduler import Stats
from papergist.verify import verify

LEASE_TTL = 60.0  # seconds a summary's lease lasts unless renewed (a crashed run's expires)
LEASE_POLL = 0.5  # seconds between looks at a summary another run is writing
RENDERERS: dict[str, Callable[[Digest], str]] = {"markdown": render_markdown, "json": render_json}
EXTENSIONS = {"markdown": "md", "json": "json"}
COUNTERS = ("retries", "throttled", "window_decreases")  # RunReport fields from `counters`
log = logger("pipeline")


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


def check_day(day: date, today: date) -> None:
    """A day the feed can have: not in the future (HF answers 400 for those)."""
    if day > today:
        raise UsageError(f"{day} is in the future (today is {today} in UTC); "
                         "HF Daily Papers has no list for it yet")


def check_period(kind: PeriodKind, start: date, today: date) -> None:
    """A week or month that has begun (in UTC)."""
    if start > today:
        raise UsageError(f"{period_label(kind, start)} has not begun (today is {today} in UTC)")


class PaperClock:
    """A paper's `paper_timeout`: it starts with the paper's first own request and
    stands still while the paper waits in line (see `http.Stopwatch`)."""

    def __init__(self, limit: asyncio.Timeout, budget: float):
        self.limit, self.remaining, self.running = limit, budget, False
        self._loop = asyncio.get_running_loop()

    def resume(self) -> None:
        """Count again (the first call starts the clock)."""
        if not self.running:
            self.running = True
            self.limit.reschedule(self._loop.time() + self.remaining)

    def pause(self) -> None:
        """Stand still: the paper waits in line."""
        when = self.limit.when()
        if self.running and when is not None:
            self.running = False
            self.remaining = max(0.0, when - self._loop.time())
            self.limit.reschedule(None)


@dataclass(frozen=True)
class Outcome:
    """What became of one paper: a summary (perhaps from the store) or a failure."""

    summary: Summary | None = None
    failure: PaperFailure | None = None
    cached: bool = False
    unverified: bool = False
    attempts: int = 0  # model requests sent for the paper, resends included
    usage: Usage = Usage()  # tokens spent in this run, a failed paper's too
    notes: tuple[str, ...] = ()  # why a better text was not used ("html: HTTP 404")
    origin: str | None = None  # where the text came from: html, pdf or abstract


def fallback(paper_id: str, outcome: Outcome, wanted_fulltext: bool) -> Fallback | None:
    """The paper's fallback to the PDF or the abstract, if full text was wanted and missed."""
    if not wanted_fulltext or outcome.origin not in ("pdf", "abstract"):
        return None
    return Fallback(paper_id=paper_id, to="pdf" if outcome.origin == "pdf" else "abstract",
                    notes=outcome.notes)


@dataclass(frozen=True)
class DigestResult:
    """A built digest and what it took."""

    digest: Digest
    report: RunReport


Result = DigestResult  # its former name


@dataclass
class Pipeline:
    """Composes the stages; one instance per run."""

    settings: Settings
    http: HttpClient
    store: Store
    summarizer: Summarizer
    language: str = "en"
    progress: Progress = Silent()
    refresh: bool = False
    run: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run  # the summarizer's event loop
    fetch_http: AsyncHttpClient | None = None  # full texts (default: one of its own)
    store_thread: ThreadPoolExecutor | None = None  # the one thread store calls run on
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:"
                                                f"{uuid.uuid4().hex[:8]}")  # of leases

    def __post_init__(self) -> None:
        if self.fetch_http is None:
            self.fetch_http = AsyncHttpClient(self.settings)
        if self.store_thread is None:
            self.store_thread = ThreadPoolExecutor(1, thread_name_prefix="papergist-store")

    def newest_day(self, today: date) -> NewestDay:
        """The newest day HF Daily Papers has published (looking back a week)."""
        return HFDailySource(self.http, self.settings).newest_day(today)

    def counters(self) -> dict[str, int]:
        """Retries, 429s and window decreases so far, HTTP and model together (the
        scheduler and the clients live as long as the `Papergist`: a day's report holds
        the difference between two readings)."""
        assert self.fetch_http is not None
        clients = (self.http.counts, self.fetch_http.counts)
        scheduler = getattr(self.summarizer, "scheduler", None)
        stats, window = (scheduler.stats, scheduler.window) if scheduler else (None, None)
        return {"retries": sum(c.retries for c in clients) + (stats.retries if stats else 0),
                "throttled": sum(c.throttled for c in clients) + (stats.throttled if stats else 0),
                "window_decreases": window.decreases if window else 0}

    def day_digest(self, day: date, top: int | None = None) -> Result:
        """Fetch, store and summarize one day of the HF feed (`top`: its N most upvoted)."""
        self.summarizer.check_language(self.language)
        before = self.counters()
        self.progress.note(f"Fetching HF Daily Papers for {day}")
        daily, fetch_failures = HFDailySource(self.http, self.settings).fetch(day)
        self.store.save_day(daily)
        self.progress.note(f"{len(daily.entries)} papers on {day}")
        return self._summarized(day, "daily", _most_upvoted(list(daily.entries), top),
                                fetch_failures, before)

    def period_digest(self, kind: PeriodKind, start: date, top: int | None = None) -> Result:
        """Fetch, store and summarize a week or a month of the HF feed (`start`: its
        first day); `top`: only the N most upvoted papers."""
        self.summarizer.check_language(self.language)
        before = self.counters()
        label = period_label(kind, start)
        self.progress.note(f"Fetching HF Daily Papers for {label}")
        listed, fetch_failures = HFDailySource(self.http, self.settings).fetch_period(kind, start)
        entries = _most_upvoted(list(listed.entries), top)
        self.store.save_papers([e.paper for e in entries])
        left = f" (the {len(entries)} most upvoted kept)" if len(entries) < len(listed.entries) \
            else ""
        self.progress.note(f"{len(listed.entries)} papers in {label}{left}")
        return self._summarized(start, kind, entries, fetch_failures, before)

    def ids_digest(self, ids: Sequence[str], day: date) -> Result:
        """Fetch arXiv papers by id, store and summarize them, in the order asked."""
        self.summarizer.check_language(self.language)
        before = self.counters()
        ids = check_ids(list(ids))
        self.progress.note(f"Fetching {len(ids)} paper(s) from the arXiv API")
        papers, unknown = ArxivSource(self.http, self.settings).fetch(ids)
        self.store.save_papers(papers)
        failures = tuple(PaperFailure(paper_id=i, stage="fetch", reason="arXiv has no paper "
                                      "with this id") for i in unknown)
        listed = [ListedPaper(paper=p, rank=n) for n, p in enumerate(papers, 1)]
        return self._summarized(day, "ids", listed, failures, before)

    def arxiv_digest(self, categories: Sequence[str], day: date) -> Result:
        """Fetch, store and summarize the new papers arXiv announces in `categories` on
        the evening of `day` (US Eastern)."""
        self.summarizer.check_language(self.language)
        before = self.counters()
        categories = check_categories(list(categories))
        self.progress.note(f"Listing arXiv {', '.join(categories)} for {day}")
        papers = ArxivSource(self.http, self.settings).listing(categories, day)
        self.store.save_papers(papers)
        self.progress.note(f"{len(papers)} new papers in the announcement of {day}")
        listed = [ListedPaper(paper=p, rank=n) for n, p in enumerate(papers, 1)]
        return self._summarized(day, "arxiv", listed, (), before, tuple(categories))

    def library(self, ids: Sequence[str]) -> list[Paper]:
        """The papers of a reader's library: from the store, the rest from the arXiv API
        (then stored, so they are asked for once). Ids arXiv does not know are left out."""
        ids = check_ids(list(ids))
        stored = {p.id: p for p in self.store.papers(ids)}
        missing = [i for i in ids if i not in stored]
        if missing:
            self.progress.note(f"Fetching {len(missing)} paper(s) of the library from arXiv")
            fetched, unknown = ArxivSource(self.http, self.settings).fetch(missing)
            self.store.save_papers(fetched)
            stored.update((p.id, p) for p in fetched)
            for paper_id in unknown:
                self.progress.note(f"{paper_id}: arXiv has no such paper (left out of the library)")
        return [stored[i] for i in ids if i in stored]

    def _summarized(self, day: date, kind: DigestKind, listed: list[ListedPaper],
                    fetch_failures: Sequence[PaperFailure], before: dict[str, int],
                    categories: tuple[str, ...] = ()) -> Result:
        self.progress.start(len(listed), "Summarizing")
        outcomes = self.run(self._summarize_all([e.paper for e in listed]))
        items = [DigestItem(paper=e.paper, rank=e.rank, upvotes=e.upvotes, summary=o.summary,
                            failure=o.failure, attempts=o.attempts, source_notes=o.notes)
                 for e, o in zip(listed, outcomes)]
        items.sort(key=lambda i: (-(i.upvotes if i.upvotes is not None else -1), i.rank))
        report = RunReport(
            day=day, fetched=len(listed) + len(fetch_failures),
            summarized=sum(1 for o in outcomes if o.summary),
            cached=sum(1 for o in outcomes if o.cached),
            from_fulltext=sum(1 for o in outcomes if o.summary and o.summary.source == "fulltext"),
            unverified=sum(1 for o in outcomes if o.unverified),
            usage=sum((o.usage for o in outcomes), Usage()),
            failures=tuple(fetch_failures) + tuple(o.failure for o in outcomes if o.failure),
            fallbacks=tuple(f for e, o in zip(listed, outcomes) if (f := fallback(
                e.paper.id, o, self.summarizer.wants_fulltext)) is not None),
            **{k: v - before[k] for k, v in self.counters().items()})
        digest = Digest(date=day, kind=kind, items=tuple(items), categories=categories)
        if items:
            self.store.save_digest(digest, self.language)
        return Result(digest, report)

    async def _summarize_all(self, papers: list[Paper]) -> list[Outcome]:
        """Every paper at once; an error that ends the run (a refused key, the store)
        cancels the others at once instead of letting them pay on."""
        assert self.fetch_http is not None  # made in __post_init__
        fulltext = FullTextSource(self.fetch_http, self.settings)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._timed(p, fulltext)) for p in papers]
        except BaseExceptionGroup as errors:
            raise _first(errors) from None
        return [task.result() for task in tasks]

    async def _db(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store call from a coroutine: on the store's one thread, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.store_thread, partial(call, *args, **kwargs))

    async def _timed(self, paper: Paper, fulltext: FullTextSource) -> Outcome:
        """`_summarize` within `paper_timeout`, counted from the paper's first request.

        Waiting in line (for the arXiv pacer, for another run's summary) does not
        count; once started, the timeout cancels whatever is under way.
        """
        try:
            async with asyncio.timeout(None) as limit:
                return await self._summarize(paper, fulltext,
                                             PaperClock(limit, self.settings.paper_timeout))
        except TimeoutError:
            return Outcome(failure=PaperFailure(
                paper_id=paper.id, stage="summarize", reason=f"took longer than "
                f"{self.settings.paper_timeout:g} s (paper_timeout)"))
        finally:
            self.progress.advance()

    async def _summarize(self, paper: Paper, fulltext: FullTextSource,
                         clock: PaperClock) -> Outcome:
        """Text, then the stored summary of exactly that text, else a new one."""
        if self.summarizer.wants_fulltext:
            text, notes = await fulltext.fetch(paper, stopwatch=clock)
        else:
            text, notes = abstract_text(paper), []
        if text is None:
            reason = "no source: neither full text nor abstract" + (
                f" ({'; '.join(notes)})" if notes else "")
            return Outcome(failure=PaperFailure(paper_id=paper.id, stage="source", reason=reason),
                           notes=tuple(notes))
        outcome = await self._summarize_text(paper, text, clock)
        return dataclasses.replace(outcome, origin=text.origin, notes=tuple(notes))

    async def _summarize_text(self, paper: Paper, text: PaperText,
                              clock: PaperClock) -> Outcome:
        """The stored summary of exactly `text`, else a new one (or the paper's failure)."""
        key = {"model": self.summarizer.model, "language": self.language,
               "prompt_version": self.summarizer.prompt_version, "source": text.source,
               "source_hash": self.summarizer.source_hash(paper, text)}
        if not self.refresh:
            cached = await self._db(self.store.get_summary, paper.id, **key)
            if cached:
                return self._by_policy(cached, cached=True)
        if not self.summarizer.paid:
            return await self._fresh(paper, text, clock)
        renewing: asyncio.Task[None] | None = None
        try:  # entered before the claim: a claim whose answer a cancel cut off is released too
            theirs = await self._lease(paper.id, key)
            if theirs is not None:
                return self._by_policy(theirs, cached=True)
            renewing = asyncio.create_task(self._renew(paper.id, key))
            return await self._fresh(paper, text, clock)
        finally:
            if renewing is not None:
                renewing.cancel()
            await asyncio.shield(self._db(self.store.release_summary, paper.id,
                                          owner=self.owner, **key))

    async def _lease(self, paper_id: str, key: dict[str, str]) -> Summary | None:
        """Take the lease on this summary (the caller releases it); while another run holds
        it, wait; then return the summary if another run stored one (a crashed holder's
        lease expires after `LEASE_TTL`)."""
        waited = False
        while not await self._db(self.store.claim_summary, paper_id, owner=self.owner,
                                 ttl=LEASE_TTL, **key):
            if not waited:
                emit(log, logging.INFO, f"{paper_id}: another run is writing this summary; "
                     "waiting for it", "lease_wait", paper=paper_id, poll=LEASE_POLL)
            waited = True
            await asyncio.sleep(LEASE_POLL)
        if self.refresh and not waited:
            return None
        # Looked again even when the lease was free at once: another run may have
        # stored the summary and released its lease since our first look.
        return await self._db(self.store.get_summary, paper_id, **key)

    async def _renew(self, paper_id: str, key: dict[str, str]) -> None:
        """Keep the lease while the summary is being written (a slow model is not dead)."""
        while True:
            await asyncio.sleep(LEASE_TTL / 3)
            await self._db(self.store.claim_summary, paper_id, owner=self.owner,
                           ttl=LEASE_TTL, **key)

    async def _fresh(self, paper: Paper, text: PaperText, clock: PaperClock) -> Outcome:
        """A new summary, checked and stored; or the paper's failure."""
        clock.resume()
        tally = Stats()
        try:
            summary = await self._checked(paper, text, tally, clock)
        except SummarizeError as exc:
            return Outcome(failure=PaperFailure(paper_id=paper.id, stage="summarize",
                                                reason=exc.message, attempts=tally.requests),
                           attempts=tally.requests, usage=getattr(exc, "usage", Usage()))
        # shielded: a paid summary is stored even when Ctrl-C cancels the paper now
        await asyncio.shield(self._db(self.store.save_summaries, [summary]))
        outcome = self._by_policy(summary)
        return dataclasses.replace(outcome, attempts=tally.requests, usage=summary.usage)

    async def _checked(self, paper: Paper, text: PaperText, tally: Stats,
                       clock: PaperClock) -> Summary:
        """A summary verified against what it was written from; regenerated once if not.

        If the regeneration fails (429s, the token cap, spoiled replies), the
        first summary is kept with its verdict: `on_unverified` decides its fate,
        and the tokens of both attempts are counted.
        """
        body = self.summarizer.sent_body(text)
        summary = await self.summarizer.summarize_text(paper, text, self.language, tally=tally,
                                                       stopwatch=clock)
        verdict = verify(summary.sections.model_dump(), paper.title, paper.abstract, body,
                         summary.cited)
        if verdict.status != "verified" and not summary.extractive:
            try:
                again = await self.summarizer.summarize_text(
                    paper, text, self.language, regenerate=verdict, tally=tally,
                    stopwatch=clock)
            except SummarizeError as exc:
                spent = summary.usage + getattr(exc, "usage", Usage())
                self.progress.note(f"{paper.id}: the regeneration failed ({exc.message}); "
                                   "keeping the first summary")
                return summary.model_copy(update={"usage": spent, "verification": verdict,
                                                  "created_at": _stamp()})
            summary = again.model_copy(update={"usage": summary.usage + again.usage})
            verdict = verify(summary.sections.model_dump(), paper.title, paper.abstract, body,
                         summary.cited)
        return summary.model_copy(update={"verification": verdict,
                                          "created_at": _stamp()})

    def _by_policy(self, summary: Summary, cached: bool = False) -> Outcome:
        """Apply `on_unverified` to a summary whose claims were not all found."""
        verdict = summary.verification
        if verdict is None or verdict.status == "verified":
            return Outcome(summary=summary, cached=cached)
        policy = self.settings.on_unverified
        if policy == "drop":
            note = verdict_note(verdict.model_copy(update={"warn": True}))
            reason = note.text() if note else verdict.status
            return Outcome(failure=PaperFailure(
                paper_id=summary.paper_id, stage="verify",
                reason=f"summary dropped, {reason}"), unverified=True)
        if policy == "keep":
            summary = summary.model_copy(update={
                "verification": verdict.model_copy(update={"warn": False})})
        return Outcome(summary=summary, cached=cached, unverified=True)


def _most_upvoted(entries: list[ListedPaper], top: int | None) -> list[ListedPaper]:
    """The `top` most upvoted entries (ties: feed order), in feed order; all if None."""
    if top is None or top >= len(entries):
        return entries
    kept = sorted(entries, key=lambda e: (-(e.upvotes or 0), e.rank))[:top]
    return sorted(kept, key=lambda e: e.rank)


def _stamp() -> datetime:
    """When a summary was made, to the second (as the store keeps it)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def _first(errors: BaseExceptionGroup) -> BaseException:
    """The first error of a task group, however deeply grouped."""
    first = errors.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def render(digest: Digest, fmt: str) -> str:
    """The digest in one of `RENDERERS`' formats."""
    return RENDERERS[fmt](digest)
