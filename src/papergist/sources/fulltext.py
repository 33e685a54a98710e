"""A paper's full text: arXiv's HTML (LaTeXML) page, else its PDF, else the abstract.

`FullTextSource.fetch` tries `{arxiv_url}/html/{id}{version}`, then
`{arxiv_url}/pdf/{id}{version}`, then the abstract, and says in its notes why
each better option failed. Downloads that parse are cached on disk under the
version arXiv served (arXiv versions never change); a 404 is remembered for
three days too, so a re-run of a versioned paper asks nothing
(`papergist.sources.cache`).

Downloads are read as a stream and given up past `MAX_HTML_BYTES` (8 MB) or
`MAX_PDF_BYTES` (30 MB); a page nested deeper than `MAX_HTML_DEPTH` is not parsed;
and whatever a page makes a parser raise costs the paper that option only. Each
case falls back to the next option with its reason in the notes.

`parse_html` reads LaTeXML pages by their `ltx_` classes only, not by the page
template, so both the ar5iv-era pages and the current ones work; `parse_pdf`
(`papergist.sources.pdf`) reads a PDF's text layer, in worker processes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import logging
import os
import re
import signal
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from selectolax.lexbor import LexborHTMLParser, LexborNode

from papergist.errors import MalformedResponse, SourceError, SourceRejected, SourceUnavailable
from papergist.http import (AsyncHttpClient, NoStopwatch, Pacer, ResponseTooLarge, Stopwatch,
                            megabytes)
from papergist.logs import emit, logger
from papergist.models import Paper, PaperText, TextSection
from papergist.settings import Settings
from papergist.sources.pdf import WHAT, parse_pdf
from papergist.sources.cache import (MARKER, alias_name, cache_name, latest, marker_fresh,
                                     served_version)

UNREACHABLE_LIMIT = 3  # downloads in a row finding arXiv unavailable before the run stops asking
MAX_HTML_BYTES = 8 * 2**20  # arXiv's LaTeXML pages are ~0.1-2 MB; images are separate files
MAX_PDF_BYTES = 30 * 2**20
MAX_HTML_DEPTH = 512  # real LaTeXML pages nest ~20-60 elements deep
MAX_BYTES = {"html": MAX_HTML_BYTES, "pdf": MAX_PDF_BYTES}
log = logger("fulltext")

# --- HTML (LaTeXML) -------------------------------------------------------------------

_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "nav", "header", "footer",
                        "button", "form", "svg", "iframe", "img", "input", "select"})
_DROP_CLASSES = frozenset({
    "ltx_bibliography", "ltx_TOC", "ltx_page_navbar", "ltx_page_header", "ltx_page_footer",
    "ltx_page_logo", "ltx_authors", "ltx_author_notes", "ltx_dates", "ltx_keywords",
    "ltx_title_document", "ltx_note", "ltx_ERROR", "ltx_listing_data", "ltx_tag_equation",
    "ltx_rdf", "sr-only", "package-alerts",
})
_BLOCK_TAGS = frozenset({"p", "div", "section", "article", "li", "ul", "ol", "dl", "dt", "dd",
                         "figure", "figcaption", "blockquote", "pre", "table", "tr", "br",
                         "h1", "h2", "h3", "h4", "h5", "h6"})
_UNITS = frozenset({"ltx_section", "ltx_appendix"})
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?)\]])")
MAX_TABLE_NESTING = 4  # tables in table cells read as tables; deeper ones as plain text


def _classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


class _Blocks:
    """Text gathered into blocks (paragraphs, title lines, tables), whitespace normalised."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self._inline: list[str] = []

    def add(self, text: str) -> None:
        self._inline.append(text)

    def end(self) -> None:
        line = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join("".join(self._inline).split()))
        if line:
            self.blocks.append(line)
        self._inline = []


_END_BLOCK = object()  # marks, on the walk's stack, where a block element ends


def _emit(node: LexborNode, out: _Blocks, tables: int = 0) -> None:
    """Write one node (and what it holds) as text: math as alt text, tables as rows.

    The walk keeps its own stack, so a page nested 20,000 levels deep costs no
    Python recursion; `tables` counts the tables around `node` (see `_table`).
    """
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if not isinstance(item, LexborNode):  # _END_BLOCK
            out.end()
            continue
        if item.tag == "-text":
            out.add(item.text_content or "")
            continue
        if not item.is_element_node or item.tag in _DROP_TAGS:
            continue
        classes = _classes(item)
        if classes & _DROP_CLASSES:
            continue
        if item.tag == "math":
            alt = item.attributes.get("alttext")
            out.add(f" {alt if alt is not None else item.text(deep=True)} ")
            continue
        if "ltx_tabular" in classes and tables < MAX_TABLE_NESTING:
            out.end()
            out.blocks.extend(filter(None, [_table(item, tables + 1)]))
            continue
        if item.tag in _BLOCK_TAGS or "ltx_tabular" in classes:
            out.end()
            stack.append(_END_BLOCK)
        stack.extend(reversed(list(item.iter(include_text=True))))


