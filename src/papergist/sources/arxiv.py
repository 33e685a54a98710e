"""The arXiv API (Atom): papers by id (`?id_list=a,b,c&max_results=n&start=0`), and
the new papers of some categories that one evening's announcement carries (`?search_query=
(cat:cs.CL OR cat:cs.CV) AND submittedDate:[202408231801 TO 202408261800]`, the
submissions between two deadlines, sorted by submission, read page by page up to
`opensearch:totalResults`).

Reads both formats the API has served: the legacy one (hard-wrapped abstracts,
`http://arxiv.org/api/...` feed ids) and the 2025+ one (single-quoted XML
declaration, `https://arxiv.org/api/...` feed ids, unwrapped abstracts whose
HTML entities are escaped twice, e.g. `&amp;#177;` for `±`).

arXiv answers an id it cannot read with an entry titled "Error" (id
`http://arxiv.org/api/errors#incorrect_id_format_for_X`), and a well-formed id
it does not have with an entry whose title is empty (or with no entry at all).
Neither becomes a paper: `read_feed` lists them as unknown ids, and
`ArxivSource.fetch` reports every requested id it got no paper for.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, NamedTuple
from zoneinfo import ZoneInfo

from lxml import etree

from papergist.errors import MalformedResponse, UsageError
from papergist.http import HttpClient, Pacer
from papergist.models import ARXIV_ID_RE, Paper
from papergist.settings import Settings
from papergist.sources.text import bounded, one_line, unwrap

ARXIV_BATCH = 100
LISTING_PAGE = 200  # results asked for per request when listing a day
LISTING_MAX = 5000  # a day of more papers than this is refused, not read
WHAT = "arXiv API"
ATOM = "http://www.w3.org/2005/Atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
NS = {"a": ATOM, "os": OPENSEARCH}
EASTERN = ZoneInfo("America/New_York")  # arXiv's schedule runs on US Eastern time
DEADLINE, ANNOUNCED = time(14, 0), time(20, 0)  # submissions close; the day's announcement
CATEGORY_RE = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")  # cs.CL, hep-th, q-bio.NC
NEW_FORMAT_FEED_ID = "https://arxiv.org/api/"
_ABS_URL = re.compile(r"https?://(?:export\.)?arxiv\.org/abs/(?P<id>\S+)")  # fullmatch
_ERROR_ID = re.compile(r"/api/errors#(?:incorrect_id_format_for_(?P<id>.*))?")
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class ArxivFeed(NamedTuple):
    """One parsed API answer: the papers, the ids arXiv said it does not know, and how
    many results the query has in all (`opensearch:totalResults`; None if not given)."""

    papers: list[Paper]
    unknown: list[str]
    total: int | None = None


def split_id(text: str) -> tuple[str, str | None]:
    """`"2408.12637v2"` -> `("2408.12637", "v2")`; raises ValueError if not an arXiv id."""
    match = ARXIV_ID_RE.fullmatch(text)
    if not match:
        raise ValueError(f"not an arXiv id: {text!r}")
    return match.group(1), match.group(2)


def _unescape(text: str) -> str:
    """Undo the 2025+ format's second escaping: `&#177;` -> `±`, `&amp;` -> `&`."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def _root(xml: bytes) -> etree._Element:
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if not xml.strip():
        raise MalformedResponse(f"{WHAT} sent an empty body instead of an Atom feed")
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedResponse(f"{WHAT} sent invalid or truncated XML ({exc})") from None
    if root.tag != f"{{{ATOM}}}feed":
        raise MalformedResponse(f"{WHAT} sent XML that is not an Atom feed "
                                f"(root element <{etree.QName(root).localname}>)")
    return root


def _text(entry: etree._Element, path: str) -> str | None:
    """The text of a child element, '' if it is empty, None if it is missing."""
    node = entry.find(path, NS)
    return None if node is None else "".join(node.itertext())


def _published(entry: etree._Element, where: str) -> datetime | None:
    raw = (_text(entry, "a:published") or "").strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedResponse(f"{WHAT}: {where} has an invalid <published> {raw!r}") from None


def _paper(entry: etree._Element, entry_id: str, title: str, where: str,
           fix: Callable[[str], str]) -> Paper:
    match = _ABS_URL.fullmatch(entry_id)
    try:
        base, version = split_id(match.group("id") if match else "")
    except ValueError:
        raise MalformedResponse(f"{WHAT}: {where} has an id that is not an arXiv "
                                f"abstract URL: {entry_id!r}") from None
    names = (_text(a, "a:name") for a in entry.iterfind("a:author", NS))
    return bounded(Paper(
        source="arxiv", id=base, version=version, title=one_line(fix(title)),
        abstract=unwrap(fix(_text(entry, "a:summary") or "")),
        authors=tuple(one_line(fix(n)) for n in names if n and n.strip()),
        published_at=_published(entry, where), comments=None,
    ))


