"""The Hugging Face Daily Papers feed: `GET {HF_ENDPOINT}/api/daily_papers?date=`
(or `?week=2024-W34`, `?month=2024-08`: the same entries, for a week or a month).

Parses every field generation the API has had (2024 to 2026: `mediaUrl`,
`mediaUrls`/`thumbnail`, `submittedBy`, `ai_summary`, `githubRepo`,
`projectPage`, `organization`, `submittedOnDailyAt`, ...). Metadata is kept as
the source gives it; only arXiv's hard line wraps in titles and abstracts are
joined; each text field is clipped to its limit (`sources.text.bounded`). An
entry that cannot be read becomes a `PaperFailure`, never a silent drop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from papergist.errors import MalformedResponse, SourceRejected, UsageError
from papergist.http import HttpClient
from papergist.models import (ARXIV_ID_RE, PERIODS, DailyList, ListedPaper, Paper, PaperFailure,
                              PeriodKind, period_label)
from papergist.settings import Settings
from papergist.sources.text import bounded, one_line, unwrap

MAX_PAGES = 40  # of a day; a week or a month may have 7 or 31 times as many
MAX_ID = 64  # characters of an unreadable entry's id kept to name it
NEWEST_DAY_LOOKBACK = 7


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _authors(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: paper.authors is not a list")
    names = []
    for author in raw:
        name = _text(author.get("name")) if isinstance(author, dict) else None
        if name is None:
            raise ValueError(f"{where}: an author has no name")
        names.append(one_line(name))
    return tuple(names)


def _thumbnail(entry: dict[str, Any]) -> str | None:
    media = entry.get("mediaUrls") or []
    return _text(entry.get("thumbnail")) or _text(entry.get("mediaUrl")) or (
        _text(media[0]) if isinstance(media, list) and media else None)


def _organization(entry: dict[str, Any], paper: dict[str, Any]) -> str | None:
    org = entry.get("organization") or paper.get("organization")
    if isinstance(org, dict):
        return _text(org.get("fullname")) or _text(org.get("name"))
    return _text(org)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_entry(entry: Any, position: int) -> ListedPaper:
    """One element of the API's list; raises `ValueError` naming what is missing."""
    where = f"entry {position + 1}"
    if not isinstance(entry, dict) or not isinstance(entry.get("paper"), dict):
        raise ValueError(f"{where}: no 'paper' object")
    paper = entry["paper"]
    paper_id = paper.get("id")
    if not isinstance(paper_id, str) or not ARXIV_ID_RE.fullmatch(paper_id):
        shown = paper_id[:MAX_ID] + "…" if isinstance(paper_id, str) and len(paper_id) > MAX_ID \
            else paper_id
        raise ValueError(f"{where}: paper.id missing or not an arXiv id ({shown!r})")
    where = f"{where} ({paper_id})"
    title = _text(paper.get("title")) or _text(entry.get("title"))
    if title is None:
        raise ValueError(f"{where}: no title")
    media = entry.get("mediaUrls")
    keywords = paper.get("ai_keywords")
    return ListedPaper(
        rank=position + 1,
        upvotes=_int(paper.get("upvotes")),
        paper=bounded(Paper(
            id=paper_id,
            title=one_line(title),
            abstract=unwrap(paper.get("summary") or ""),
            authors=_authors(paper.get("authors"), where),
            published_at=_datetime(paper.get("publishedAt")),
            thumbnail=_thumbnail(entry),
            media_urls=tuple(u for u in media if _text(u)) if isinstance(media, list) else (),
            github_repo=_text(paper.get("githubRepo")),
            project_page=_text(paper.get("projectPage")),
            organization=_organization(entry, paper),
            ai_summary=_text(paper.get("ai_summary")),
            ai_keywords=tuple(k for k in keywords if _text(k)) if isinstance(keywords, list) else (),
            comments=_int(entry.get("numComments")),
            source="hf",
        )),
    )