def _inline(node: LexborNode, tables: int = 0) -> str:
    out = _Blocks()
    for child in node.iter(include_text=True):
        _emit(child, out, tables)
    out.end()
    return " ".join(out.blocks)


def _rows(table: LexborNode) -> list[LexborNode]:
    """The rows of a table, not those of the tables inside its cells."""
    rows, stack = [], list(table.iter())
    while stack:
        node = stack.pop()
        if node.tag == "tr" or "ltx_tr" in _classes(node):
            rows.append(node)
        elif "ltx_tabular" not in _classes(node):
            stack.extend(node.iter())
    return rows[::-1]


def _table(node: LexborNode, tables: int = 1) -> str:
    """A `ltx_tabular` as text rows, cells joined by " | ".

    Tables in cells become rows of their own cell's text down to
    MAX_TABLE_NESTING levels; deeper ones are read as plain text.
    """
    rows = []
    for row in _rows(node):
        cells = [_inline(c, tables) for c in row.iter()
                 if c.tag in ("td", "th") or "ltx_td" in _classes(c)]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows) or _inline(node, tables)


def _section(node: LexborNode, title: str | None = None) -> TextSection:
    """A section: its own heading, and its text with sub-headings kept as lines."""
    heading = next((c for c in node.iter() if "ltx_title" in _classes(c)), None)
    out = _Blocks()
    for child in node.iter(include_text=True):
        if heading is None or child.mem_id != heading.mem_id:
            _emit(child, out)
    out.end()
    if title is None:
        title = _inline(heading) if heading is not None else ""
    return TextSection(title=title, text="\n\n".join(out.blocks))


def _holders(doc: LexborNode) -> set[int]:
    """The nodes (by `mem_id`) that hold a section, an appendix or the abstract.

    Each ancestor is visited once however many sections share it, so finding
    them is linear in the page.
    """
    found: set[int] = set()
    for unit in doc.css(".ltx_section, .ltx_appendix, .ltx_abstract"):
        node = unit.parent
        while node is not None and node.mem_id not in found and node.mem_id != doc.mem_id:
            found.add(node.mem_id)
            node = node.parent
    return found


def _sections(doc: LexborNode, found: list[TextSection], loose: _Blocks) -> None:
    """Sections in document order; stray paragraphs between them become untitled ones."""
    holders = _holders(doc)
    stack = list(reversed(list(doc.iter(include_text=True))))
    while stack:
        child = stack.pop()
        classes = _classes(child) if child.is_element_node else set()
        if classes & _UNITS or "ltx_abstract" in classes:
            loose.end()
            found.append(TextSection(title="", text="\n\n".join(loose.blocks)))
            loose.blocks = []
            found.append(_section(child, "Abstract" if "ltx_abstract" in classes else None))
        elif child.is_element_node and not classes & _DROP_CLASSES and child.mem_id in holders:
            stack.extend(reversed(list(child.iter(include_text=True))))
        else:
            _emit(child, loose)


_TAG = re.compile(r"<(/?)([a-z][a-z0-9:-]*)[^<>]*?(/?)>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr"})


def nesting_depth(page: str, limit: int = MAX_HTML_DEPTH) -> int:
    """How deep the page's elements nest, counted from its tags, up to `limit + 1`.

    One linear pass, run before the HTML parser: lexbor's tree building costs
    the nesting depth for every block tag, so 20,000 nested `<div>`s would take
    it seconds and a few MB of them hours. Script and style bodies are skipped.
    """
    text, depth, deepest, pos = page.lower(), 0, 0, 0
    while deepest <= limit and (tag := _TAG.search(text, pos)):
        pos = tag.end()
        closing, name, selfclosing = tag.groups()
        if closing:
            depth = max(0, depth - 1)
        elif name in ("script", "style"):
            end = text.find(f"</{name}", pos)
            pos = len(text) if end < 0 else end
        elif name not in _VOID and not selfclosing:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def parse_html(html: bytes, paper_id: str, version: str | None) -> PaperText:
    """The text of an arXiv HTML (LaTeXML) page, section by section, abstract first.

    Raises `MalformedResponse` for a page that is not LaTeXML full text (an
    abstract page, an error page), that nests deeper than `MAX_HTML_DEPTH`, or
    that has no body text.
    """
    name = f"{paper_id}{version or ''}"
    page = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    if not page.strip():
        raise MalformedResponse(f"{WHAT}: empty HTML page for {name}")
    if nesting_depth(page) > MAX_HTML_DEPTH:
        raise MalformedResponse(f"{WHAT}: the HTML page for {name} nests elements deeper "
                                f"than {MAX_HTML_DEPTH} levels; use the PDF instead")
    doc = LexborHTMLParser(page).css_first(".ltx_document")
    if doc is None:
        raise MalformedResponse(f"{WHAT}: the HTML page for {name} is not a LaTeXML full text "
                                "(no ltx_document); use the PDF or the abstract instead")
    found: list[TextSection] = []
    loose = _Blocks()
    _sections(doc, found, loose)
    loose.end()
    found = [s for s in found + [TextSection(title="", text="\n\n".join(loose.blocks))]
             if s.text]
    abstract = [s for s in found if s.title == "Abstract"][:1]
    sections = tuple(abstract + [s for s in found if s not in abstract])
    if len(sections) == len(abstract):
        raise MalformedResponse(f"{WHAT}: the HTML page for {name} has no body text "
                                "(LaTeXML could not convert it); use the PDF instead")
    return PaperText(paper_id=paper_id, version=version, origin="html", sections=sections)