def _unknown_id(entry_id: str) -> str | None:
    """The requested id an error or empty entry stands for, if it names one."""
    error = _ERROR_ID.search(entry_id)
    if error:
        return error.group("id") or None
    match = _ABS_URL.fullmatch(entry_id)
    return match.group("id") if match and ARXIV_ID_RE.fullmatch(match.group("id")) else None


def read_feed(xml: bytes) -> ArxivFeed:
    """Parse an API answer into papers and unknown ids (error or empty entries).

    Raises `MalformedResponse` for a body that is not XML, truncated XML, a root
    that is not an Atom feed, or an entry without an id or a title element.
    """
    root = _root(xml)
    new_format = (_text(root, "a:id") or "").strip().startswith(NEW_FORMAT_FEED_ID)
    fix = _unescape if new_format else (lambda s: s)
    papers: list[Paper] = []
    unknown: list[str] = []
    for n, entry in enumerate(root.iterfind("a:entry", NS), 1):
        where = f"entry {n}"
        entry_id = (_text(entry, "a:id") or "").strip()
        title = _text(entry, "a:title")
        if not entry_id:
            raise MalformedResponse(f"{WHAT}: {where} has no <id>")
        is_error = _ERROR_ID.search(entry_id) or (
            (title or "").strip() == "Error" and not _ABS_URL.fullmatch(entry_id))
        if is_error or (title is not None and not title.strip()):
            unknown += filter(None, [_unknown_id(entry_id)])
            continue
        if title is None:
            raise MalformedResponse(f"{WHAT}: {where} ({entry_id}) has no <title>")
        papers.append(_paper(entry, entry_id, title, where, fix))
    return ArxivFeed(papers, unknown, _total(root))


