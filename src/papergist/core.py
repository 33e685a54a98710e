"""The front door: one object that wires settings, store, HTTP, summarizer and pipeline.

The CLI, a notebook and (next) the web app all go through `Papergist`; none of
them builds a store, a client or a summarizer itself::

    with papergist.open(model="gpt-4o-mini", language="ko") as pg:
        result = pg.digest(date(2024, 8, 26))
        pg.publish(result.digest.date, ["email"])

One `Papergist` is one run: a single event loop, one model client and one
scheduler for every day it digests, so a range of days keeps what the
scheduler learned about the provider's limits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping, Sequence, overload

from papergist import embed, semantic
from papergist.errors import ConfigError, EmptyFeed, MalformedResponse, PapergistError, UsageError
from papergist.exits import exit_status
from papergist.http import HttpClient
from papergist.models import (PERIODS, ArchiveEntry, Cited, Digest, DigestKind, PaperFailure,
                              PeriodKind, SearchHit, SearchResults, Verdict, digest_args, period_label,
                              period_start)
from papergist.pipeline import Pipeline, Progress, Result, Silent, check_day, check_period
from papergist.publish import Delivery, publish, targets
from papergist.rank import Reader, rank
from papergist.settings import Settings, load_settings
from papergist.site import SiteReport, build_site
from papergist.sources.arxiv import (announced, announcement_window, check_categories,
                                     latest_announcement)
from papergist.sources.cache import CacheCleared, CacheInfo, cache_info, clear_cache
from papergist.store import Store
from papergist.summarize import Summarizer
from papergist.summarize.llm import LLMSummarizer, model_config
from papergist.summarize.offline import OfflineSummarizer
from papergist.verify import verify


MAX_FAILURE_LINES = 20  # failures named in an error that ends a run (the rest counted)
MAX_SEARCH_LIMIT = 200  # hits one search returns at most


def _failure_lines(failures: Sequence[PaperFailure]) -> str:
    """The failures as report lines ("\n  failed ID (stage): reason"), at most
    `MAX_FAILURE_LINES` of them: a run that reads no paper must still say why."""
    lines = [f"\n  failed {f.paper_id} ({f.stage}): {f.reason}"
             for f in failures[:MAX_FAILURE_LINES]]
    more = len(failures) - MAX_FAILURE_LINES
    return "".join(lines) + (f"\n  ... and {more} more" if more > 0 else "")


def utc_today() -> date:
    """Today in UTC, the clock the HF feed publishes by."""
    return datetime.now(timezone.utc).date()


@dataclass(frozen=True)
class DayResult:
    """One day of a range: its result, or None when it was skipped."""

    day: date
    result: Result | None


class Papergist:
    """Settings, store, clients and summarizer for one run; use as a context manager.

    `today` is the clock for "the newest day" and for refusing future days;
    `progress` hears what a person would want to see.
    """

    def __init__(self, settings: Settings, *, progress: Progress | None = None,
                 today: Callable[[], date] = utc_today, refresh: bool = False):
        self.settings = settings
        self.language = settings.language
        self.progress: Progress = progress or Silent()
        self.today = today
        self.refresh = refresh
        self._store: Store | None = None
        self._http: HttpClient | None = None
        self._runner: asyncio.Runner | None = None
        self._summarizer: Summarizer | None = None
        self._pipe: Pipeline | None = None

    # wiring ---------------------------------------------------------------

    def __enter__(self) -> "Papergist":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the summarizer, the HTTP client and the store (each if opened)."""
        try:
            if self._summarizer is not None and self._runner is not None:
                self._runner.run(self._summarizer.__aexit__(None, None, None))
            if self._pipe is not None and self._runner is not None:
                assert self._pipe.fetch_http is not None and self._pipe.store_thread is not None
                self._runner.run(self._pipe.fetch_http.aclose())
                self._pipe.store_thread.shutdown(wait=True)
        finally:
            self._summarizer = self._pipe = None
            if self._runner is not None:
                self._runner.close()
                self._runner = None
            if self._http is not None:
                self._http.close()
                self._http = None
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def store(self) -> Store:
        """The store: `store_url`, or SQLite under `home` (opened and migrated on first use)."""
        if self._store is None:
            self._store = Store.open(self.settings.store_target)
        return self._store

    @property
    def http(self) -> HttpClient:
        """The HTTP client for HF and arXiv."""
        if self._http is None:
            self._http = HttpClient(self.settings)
        return self._http

    def summarizer(self) -> Summarizer:
        """The model summarizer if a model is configured, else the offline one; opened once."""
        if self._summarizer is None:
            config = model_config(self.settings)
            summarizer: Summarizer = (LLMSummarizer(config, self.settings) if config
                                      else OfflineSummarizer())
            summarizer.check_language(self.language)
            if config:
                self.progress.note(f"Summarizing with {config.model} at {config.base_url}, "
                                   f"in {self.language}")
            self._runner = self._runner or asyncio.Runner()
            self._runner.run(summarizer.__aenter__())
            self._summarizer = summarizer
        return self._summarizer

    def _pipeline(self) -> Pipeline:
        """The pipeline of this run (one: one lease owner, one store thread)."""
        if self._pipe is None:
            summarizer = self.summarizer()
            assert self._runner is not None
            self._pipe = Pipeline(settings=self.settings, http=self.http, store=self.store,
                                  summarizer=summarizer, language=self.language,
                                  progress=self.progress, refresh=self.refresh,
                                  run=self._runner.run)
        return self._pipe

    # digests --------------------------------------------------------------

    def newest_day(self) -> date:
        """The newest day HF Daily Papers has published, looking back a week."""
        today = self.today()
        found = self._pipeline().newest_day(today)
        for day in found.not_open:
            self.progress.note(f"HF Daily Papers has not opened {day} yet; looking at the day "
                               "before")
        if found.day is None:
            raise EmptyFeed(f"HF Daily Papers has no papers in the week up to {today}; "
                            "give a DATE")
        growing = " (today in UTC: the list may still grow)" if found.day == today else ""
        self.progress.note(f"Using {found.day}, the newest day HF Daily Papers has "
                           f"published{growing}")
        return found.day

    def digest(self, day: date | None = None, *, ids: Sequence[str] | None = None,
               week: str | date | None = None, month: str | date | None = None,
               top: int | None = None, arxiv: Sequence[str] | None = None) -> Result:
        """The digest of one day of the feed (default: the newest), of arXiv ids, or of
        a week ("2024-W34", or any day in it) or a month ("2024-08", or any day in it).

        `arxiv`: instead of the feed, the new papers arXiv announces in these categories
        (["cs.CL", "cs.CV"]) on the evening of `day` (US Eastern, Sunday to Thursday;
        default: the newest announcement by the start of today, UTC), oldest first.
        `top`: only the N most upvoted papers of the list. Recorded as a run in the
        store. An empty list is a `Result` with no items; a source that fails
        raises `SourceError`; asking for more than one of day, ids, week and month
        raises `UsageError`.
        """
        asked = [n for n, v in (("a day", day), ("ids", ids), ("a week", week),
                                ("a month", month)) if v is not None]
        if len(asked) > 1:
            raise UsageError(f"give one of a day, ids, a week or a month (got {' and '.join(asked)})")
        if top is not None and top < 1:
            raise UsageError(f"top must be 1 or more (got {top})")
        if arxiv is not None:
            return self._arxiv_digest(arxiv, day, asked, top)
        if ids is not None:
            if not ids:
                raise UsageError("--ids needs at least one arXiv id, e.g. --ids 2408.12637")
            if top is not None:
                raise UsageError("top picks the most upvoted of a list: give a day, a week or "
                                 "a month, not ids")
            on = self.today()
            return self._recorded("digest --ids", on,
                                  lambda pipe: pipe.ids_digest(list(ids), on))
        if week is not None or month is not None:
            kind: PeriodKind = "weekly" if week is not None else "monthly"
            start = _period_start(kind, week if week is not None else month)
            check_period(kind, start, self.today())
            return self._recorded(f"digest --{PERIODS[kind][0]}", start,
                                  lambda pipe: pipe.period_digest(kind, start, top))
        if day is None:
            day = self.newest_day()
        check_day(day, self.today())
        return self._recorded("digest", day, _day_digest(day, top))

    def _arxiv_digest(self, categories: Sequence[str], day: date | None, asked: list[str],
                      top: int | None) -> Result:
        """The new papers arXiv announces in `categories` on the evening of `day` (default:
        its newest announcement by the start of today, UTC)."""
        if asked and asked != ["a day"]:
            raise UsageError(f"an arXiv listing is of one day, not of {asked[0]}")
        if top is not None:
            raise UsageError("top picks the most upvoted of a list; arXiv lists have no votes")
        categories = check_categories(list(categories))
        today, midnight = self.today(), self._midnight()
        on = day if day is not None else latest_announcement(midnight)
        if on > today:
            raise UsageError(f"{on} is in the future (today is {today} in UTC); arXiv has "
                             "announced nothing for it yet")
        announcement_window(on)  # a Friday or a Saturday is refused before asking
        if announced(on) > midnight:
            self.progress.note(f"arXiv's announcement of {on} comes at "
                               f"{announced(on):%H:%M} US Eastern: if it has not come yet, "
                               "run this again after it")
        return self._recorded("digest --arxiv", on,
                              lambda pipe: pipe.arxiv_digest(categories, on))

    def _midnight(self) -> datetime:
        """The start of today (UTC): the clock gives the day, not the hour."""
        today = self.today()
        return datetime(today.year, today.month, today.day, tzinfo=timezone.utc)

    def digest_range(self, since: date, until: date | None = None, *,
                     skip: Callable[[date], bool] = lambda day: False,
                     top: int | None = None,
                     arxiv: Sequence[str] | None = None) -> Iterator[DayResult]:
        """Each day from `since` to `until` (default today), oldest first (`top`: each
        day's N most upvoted papers). With `arxiv` (categories): each announcement
        evening instead (default `until`: the newest), Fridays and Saturdays passed
        over (yielded with no result), so a range catches up on every one missed.

        Days for which `skip(day)` is true are not fetched. A source failure
        stops the range (raised); the days before it were already yielded.
        """
        today = self.today()
        until = until or (latest_announcement(self._midnight()) if arxiv is not None else today)
        check_day(until, today)
        if since > until:
            raise UsageError(f"--since {since} is after --until {until}")
        for offset in range((until - since).days + 1):
            day = since + timedelta(days=offset)
            if skip(day) or (arxiv is not None and day.weekday() in (4, 5)):
                yield DayResult(day, None)
            elif arxiv is not None:
                yield DayResult(day, self._arxiv_digest(arxiv, day, [], None))
            else:
                yield DayResult(day, self._recorded("digest --since", day,
                                                    _day_digest(day, top)))

    def _recorded(self, command: str, day: date, build: Callable[[Pipeline], Result]) -> Result:
        """Run `build` as a run recorded in the store, with how it ended."""
        pipe = self._pipeline()
        run_id = self.store.start_run(command, day)
        result, code = None, 1
        try:
            result = build(pipe)
            if not result.digest.items and result.report.failures:
                raise MalformedResponse(f"no paper of {result.digest.label} could be read; "
                                        "nothing written:"
                                        f"{_failure_lines(result.report.failures)}")
            code = exit_status(result)
            self._say_run_notes()
            if result.digest.items and self.settings.embed_papers == "digest" \
                    and embed.available():
                self._embed_new(self.language)  # so a search by meaning never waits for it
            return result
        except PapergistError as exc:
            code = exit_status(exc)
            raise
        except KeyboardInterrupt:
            code = 130
            raise
        finally:
            self.store.finish_run(run_id, result.report if result else None, code)

    def _say_run_notes(self) -> None:
        """What the summarizer learned that a person should hear once."""
        for note in self.summarizer().run_notes():
            self.progress.note(note)

    # after the digest -----------------------------------------------------

    def publish(self, what: date | Digest, channels: Sequence[str], *, dry_run: bool = False,
                if_changed: bool = False, resend: bool = False, allow_incomplete: bool = False,
                reader: str | Reader | None = None) -> list[Delivery]:
        """Send a stored digest to `channels`, each destination exactly once: the day's
        (`what` a date), or the stored version of `what` (a `Digest`: a day, a week, a
        month, as `digest()` returned it).

        `if_changed`: a destination that got an older version of the digest gets the
        correction (a follow-up message in chat, a new email in the same thread).
        `resend`: also send where a crashed run left it unknown whether the digest
        arrived. `allow_incomplete`: publish a digest in which no paper has a summary.
        `reader`: the digest ranked for that reader, by email to their `email_to`.
        """
        who = self.reader(reader) if isinstance(reader, str) else reader
        found = targets(self._settings_for(who, channels), list(channels))
        day, kind = (what.date, what.kind) if isinstance(what, Digest) else (what, "daily")
        digest = self.store.load_digest(day, self.language, kind)
        if digest is None:
            label = period_label(kind, day)
            raise UsageError(f"no {self.language} digest stored for {label}: run "
                             f"papergist digest {digest_args(kind, day)} first")
        if who is not None:
            digest = self.rank(digest, who)
        return publish(digest, self.language, found, self.store, dry_run=dry_run,
                       backoff=self.settings.http_backoff, if_changed=if_changed,
                       resend=resend, allow_incomplete=allow_incomplete)

    def _settings_for(self, reader: Reader | None, channels: Sequence[str]) -> Settings:
        """The settings a publication uses: a reader's own digest goes to their address."""
        if reader is None:
            return self.settings
        if list(channels) != ["email"]:
            raise UsageError(f"a digest ranked for {reader.name} goes by email only (chats are "
                             "shared): give --to email")
        if not reader.email_to:
            raise ConfigError(f"[readers.{reader.name}] has no email_to: add email_to = "
                              f'["{reader.name}@example.org"]')
        return dataclasses.replace(self.settings, email_to=", ".join(reader.email_to))

    def check_channels(self, channels: Sequence[str], reader: str | None = None) -> None:
        """Raise before any work if a channel is unknown or lacks a setting (for `reader`:
        if their digest cannot go to them)."""
        who = self.reader(reader) if reader else None
        targets(self._settings_for(who, channels), list(channels))

    def site(self, out: Path) -> SiteReport:
        """Write (or bring up to date) the static archive of every stored digest."""
        return build_site(self.store, out, language=self.language,
                          site_url=self.settings.site_url)

    def load_digest(self, day: date, kind: DigestKind = "daily") -> Digest | None:
        """The stored digest of `day` in this language, if any (`kind` "weekly" or
        "monthly" with the first day of the week or month)."""
        return self.store.load_digest(day, self.language, kind)

    # reading and finding ---------------------------------------------------

    def reader(self, name: str) -> Reader:
        """The `[readers.NAME]` table of the config file, checked."""
        table = self.settings.readers.get(name)
        if table is None:
            known = ", ".join(sorted(self.settings.readers)) or "none yet"
            raise ConfigError(f"no reader {name!r} in the config file ({known}): add a "
                              f"[readers.{name}] table with keywords, authors, organizations "
                              "or library")
        return Reader.from_table(name, table)

    def rank(self, digest: Digest, reader: str | Reader) -> Digest:
        """`digest` most relevant first for `reader` (a name in the config file, or a
        `Reader`), each paper with its `relevance`; library papers missing from the store
        are fetched from arXiv once."""
        who = self.reader(reader) if isinstance(reader, str) else reader
        library = self._pipeline().library(who.library) if who.library else []
        return rank(digest, who, library)

    def archive(self, language: str | None = None) -> list[ArchiveEntry]:
        """Every stored digest in `language` (default: this one's), newest first."""
        return self.store.archive(language or self.language)

    def search(self, query: str, *, limit: int = 20, language: str | None = None,
               by: Literal["words", "meaning"] = "words") -> SearchResults:
        """Papers of the stored digests matching `query`, best first.

        `by="words"`: each word must appear in the title, authors, abstract or summary
        (stemmed; "a phrase" in quotes; `word*` a prefix). `by="meaning"`: the papers
        whose title and abstract mean what the query says, whatever their words
        (needs papergist[semantic]; each paper is embedded once, the first time).
        Summaries are searched in `language` (default: this one's). Raises
        `UsageError` for a query with no word in it, a `limit` outside 1 to
        `MAX_SEARCH_LIMIT`, or another `by`.
        """
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise UsageError(f"limit must be 1 to {MAX_SEARCH_LIMIT} (got {limit})")
        if by not in ("words", "meaning"):
            raise UsageError(f"search by words or by meaning (got {by!r})")
        language = language or self.language
        hits = self.store.search(query, language, limit) if by == "words" \
            else self._by_meaning(query, language, limit)
        return SearchResults(query=query, language=language, hits=tuple(hits), by=by)

    def _by_meaning(self, query: str, language: str, limit: int) -> list[SearchHit]:
        query = semantic.check_query(query)
        self._embed_new(language)
        rows = self.store.search_candidates(language, embed.MODEL)
        return semantic.nearest(rows, embed.encoder().encode([query])[0], limit)

    def _embed_new(self, language: str) -> None:
        """Embed, once, the papers searchable in `language` that have no vector yet (just
        stored, or stored before papergist[semantic] was installed)."""
        todo = semantic.missing(self.store.search_candidates(language, embed.MODEL,
                                                             unembedded=True))
        if todo:
            self.progress.note(f"Embedding {len(todo)} paper(s) for search by meaning "
                               "(once per paper)")
            found = embed.encoder().encode(list(todo.values()))
            self.store.save_vectors(embed.MODEL, dict(zip(todo, (v.tobytes() for v in found))))

    # the full-text cache --------------------------------------------------

    wall_clock: Callable[[], float] = staticmethod(time.time)  # seconds; tests replace it

    def cache_info(self) -> CacheInfo:
        """Where the full-text cache is, its files and bytes, its 404 markers (and expired)."""
        return cache_info(self.settings.cache_dir / "fulltext", self.wall_clock())

    def cache_clear(self, older_than: timedelta | None = None) -> CacheCleared:
        """Delete the full-text cache (only files older than `older_than`, if given)."""
        if older_than is not None and older_than < timedelta(0):
            raise UsageError("--older-than must not be negative")
        return clear_cache(self.settings.cache_dir / "fulltext", self.wall_clock(), older_than)

    @overload
    def verify(self, summaries: Digest) -> dict[str, Verdict]: ...

    @overload
    def verify(self, summaries: Sequence[Mapping[str, Any]]) -> list[Verdict]: ...

    def verify(self, summaries: Digest | Sequence[Mapping[str, Any]]
               ) -> dict[str, Verdict] | list[Verdict]:
        """Check summaries against their papers: every number and name must be in the source.

        Given a `Digest`: each summary against its paper's title and abstract; the
        verdicts by paper id, in reading order (papers with no summary are left out).
        A summary written from the full text may state what only the full text
        holds; its `summary.verification` is the verdict against that text.

        Given a list of dicts, as `papergist verify` reads them (any tool's
        summaries: `title`, `abstract`, `sections` of name -> text, optionally
        `fulltext` and `cited`, a list of {`section`, `sentence`, `quote`}: the
        passage quoted for a sentence, looked for in the paper): one verdict per
        item, in order. A malformed item raises `UsageError` naming it.
        """
        if isinstance(summaries, Digest):
            # a quote from the full text is not in the abstract: checked only when the
            # summary was written from the abstract alone
            return {item.paper.id: check_summary(
                        item.summary.sections.model_dump(), item.paper.title,
                        item.paper.abstract, cited=item.summary.cited
                        if item.summary.source == "abstract" else ())
                    for item in summaries.items if item.summary is not None}
        return [check_summary(dict(i["sections"]), i["title"], i["abstract"], i.get("fulltext"),
                              [Cited.model_validate(c) for c in i.get("cited") or ()])
                for i in _checked_items(summaries)]