# --- PDF ------------------------------------------------------------------------------

def abstract_text(paper: Paper) -> PaperText | None:
    """The abstract as a one-section text, or None when the paper has no abstract."""
    text = paper.abstract.strip()
    if not text:
        return None
    return PaperText(paper_id=paper.id, version=paper.version, origin="abstract",
                     sections=(TextSection(title="Abstract", text=text),))


def _save(path: Path, data: bytes, notes: list[str], stamp: float | None = None) -> None:
    """Write `data` to `path` atomically: a unique temporary file, then `os.replace`;
    dated `stamp` (seconds since the epoch) if given, so ages follow the injected clock."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if stamp is not None:
            os.utime(tmp, (stamp, stamp))
        os.replace(tmp, path)
    except OSError as exc:
        notes.append(f"cache: cannot write {path} ({exc.strerror or exc})")
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _parsed(parse: Callable[[bytes, str, str | None], PaperText], data: bytes,
            paper: Paper, version: str | None) -> PaperText:
    """`parse(data)`, any failure of it a `MalformedResponse`.

    A page is untrusted input: whatever it makes the parser raise (a
    RecursionError, a library's own error) must cost this paper only its
    better text, never the run.
    """
    try:
        return parse(data, paper.id, version)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 (reported in the notes, see above)
        raise MalformedResponse(f"{WHAT}: cannot read {paper.id}{paper.version or ''} "
                                f"({type(exc).__name__}: {str(exc)[:200]})") from exc


PDF_WORKERS = max(1, min(4, os.cpu_count() or 1))  # pdfium is CPU-bound: one per core
_PDF_WORKERS: list[ProcessPoolExecutor] = []


def _quiet_worker() -> None:
    """A PDF worker leaves Ctrl-C to its parent, which cancels what it waits for."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pdf_workers() -> ProcessPoolExecutor:
    """Processes for PDF text: pdfium serves one call at a time per process, and its
    Python side holds the GIL, so a day of PDFs parsed in threads slows everything
    else down (made on first use, kept for the process)."""
    if not _PDF_WORKERS:
        _PDF_WORKERS.append(ProcessPoolExecutor(
            PDF_WORKERS, mp_context=multiprocessing.get_context("spawn"),
            initializer=_quiet_worker))
    return _PDF_WORKERS[0]


def warm_pdf_workers() -> None:
    """Start the PDF workers now, so their start-up overlaps the PDF downloads."""
    if not _PDF_WORKERS:
        pool = _pdf_workers()
        for _ in range(PDF_WORKERS):
            pool.submit(os.getpid)


async def _parse_off_loop(parse: Callable[[bytes, str, str | None], PaperText], data: bytes,
                          paper: Paper, version: str | None) -> PaperText:
    """Parsing is CPU work, kept off the event loop: PDFs in worker processes, HTML in a
    thread. A worker that died costs its paper the PDF only, never the run."""
    if parse is not parse_pdf:
        return await asyncio.to_thread(_parsed, parse, data, paper, version)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pdf_workers(), _parsed, parse, data, paper, version)
    except BrokenProcessPool:
        _PDF_WORKERS.clear()
        raise MalformedResponse(f"{WHAT}: the PDF reader stopped on {paper.id}") from None


