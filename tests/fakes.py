"""Real HTTP servers on 127.0.0.1 standing in for HF and arXiv.

`FakeServer` is a threaded stdlib HTTP server with a route table; every request
is recorded (method, path, query, time, headers, body). `FakeHF` serves the recorded Daily Papers
fixtures by date, with paging (`limit`, `p`) the way the API pages, and can be
told to fail.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from lxml import etree

# Free data, in the repository: HF Daily Papers responses and arXiv Atom API answers
# (tests/fixtures/PROVENANCE.md says where each comes from and under what licence).
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Data papergist does not redistribute (papers' PDFs, HTML pages and full texts, other
# projects' summaries): beside the clone, in ../shared/fixtures, or where
# PAPERGIST_SHARED_FIXTURES says. May be absent: reach it only through `shared()`.
SHARED_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
SHARED = Path(os.environ.get("PAPERGIST_SHARED_FIXTURES") or SHARED_DEFAULT)
# Why each part of SHARED is not in the repository.
WHY_NOT_HERE = {
    "arxiv_pdf": "papers' PDFs are not redistributed with papergist",
    "arxiv_html": "arXiv's HTML pages of papers are not redistributed with papergist",
    "fulltext": "papers' full texts are not redistributed with papergist",
    "ko_summaries.json": "other projects' summaries are not redistributed with papergist",
    "reference_digest_2024-08-26.md": "other projects' digests are not redistributed with papergist",
}


def in_ci() -> bool:
    """True under CI (the `CI` environment variable set, and not to false/0/no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def shared(path: str) -> Path:
    """`SHARED / path`, the data papergist does not redistribute.

    When it is missing, the calling test is skipped saying what is missing and why;
    under CI (which has the shared folder) it fails with the same message instead.
    Call it from a test or a fixture, never at import.
    """
    target = SHARED / path
    if target.exists():
        return target
    shown = (f"../shared/fixtures/{path}" if SHARED == SHARED_DEFAULT else str(target))
    why = WHY_NOT_HERE.get(Path(path).parts[0], "it is not redistributed with papergist")
    reason = f"needs {shown} ({why})"
    import pytest  # here, not at the top: the demo servers run these fakes without pytest

    if in_ci():
        pytest.fail(f"{reason}; CI needs ../shared/fixtures", pytrace=False)
    pytest.skip(reason)


# The shared files the tests read (paths under SHARED).
HTML_2508 = "arxiv_html/2508.08468v6_arxiv_html_2026-07.html"  # a LaTeXML full-text page
ABS_PAGE_2106 = "arxiv_html/2106.09608_arxiv_abs_page_2021.html"  # an abstract page, not LaTeXML
PDF_RESNET = "arxiv_pdf/1512.03385v1.pdf"
PDF_ATTENTION = "arxiv_pdf/1706.03762v7.pdf"


@functools.cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


def shared_bytes(path: str) -> bytes:
    """The bytes of `shared(path)` (skips, or fails under CI, when it is missing)."""
    return _read(shared(path))


def require_shared(path: str) -> Path:
    """`SHARED / path` for scripts (bench/): exits with the reason when it is missing."""
    target = SHARED / path
    if not target.exists():
        why = WHY_NOT_HERE.get(Path(path).parts[0], "it is not redistributed with papergist")
        raise SystemExit(f"needs {target} ({why}): put papergist beside shared/ "
                         "or set PAPERGIST_SHARED_FIXTURES")
    return target


HF_FIXTURES = FIXTURES / "hf_daily_papers"
ATOM_DIR = FIXTURES / "arxiv_atom"
LEGACY = ATOM_DIR / "legacy_search_all_Einstein_2018-02-05.xml"
NEWAPI = ATOM_DIR / "newapi_search_all_BIPV_2026-07-29.xml"
XIV = ATOM_DIR / "xiv_cs.RO_neural_search_2025-10-17.xml"
ZOIA = ATOM_DIR / "zoia_id_list_1601.00001_2020-09-04.xml"
NS = {"a": "http://www.w3.org/2005/Atom"}
OS = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
API = "/api/query"


@dataclass
class Request:
    path: str
    query: dict[str, str]
    time: float
    headers: dict[str, str]
    method: str = "GET"
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header by name, case-insensitively."""
        name = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == name), default)

    def json(self) -> object:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


Handler = Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    """One daemon thread per connection and a deep accept queue (the default is 5,
    which makes bursts of 60 concurrent clients wait for SYN retransmits)."""

    daemon_threads = True
    request_queue_size = 256


class FakeServer:
    """A real HTTP server on 127.0.0.1 and a random port; use as a context manager.

    `routes` maps a path to a handler; a key "POST /path" (any method) is tried first
    for that method, a plain "/path" answers every method (GET and POST). A path that
    only has routes for other methods answers 405; an unknown one 404.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                self._answer()

            def do_POST(self) -> None:  # noqa: N802 (stdlib name)
                self._answer()

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline().strip():  # trailers, then the blank line
                        pass
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                req = Request(parts.path, query, time.monotonic(), dict(self.headers),
                              self.command, self._read_body())
                with server._lock:
                    server.requests.append(req)
                handler = server.routes.get(f"{self.command} {parts.path}",
                                            server.routes.get(parts.path))
                if handler:
                    reply = handler(req)
                elif any(k.endswith(f" {parts.path}") for k in server.routes):
                    reply = Reply(405, '{"error":"Method Not Allowed"}')
                else:
                    reply = Reply(404, '{"error":"Not Found"}')
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if reply.length:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def hits(self, path: str) -> list[Request]:
        """The requests made to `path` (any method), in order."""
        with self._lock:
            return [r for r in self.requests if r.path == path]


def load_day(day: str) -> list[dict]:
    """A recorded HF Daily Papers response."""
    return json.loads((HF_FIXTURES / f"{day}.json").read_text(encoding="utf-8"))


class FakeHF(FakeServer):
    """The HF Daily Papers API: `/api/daily_papers?date=&limit=&p=` (or `week=2024-W34`,
    `month=2024-08`: the entries of the days of that week or month, up to `today`,
    day after day, as documented in huggingface/hub-docs#2065; HF's own order within
    a week is not documented, papergist orders by upvotes itself).

    `days` maps a date to its entries; unknown dates answer `[]` (a weekend),
    dates after `today` answer 400 as HF does. `fail(request)` can replace any
    reply; when it returns None, the day is served as usual. `max_page` caps the
    entries of one page whatever `limit` asks (pages are then that size).
    """

    def __init__(self, days: dict[str, list[dict]] | None = None, today: str = "2026-11-24",
                 default_limit: int = 50, max_page: int | None = None) -> None:
        super().__init__()
        self.days = days if days is not None else {p.stem: load_day(p.stem)
                                                    for p in HF_FIXTURES.glob("*.json")}
        self.today = today
        self.default_limit = default_limit
        self.max_page = max_page
        self.fail: Callable[[Request], Reply | None] | None = None
        self.routes["/api/daily_papers"] = self._daily_papers

    def _daily_papers(self, req: Request) -> Reply:
        failure = self.fail(req) if self.fail is not None else None
        if failure is not None:
            return failure
        listed = self._listed(req.query)
        if isinstance(listed, Reply):
            return listed
        limit = int(req.query.get("limit", self.default_limit))
        if self.max_page is not None:
            limit = min(limit, self.max_page)
        page = int(req.query.get("p", 0))
        entries = listed[page * limit:(page + 1) * limit]
        return Reply(200, json.dumps(entries, ensure_ascii=False),
                     {"Content-Type": "application/json; charset=utf-8"})


    def _listed(self, query: dict[str, str]) -> list[dict] | Reply:
        """Every entry the query asks for, or HF's 400."""
        if "week" in query or "month" in query:
            wanted = query.get("week") or query["month"]
            try:
                in_period = (lambda d: f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}") \
                    if "week" in query else (lambda d: f"{d:%Y-%m}")
                days = sorted(d for d in self.days if d <= self.today
                              and in_period(date.fromisoformat(d)) == wanted)
            except ValueError:
                return Reply(400, json.dumps({"error": "invalid period"}))
            return [e for d in days for e in self.days[d]]
        day = query.get("date", self.today)
        if len(day) != 10 or day > self.today:
            return Reply(400, json.dumps({"error": f'"date" must be a date before {self.today}'}))
        return self.days.get(day, [])


# What the legacy API answers for an id it cannot read, as recorded in
# arXiv/arxiv-search#257 and northword/zotero-format-metadata#297.
ERROR_ENTRY = """<entry xmlns="http://www.w3.org/2005/Atom">
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_{id}</id>
    <title>Error</title>
    <summary>incorrect id format for {id}</summary>
    <updated>2025-06-30T00:00:00-04:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_{id}" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>"""


# --- building answers out of real entries -------------------------------------------


def real_entries() -> list[etree._Element]:
    """Every entry of the four recorded answers."""
    return [e for f in (LEGACY, ZOIA, XIV, NEWAPI)
            for e in etree.parse(str(f)).getroot().iterfind("a:entry", NS)]


def feed(entries: list[etree._Element], template: Path = ZOIA) -> bytes:
    """A recorded feed with its entries replaced by `entries`."""
    root = etree.parse(str(template)).getroot()
    for old in root.findall("a:entry", NS):
        root.remove(old)
    for entry in entries:
        root.append(entry)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def entry_as(entry: etree._Element, arxiv_id: str) -> etree._Element:
    """A copy of a real entry that reports `arxiv_id` (with a version)."""
    entry = copy.deepcopy(entry)
    entry.find("a:id", NS).text = f"http://arxiv.org/abs/{arxiv_id}"
    return entry


def error_entry(arxiv_id: str) -> etree._Element:
    return etree.fromstring(ERROR_ENTRY.format(id=arxiv_id))


def empty_entry(arxiv_id: str) -> etree._Element:
    """A real entry emptied: an id with an empty title and summary."""
    entry = entry_as(real_entries()[0], arxiv_id)
    entry.find("a:title", NS).text = ""
    entry.find("a:summary", NS).text = ""
    return entry


class FakeArxiv(FakeServer):
    """Answers id_list queries with real entries re-labelled as the ids asked for.

    Entries come back in reverse order (arXiv does not keep the request order);
    ids in `unknown` get an error entry, ids in `missing` no entry at all.

    A search_query is answered from `listing` (entries, as a real search answer
    carries them: the recorded cs.RO search is the envelope), `max_results` from
    `start`, with `opensearch:totalResults` = len(listing) (or `total`); the pages
    starting at an index in `empty_at` come back empty, as arXiv's do under load.
    """

    def __init__(self, unknown: set[str] = frozenset(), missing: set[str] = frozenset()):
        super().__init__()
        self.unknown, self.missing = unknown, missing
        self.pool = real_entries()
        self.listing: list[etree._Element] = []
        self.total: int | None = None
        self.empty_at: set[int] = set()
        self.routes[API] = self.answer

    def answer(self, req: Request) -> Reply:
        if "search_query" in req.query:
            return self.search(req)
        entries = []
        for n, asked in enumerate(req.query["id_list"].split(",")):
            if asked in self.unknown:
                entries.append(error_entry(asked))
            elif asked not in self.missing:
                label = asked if "v" in asked.split("/")[-1] else f"{asked}v1"
                entries.append(entry_as(self.pool[n % len(self.pool)], label))
        return Reply(200, feed(entries[::-1]), {"Content-Type": "application/atom+xml"})


    def search(self, req: Request) -> Reply:
        start, size = int(req.query["start"]), int(req.query["max_results"])
        page = [] if start in self.empty_at else self.listing[start:start + size]
        root = etree.fromstring(feed(page, XIV))
        total = len(self.listing) if self.total is None else self.total
        root.find("os:totalResults", OS).text = str(total)
        root.find("os:startIndex", OS).text = str(start)
        root.find("os:itemsPerPage", OS).text = str(size)
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return Reply(200, body, {"Content-Type": "application/atom+xml"})

    def list_ids(self, ids: list[str]) -> None:
        """List real entries re-labelled as `ids`, in this order."""
        self.listing = [entry_as(self.pool[n % len(self.pool)], f"{i}v1")
                        for n, i in enumerate(ids)]


class Blocking:
    """A `FullTextSource` driven from synchronous test code: each `fetch` runs in an
    event loop of its own, which closes the source's connection pool behind it."""

    def __init__(self, source: object) -> None:
        self.source = source

    def __getattr__(self, name: str) -> object:
        return getattr(self.source, name)

    def fetch(self, paper: object) -> tuple:
        async def go() -> tuple:
            try:
                return await self.source.fetch(paper)
            finally:
                await self.source.http.aclose()
        return asyncio.run(go())
