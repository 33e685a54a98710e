"""`papergist serve`: the archive as a web app, read-only over the store.

The same URLs as the static archive (`papergist site`) - `/` (or `/index.html`), a
page per day (`/YYYY/MM/DD/index.html`) and per paper (`/YYYY/MM/DD/{id}.html`),
`/feed.xml` - plus search (`/search?q=`) and a JSON API:

* `GET /api/digests`: every stored digest (`ArchiveEntry`), newest first;
* `GET /api/digests/{kind}/{label}`: one digest, the document `digest -f json` prints
  (`/api/digests/daily/2024-08-26`, `/api/digests/weekly/2024-W34`); `?for=READER`
  ranks it for a reader of the config file, as day pages do;
* `GET /api/search?q=&limit=&lang=&by=`: `SearchResults` (`by=meaning`: by meaning).

Every route is one call to the `Papergist` front door and a rendering, as in the
CLI; errors map to statuses in one table (`STATUSES`). Pages carry a strict
Content-Security-Policy and no script.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from papergist.core import MAX_SEARCH_LIMIT, Papergist
from papergist.errors import ConfigError, PapergistError, StoreError, UsageError
from papergist.models import PERIODS, Digest, DigestKind, SearchHit, period_label, period_start
from papergist.render.atom import render_atom
from papergist.render.html import (CSP, arxiv_url, clean, day_path, paper_path, render_html,
                                   render_paper_html, slug)
from papergist.render.common import KIND_NAMES
from papergist.render.json_digest import render_json

FEED_DAYS = 30
PAGE_CSP = CSP.replace("form-action 'none'", "form-action 'self'")  # the search form
SITE = "../../.."  # from a day or paper page back to the root, as in the static archive
STATUSES: tuple[tuple[type[PapergistError], int], ...] = (
    (UsageError, 400), (ConfigError, 400), (StoreError, 503), (PapergistError, 500))
FOR = Query(None, alias="for", description="A reader of the config file: most relevant first")
KINDS: tuple[DigestKind, ...] = ("daily", "ids", "weekly", "monthly", "arxiv")

_ENV = Environment(loader=ChoiceLoader([PackageLoader("papergist.web", "templates"),
                                        PackageLoader("papergist.render", "templates")]),
                   autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True)


class NotFound(Exception):
    """A page or digest that is not in the store."""


def create_app(pg: Papergist, *, title: str = "papergist: Daily Papers") -> FastAPI:
    """The web app over an open `Papergist` (which the caller closes)."""
    pg.archive()  # opens (and migrates) the store now, not racing in the first requests
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    _errors(app)
    _pages(app, pg, title)
    _api(app, pg)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(PapergistError)
    def known(request: Request, exc: PapergistError) -> Response:
        status = next(code for cls, code in STATUSES if isinstance(exc, cls))
        return _problem(request, status, str(exc))

    @app.exception_handler(NotFound)
    def missing(request: Request, exc: NotFound) -> Response:
        return _problem(request, 404, str(exc))


def _problem(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    page = {"csp": CSP, "lang": "en", "heading": f"Error {status}", "feed_url": None}
    return HTMLResponse(_ENV.get_template("error.html.j2").render(page=page, message=message),
                        status_code=status)


def _pages(app: FastAPI, pg: Papergist, title: str) -> None:
    @app.get("/", response_class=HTMLResponse)
    @app.get("/index.html", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        archive = pg.archive()
        entries = [e for e in archive if e.kind == "daily"]
        days = [{"label": e.label, "papers": e.papers, "href": "/" + day_path(e.date)}
                for e in entries]
        others = [{"label": f"{KIND_NAMES[e.kind]} {e.label}", "papers": e.papers,
                   "href": f"/{e.kind}/{e.label}/"} for e in archive if e.kind != "daily"]
        page = _page(title, pg.language)
        return _ENV.get_template("archive.html.j2").render(
            page=page, days=days, others=others, papers=sum(e.papers for e in entries),
            query="", by="words")

    @app.get("/search", response_class=HTMLResponse)
    def search_page(q: str = "", limit: int = Query(20, ge=1, le=MAX_SEARCH_LIMIT),
                    by: Literal["words", "meaning"] = "words") -> str:
        hits: list[dict[str, Any]] = []
        problem = None
        if q.strip():
            try:
                hits = [_hit_view(h) for h in pg.search(q, limit=limit, by=by).hits]
            except UsageError as exc:
                problem = str(exc)
        page = _page(f"Search: {q}" if q.strip() else "Search", pg.language)
        return _ENV.get_template("search.html.j2").render(
            page=page, query=q, hits=hits, limit=limit, problem=problem, by=by,
            json_url=str(app.url_path_for("api_search")) + f"?q={quote(q, safe='')}&limit={limit}&by={by}")

    @app.get("/{kind}/{label}/", response_class=HTMLResponse)
    def other_page(kind: str, label: str, reader: str | None = FOR) -> str:
        """A week's, a month's, an id list's or an arXiv listing's digest (papers link
        to arXiv: the archive's paper pages are the days')."""
        if kind == "daily":
            raise NotFound("a day's digest is at /YYYY/MM/DD/")
        digest = _stored(pg, kind, label)
        return render_html(pg.rank(digest, reader) if reader else digest)

    @app.get("/{year}/{month}/{day}/", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/{year}/{month}/{day}/index.html", response_class=HTMLResponse)
    def day_page(year: str, month: str, day: str, reader: str | None = FOR) -> str:
        digest = _daily(pg, year, month, day)
        return render_html(pg.rank(digest, reader) if reader else digest, site_url=SITE)

    @app.get("/{year}/{month}/{day}/{name}.html", response_class=HTMLResponse)
    def paper_page(year: str, month: str, day: str, name: str) -> str:
        digest = _daily(pg, year, month, day)
        for item in digest.items:
            if slug(item.paper.id) == name:
                return render_paper_html(item, digest, site_url=SITE)
        raise NotFound(f"no paper {name} in the digest of {digest.label}")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # none: but no 404 in every browser's console

    @app.get("/feed.xml")
    def feed(request: Request) -> Response:
        site = str(request.base_url).rstrip("/")
        days = [e.date for e in pg.archive() if e.kind == "daily"][:FEED_DAYS]
        digests = [d for d in (pg.load_digest(day) for day in days) if d]
        xml = render_atom(digests, feed_url=f"{site}/feed.xml", site_url=site, title=title,
                          language=pg.language)
        return Response(xml, media_type="application/atom+xml; charset=utf-8")


def _api(app: FastAPI, pg: Papergist) -> None:
    @app.get("/api/digests")
    def api_digests(lang: str | None = None) -> JSONResponse:
        return JSONResponse([e.model_dump(mode="json") for e in pg.archive(lang)])

    @app.get("/api/digests/{kind}/{label}")
    def api_digest(kind: str, label: str, reader: str | None = FOR) -> Response:
        digest = _stored(pg, kind, label)
        ranked = pg.rank(digest, reader) if reader else digest
        return Response(render_json(ranked), media_type="application/json")

    @app.get("/api/search")
    def api_search(q: str, limit: int = Query(20, ge=1, le=MAX_SEARCH_LIMIT),
                   lang: str | None = None,
                   by: Literal["words", "meaning"] = "words") -> JSONResponse:
        return JSONResponse(pg.search(q, limit=limit, language=lang, by=by)
                            .model_dump(mode="json"))


def _page(heading: str, language: str) -> dict[str, Any]:
    return {"csp": PAGE_CSP, "lang": language.split("-")[0], "heading": heading,
            "feed_url": "/feed.xml"}


def _stored(pg: Papergist, kind: str, label: str) -> Digest:
    """The stored digest of a kind ("weekly") and label ("2024-W34"), or `NotFound`."""
    if kind not in KINDS:
        raise NotFound(f"no kind of digest {kind!r}: use one of {', '.join(KINDS)}")
    digest = pg.load_digest(_start(kind, label), kind)  # type: ignore[arg-type]  # checked
    if digest is None:
        raise NotFound(f"no {kind} digest for {label} in {pg.language}")
    return digest


def _daily(pg: Papergist, year: str, month: str, day: str) -> Any:
    try:
        wanted = date(int(year), int(month), int(day))
    except ValueError:
        raise NotFound(f"no day {year}/{month}/{day}") from None
    digest = pg.load_digest(wanted)
    if digest is None:
        raise NotFound(f"no digest stored for {wanted}")
    return digest


def _start(kind: str, label: str) -> date:
    try:
        if kind in PERIODS:
            return period_start(kind, label)  # type: ignore[arg-type]  # a key of PERIODS
        return date.fromisoformat(label)
    except ValueError:
        raise NotFound(f"no {kind} digest {label!r}") from None


def _hit_view(hit: SearchHit) -> dict[str, Any]:
    """What the results page shows of a hit: its page here (a day's paper) or on arXiv."""
    href = "/" + paper_path(hit.date, hit.paper_id) if hit.kind == "daily" \
        else arxiv_url(hit.paper_id)
    return {"title": clean(hit.title), "href": href, "upvotes": hit.upvotes,
            "label": period_label(hit.kind, hit.date), "authors": ", ".join(hit.authors[:8]),
            "pieces": _pieces(hit.snippet, hit.highlights)}


def _pieces(text: str, spans: tuple[tuple[int, int], ...]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, highlighted) runs."""
    pieces, at = [], 0
    for start, end in spans:
        pieces += [(text[at:start], False), (text[start:end], True)]
        at = end
    pieces.append((text[at:], False))
    return [(clean(p), marked) for p, marked in pieces if p]