def parse_page(body: bytes | str) -> list[Any]:
    """A page of the API: must be a JSON list; truncated or other JSON is an error."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise MalformedResponse(f"HF Daily Papers sent invalid JSON ({_short(exc)}); "
                                "the reply may be truncated, try again later") from None
    if isinstance(data, dict) and "error" in data:
        raise MalformedResponse(f"HF Daily Papers answered with an error: {data['error']}")
    if not isinstance(data, list):
        raise MalformedResponse(f"HF Daily Papers sent a JSON {type(data).__name__}, "
                                "not the list of papers it documents")
    return data


def _short(exc: Exception) -> str:
    return str(exc).split(":")[0] if ":" in str(exc) else str(exc)


def parse_day(day: date, entries: list[Any]) -> tuple[DailyList, tuple[PaperFailure, ...]]:
    """Entries (all pages, feed order) into a `DailyList` plus the unreadable ones."""
    listed: list[ListedPaper] = []
    failures: list[PaperFailure] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries):
        try:
            item = parse_entry(entry, position)
        except ValueError as exc:
            failures.append(PaperFailure(paper_id=_entry_id(entry, position), stage="fetch",
                                         reason=f"HF entry unreadable: {exc}"))
            continue
        if item.paper.id not in seen:
            seen.add(item.paper.id)
            listed.append(item.model_copy(update={"rank": len(listed) + 1}))
    return DailyList(day=day, entries=tuple(listed), source="hf"), tuple(failures)


def _entry_id(entry: Any, position: int) -> str:
    paper = entry.get("paper") if isinstance(entry, dict) else None
    pid = paper.get("id") if isinstance(paper, dict) else None
    pid = one_line(pid)[:MAX_ID] if isinstance(pid, str) else ""  # shown in reports: one line
    return pid or f"entry-{position + 1}"


@dataclass(frozen=True)
class NewestDay:
    """The newest day with papers (None: none in the week), and the days HF had not opened."""

    day: date | None
    not_open: tuple[date, ...] = ()


class HFDailySource:
    """Reads one day (or week, or month), page by page, until the list is whole."""

    def __init__(self, http: HttpClient, settings: Settings):
        self.http = http
        self.url = f"{settings.hf_endpoint}/api/daily_papers"
        self.page_size = settings.hf_page_size

    def fetch(self, day: date) -> tuple[DailyList, tuple[PaperFailure, ...]]:
        """The day's list, and the entries that could not be read."""
        return parse_day(day, self._entries({"date": day.isoformat()}, str(day), MAX_PAGES))

    def fetch_period(self, kind: PeriodKind, start: date) -> tuple[DailyList, tuple[PaperFailure, ...]]:
        """The list of a week or a month (`?week=2024-W34`, `?month=2024-08`), whose
        first day is `start`, and the entries that could not be read."""
        label = period_label(kind, start)
        days = 7 if kind == "weekly" else 31
        return parse_day(start, self._entries({PERIODS[kind][0]: label}, label, MAX_PAGES * days))

    def _entries(self, query: dict[str, str], what: str, max_pages: int) -> list[Any]:
        """Every raw entry the query lists, in feed order, across pages.

        A first page shorter than asked may be the whole list or a server that
        caps its pages (HF has served 20 when asked for 50): the next pages are
        then asked at that size until one comes back empty. A short page after
        full ones ends the list; so does a page of entries already seen (a server
        ignoring `p`). More than `max_pages` pages is an error, never a list.
        """
        entries: list[Any] = []
        seen: set[str] = set()
        limit = self.page_size
        for page in range(max_pages):
            batch = self._page(query, what, limit, page)
            ids = {_entry_id(e, len(entries) + n) for n, e in enumerate(batch)}
            if not batch or ids <= seen:
                return entries
            entries.extend(batch)
            seen |= ids
            if len(batch) < limit:
                if page > 0:
                    return entries
                limit = len(batch)  # the server's own page size, or the whole list
        raise MalformedResponse(f"HF Daily Papers kept sending pages for {what} "
                                f"(over {max_pages} pages, {len(entries)} papers); stopped")

    def _page(self, query: dict[str, str], what: str, limit: int, page: int) -> list[Any]:
        """One page of the list."""
        try:
            response = self.http.get(self.url, params={**query, "limit": limit, "p": page},
                                     what="HF Daily Papers")
        except SourceRejected as exc:
            if exc.status == 400:
                raise UsageError(f"HF Daily Papers has no list for {what}: {exc}") from None
            raise
        return parse_page(response.content)

    def newest_day(self, today: date) -> NewestDay:
        """The newest day with papers, looking back from `today` (UTC) a week at most.

        HF answers 400 ("date must be a date before ...") for a day it has not
        opened yet, around midnight UTC or when its clock lags ours: that day is
        stepped over, and named in `not_open`. Any other 400 is an error.
        """
        not_open: list[date] = []
        for back in range(NEWEST_DAY_LOOKBACK + 1):
            day = today - timedelta(days=back)
            try:
                response = self.http.get(self.url, what="HF Daily Papers",
                                         params={"date": day.isoformat(), "limit": 1, "p": 0})
            except SourceRejected as exc:
                if exc.status == 400 and "date" in str(exc).lower():
                    not_open.append(day)
                    continue
                raise
            if parse_page(response.content):
                return NewestDay(day, tuple(not_open))
        return NewestDay(None, tuple(not_open))