class FullTextSource:
    """The best text of a paper, downloaded once per version (one download per paper at
    a time); cancelling `fetch` (a paper's timeout, Ctrl-C) stops its download at once.

    The cache is keyed by the version arXiv served (see `papergist.sources.cache`): a
    paper asked without a version reuses what it got within `LATEST_TTL`, then asks
    arXiv again, so a new version is fetched. `clock` (seconds since the epoch) ages
    the 404 markers and those aliases.
    """

    def __init__(self, http: AsyncHttpClient, settings: Settings, pacer: Pacer | None = None,
                 clock: Callable[[], float] = time.time):
        self.http = http
        self.url = settings.arxiv_url
        self.cache = settings.cache_dir / "fulltext"
        self.pacer = pacer if pacer is not None else Pacer(settings.fulltext_delay)
        self.clock = clock
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._unreachable = 0  # downloads in a row that found arXiv unavailable

    async def fetch(self, paper: Paper, stopwatch: Stopwatch = NoStopwatch()
                    ) -> tuple[PaperText | None, list[str]]:
        """The HTML text, else the PDF text, else the abstract; None if there is nothing.

        The notes say why each better option was not used, e.g. "html: HTTP 404".
        `stopwatch` (the paper's time budget) is paused while a download waits its turn.
        """
        notes: list[str] = []
        async with self._locks[f"{paper.id}{paper.version or ''}"]:
            for kind, parse in (("html", parse_html), ("pdf", parse_pdf)):
                if self._unreachable >= UNREACHABLE_LIMIT:
                    notes.append(f"{kind}: skipped, {self.url} kept failing in this run")
                else:
                    text = await self._try(kind, parse, paper, notes, stopwatch)
                    if text is not None:
                        return text, notes
                _note_fallback(paper, kind, notes[-1])
        text = abstract_text(paper)
        if text is None:
            notes.append("abstract: empty")
        return text, notes

    async def _try(self, kind: str, parse: Callable[[bytes, str, str | None], PaperText],
                   paper: Paper, notes: list[str], stopwatch: Stopwatch) -> PaperText | None:
        """One option: the cached copy of this version, else a download (cached under the
        version served once it parses)."""
        path = self.cache / cache_name(paper.id, paper.version, kind)
        missing = path.with_name(f"{path.name}{MARKER}")
        if marker_fresh(missing, self.clock()):
            notes.append(f"{kind}: HTTP 404 (remembered from an earlier run)")
            return None
        found = self._cached(kind, paper, path)
        cached = found is not None
        if kind == "pdf":
            warm_pdf_workers()
        try:
            data, version = await self._body(kind, paper, found, stopwatch)
            text = await _parse_off_loop(parse, data, paper, version)
        except ResponseTooLarge as exc:
            self._unreachable = 0
            notes.append(f"{kind}: larger than {megabytes(exc.limit)}")
            return None
        except SourceRejected as exc:
            self._unreachable = 0
            notes.append(f"{kind}: HTTP {exc.status}")
            if exc.status == 404:
                _save(missing, b"", notes, self.clock())
            return None
        except SourceError as exc:
            if isinstance(exc, SourceUnavailable):
                self._unreachable += 1
            notes.append(f"{kind}: {exc}{' (cached copy removed)' if cached else ''}")
            if found is not None:
                found[0].unlink(missing_ok=True)
            return None
        self._unreachable = 0
        if not cached:
            self._keep(kind, paper, version, data, notes)
        return text

    def _cached(self, kind: str, paper: Paper, path: Path) -> tuple[Path, str | None] | None:
        """The cached copy to use: this version's, or what an unversioned request got lately."""
        if paper.version is None:
            return latest(self.cache, paper.id, kind, self.clock())
        return (path, paper.version) if path.exists() else None

    def _keep(self, kind: str, paper: Paper, version: str | None, data: bytes,
              notes: list[str]) -> None:
        """Cache a download under the version served (and, if none was asked, the alias)."""
        now = self.clock()
        _save(self.cache / cache_name(paper.id, version, kind), data, notes, now)
        if paper.version is None:
            _save(self.cache / alias_name(paper.id, kind), (version or "").encode(), notes, now)

    async def _body(self, kind: str, paper: Paper, cached: tuple[Path, str | None] | None,
                    stopwatch: Stopwatch) -> tuple[bytes, str | None]:
        """The cached bytes, else a download; with the version they are of."""
        if cached is not None:
            return cached[0].read_bytes(), cached[1]
        data, url = await self.http.get_body(
            f"{self.url}/{kind}/{paper.id}{paper.version or ''}", what=WHAT,
            max_bytes=MAX_BYTES[kind], pacer=self.pacer, stopwatch=stopwatch)
        return data, paper.version or served_version(paper.id, url, data, kind)


def _note_fallback(paper: Paper, kind: str, reason: str) -> None:
    """Log that a paper falls back from `kind` to the next option, and why."""
    to = "pdf" if kind == "html" else "abstract"
    emit(log, logging.INFO, f"{paper.id}: falling back from {kind} to {to} ({reason})",
         "fallback", paper=paper.id, source=kind, to=to, reason=reason)