def _checked_items(items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """`items` as a list, or a `UsageError` naming the first malformed one."""
    if isinstance(items, (Mapping, str, bytes)):
        raise UsageError("verify takes a Digest or a list of summaries (dicts); "
                         "wrap a single summary in a list")
    items = list(items)
    for n, item in enumerate(items, 1):
        problem = summary_problem(item)
        if problem:
            raise UsageError(f"item {n}: {problem}")
    return items


def summary_problem(item: object) -> str | None:
    """What is wrong with one summary to verify (as `papergist verify` reads it), if anything."""
    if not isinstance(item, Mapping):
        return "not a JSON object"
    for key in ("title", "abstract"):
        if not isinstance(item.get(key), str):
            return f"needs {key!r} as text"
    if item.get("fulltext") is not None and not isinstance(item["fulltext"], str):
        return "'fulltext' must be text"
    sections = item.get("sections")
    if not isinstance(sections, Mapping) or not sections or not all(
            isinstance(v, str) for v in sections.values()):
        return "needs 'sections': an object of section name -> text"
    cited = item.get("cited")
    if cited is not None and not (isinstance(cited, list) and all(
            isinstance(c, Mapping) and all(isinstance(c.get(k), str)
                                           for k in ("section", "sentence", "quote"))
            for c in cited)):
        return "'cited' must be a list of objects with 'section', 'sentence' and 'quote' as text"
    return None


def _period_start(kind: PeriodKind, when: str | date | None) -> date:
    """The first day of the week or month named ("2024-W34", "2024-08") or containing a day."""
    if isinstance(when, date):
        return when - timedelta(days=when.weekday()) if kind == "weekly" else when.replace(day=1)
    try:
        return period_start(kind, str(when))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _day_digest(day: date, top: int | None = None) -> Callable[[Pipeline], Result]:
    """What builds the digest of `day` (its `top` most upvoted) with a pipeline."""
    return lambda pipe: pipe.day_digest(day, top)


def check_summary(sections: dict[str, str], title: str, abstract: str,
                  fulltext: str | None = None, cited: Sequence[Cited] = ()) -> Verdict:
    """Check one summary (any tool's) against its paper: every number and name, and
    every passage `cited` for a sentence."""
    return verify(sections, title, abstract, fulltext, cited)


def open(settings: Settings | None = None, *, progress: Progress | None = None,  # noqa: A001
         today: Callable[[], date] = utc_today, refresh: bool = False,
         **overrides: Any) -> Papergist:
    """A `Papergist` from settings (default: environment and config file) and overrides.

    Overrides are setting names (`model="gpt-4o-mini"`, `language="ko"`), as a flag
    would give them: they beat the environment and the config file.
    """
    if settings is None:
        settings = load_settings(overrides)
    elif overrides:
        raise UsageError("give settings or overrides, not both")
    return Papergist(settings, progress=progress, today=today, refresh=refresh)