def _total(root: etree._Element) -> int | None:
    raw = (_text(root, "os:totalResults") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise MalformedResponse(f"{WHAT}: <opensearch:totalResults> is not a count: {raw!r}")
    return int(raw)


def parse_atom(xml: bytes) -> list[Paper]:
    """The papers of an API answer, in document order (see `read_feed`).

    Error and empty entries (ids arXiv does not know) are left out; use
    `read_feed` to get them.
    """
    return read_feed(xml).papers


def announcement_window(evening: date) -> tuple[datetime, datetime]:
    """The submissions arXiv announces on the evening of `evening` (a US Eastern date,
    Sunday to Thursday, at 20:00): those after the deadline (14:00 Eastern, Monday to
    Friday) before this evening's, up to this evening's (Sunday's is Friday's). One
    evening's window starts where the one before ends: announcements in a row leave no
    gap. Raises `UsageError` for a Friday or a Saturday: arXiv announces nothing then."""
    if evening.weekday() in (4, 5):
        raise UsageError(f"arXiv announces nothing on {evening:%A} evenings ({evening}): "
                         "its announcements are Sunday to Thursday at 20:00 US Eastern")
    deadline = evening - timedelta(days=2) if evening.weekday() == 6 else evening
    previous = deadline - timedelta(days=3 if deadline.weekday() == 0 else 1)
    return (datetime.combine(previous, DEADLINE, tzinfo=EASTERN),
            datetime.combine(deadline, DEADLINE, tzinfo=EASTERN))


def announced(evening: date) -> datetime:
    """When the announcement of `evening` comes out (20:00 US Eastern)."""
    return datetime.combine(evening, ANNOUNCED, tzinfo=EASTERN)


def latest_announcement(now: datetime) -> date:
    """The newest announcement evening (a US Eastern date) that has come by `now`."""
    evening = now.astimezone(EASTERN).date()
    while evening.weekday() in (4, 5) or announced(evening) > now:
        evening -= timedelta(days=1)
    return evening


def _listing_total(page: ArxivFeed, start: int, query: str) -> int:
    """The count of a listing, checked against the page that gave it."""
    if page.total is None:
        raise MalformedResponse(f"{WHAT} gave no result count for {query!r}")
    if page.total > LISTING_MAX:
        raise MalformedResponse(f"{WHAT} lists {page.total:,} papers for {query!r}, more than "
                                f"{LISTING_MAX:,}: ask for fewer categories")
    if not page.papers and start < page.total:
        raise MalformedResponse(f"{WHAT} sent an empty page at {start} of {page.total} for "
                                f"{query!r} (it does this under load; run again)")
    return page.total


def check_categories(categories: list[str]) -> list[str]:
    """The categories, stripped and deduplicated; `UsageError` naming any that is not
    an arXiv category name (cs.CL, hep-th, q-bio.NC)."""
    cleaned = list(dict.fromkeys(c.strip() for c in categories if c.strip()))
    bad = [c for c in cleaned if not CATEGORY_RE.fullmatch(c)]
    if bad or not cleaned:
        raise UsageError(f"not an arXiv category: {', '.join(repr(b) for b in bad)} "
                         "(expected e.g. cs.CL, cs.CV, stat.ML or hep-th)" if bad else
                         "give at least one arXiv category, e.g. cs.CL")
    return cleaned


def check_ids(ids: list[str]) -> list[str]:
    """The ids, stripped and deduplicated (by id without version, first wins).

    Raises `UsageError` naming every id that is not an arXiv id.
    """
    cleaned = [i.strip() for i in ids]
    bad = [i for i in cleaned if not ARXIV_ID_RE.fullmatch(i)]
    if bad:
        raise UsageError(f"not an arXiv id: {', '.join(repr(b) for b in bad)} "
                         f"(expected e.g. 2408.12637, 2408.12637v2 or hep-th/9901001)")
    unique: dict[str, str] = {}
    for i in cleaned:
        unique.setdefault(split_id(i)[0], i)
    return list(unique.values())


class ArxivSource:
    """Fetches papers by id from the arXiv API, in batches, paced per arXiv's terms."""

    def __init__(self, http: HttpClient, settings: Settings, pacer: Pacer | None = None):
        self.http = http
        self.url = settings.arxiv_api_url
        self.pacer = pacer if pacer is not None else Pacer(settings.arxiv_delay)

    def fetch(self, ids: list[str]) -> tuple[list[Paper], list[str]]:
        """Papers for `ids` in the order asked, and the ids arXiv does not know.

        Ids are validated first (`UsageError`, no request sent), deduplicated,
        and asked for in batches of `ARXIV_BATCH`, one request each. A paper
        keeps the version arXiv reports. HTTP failures raise the errors of
        `HttpClient.get`; an unreadable answer raises `MalformedResponse`.
        """
        wanted = check_ids(ids)
        found: dict[str, Paper] = {}
        for start in range(0, len(wanted), ARXIV_BATCH):
            for paper in self._batch(wanted[start:start + ARXIV_BATCH]):
                found.setdefault(paper.id, paper)
        papers, unknown = [], []
        for i in wanted:
            known = found.get(split_id(i)[0])
            if known:
                papers.append(known)
            else:
                unknown.append(i)
        return papers, unknown

    def listing(self, categories: list[str], evening: date) -> list[Paper]:
        """The new papers arXiv announces in any of `categories` on `evening` (see
        `announcement_window`: by their first submission), oldest first, each once (a
        paper cross-listed in two of them comes once).

        Read `LISTING_PAGE` at a time until arXiv's count is reached. Raises
        `UsageError` for a category that is not one (nothing sent), and
        `MalformedResponse` when arXiv gives no count, an empty page before its
        count (it does so under load: run again), or more than `LISTING_MAX` papers.
        """
        categories = check_categories(categories)
        after, until = (t.astimezone(timezone.utc) for t in announcement_window(evening))
        window = f"[{after + timedelta(minutes=1):%Y%m%d%H%M} TO {until:%Y%m%d%H%M}]"
        cats = " OR ".join(f"cat:{c}" for c in categories)
        query = f"({cats}) AND submittedDate:{window}"
        found: dict[str, Paper] = {}
        start, total = 0, None
        while total is None or start < total:
            params = {"search_query": query, "sortBy": "submittedDate",
                      "sortOrder": "ascending", "start": start, "max_results": LISTING_PAGE}
            page = read_feed(self.http.get(self.url, what=WHAT, params=params,
                                           pacer=self.pacer).content)
            total = _listing_total(page, start, query)
            for paper in page.papers:
                found.setdefault(paper.id, paper)
            start += len(page.papers)
        return list(found.values())

    def _batch(self, ids: list[str]) -> list[Paper]:
        """One request for up to `ARXIV_BATCH` ids."""
        params = {"id_list": ",".join(ids), "max_results": len(ids), "start": 0}
        response = self.http.get(self.url, what=WHAT, params=params, pacer=self.pacer)
        return read_feed(response.content).papers
