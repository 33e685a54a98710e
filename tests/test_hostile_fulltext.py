"""Hostile full texts: pages nested 20,000 deep, pages and PDFs too big, parser crashes.

Each costs the paper its better text only: the next option (PDF, then abstract) is
used and the notes say why.
"""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from conftest import local_env
from fakes import HTML_2508, PDF_RESNET, Blocking, FakeServer, Reply, shared_bytes
from papergist.errors import MalformedResponse, SourceUnavailable
from papergist.http import AsyncHttpClient, ResponseTooLarge
from papergist.models import Paper
from papergist.settings import load_settings
from papergist.sources import fulltext
from papergist.sources.fulltext import (MAX_HTML_BYTES, MAX_HTML_DEPTH, MAX_PDF_BYTES,
                                        FullTextSource, abstract_text, nesting_depth, parse_html,
                                        parse_pdf)



def html() -> bytes:
    """The real LaTeXML page (shared: the test is skipped without ../shared/fixtures)."""
    return shared_bytes(HTML_2508)


def resnet() -> bytes:
    return shared_bytes(PDF_RESNET)


ID, VERSION = "2401.00001", "v1"
HTML_PATH, PDF_PATH = f"/html/{ID}{VERSION}", f"/pdf/{ID}{VERSION}"
DEEP_NOTE = (f"html: arXiv full text: the HTML page for {ID}{VERSION} nests elements deeper "
             f"than {MAX_HTML_DEPTH} levels; use the PDF instead")


def deep_page(levels: int = 20_000) -> bytes:
    """A LaTeXML page whose one paragraph holds `levels` nested spans (~2 MB at 20,000)."""
    span = '<span class="ltx_text ltx_font_italic" id="S1.p1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1" lang="en-GB">x '
    return (b'<article class="ltx_document"><div class="ltx_abstract"><p>We study x.</p></div>'
            b'<section class="ltx_section"><h2 class="ltx_title">1 Introduction</h2>'
            b'<div class="ltx_para"><p class="ltx_p">' + span.encode() * levels + b"deep"
            + b"</span>" * levels + b"</p></div></section></article>")


def paper(abstract: str = "We study hostile pages.") -> Paper:
    return Paper(id=ID, version=VERSION, title="A paper", abstract=abstract, authors=("A",))


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


@pytest.fixture
def settings(tmp_path, server):
    return load_settings(env=local_env(tmp_path, arxiv_url=server.url))


@pytest.fixture
def source(settings):
    return Blocking(FullTextSource(AsyncHttpClient(settings), settings))


def get_bytes(settings, url: str, **kw) -> bytes:
    """One download with the async client, from synchronous test code."""
    async def go() -> bytes:
        http = AsyncHttpClient(settings)
        try:
            return await http.get_bytes(url, **kw)
        finally:
            await http.aclose()
    return asyncio.run(go())


def serve(server: FakeServer, path: str, body: bytes, **kw) -> None:
    server.routes[path] = lambda req: Reply(200, body, **kw)


# --- nesting --------------------------------------------------------------------------


def test_a_page_nested_20000_deep_falls_back_to_the_pdf(server, source):
    page = deep_page()
    assert len(page) > 2_000_000
    serve(server, HTML_PATH, page)
    serve(server, PDF_PATH, resnet())
    text, notes = source.fetch(paper())
    assert text == parse_pdf(resnet(), ID, VERSION)
    assert notes == [DEEP_NOTE]


def test_a_deep_page_and_no_pdf_gives_the_abstract(server, source):
    serve(server, HTML_PATH, deep_page())
    text, notes = source.fetch(paper())
    assert text == abstract_text(paper())
    assert notes == [DEEP_NOTE, "pdf: HTTP 404"]


def test_the_walk_does_not_recurse_per_level(monkeypatch):
    """With the depth guard lifted, 20,000 levels are read (the walk keeps its own stack)."""
    monkeypatch.setattr(fulltext, "MAX_HTML_DEPTH", 10**6)
    text = parse_html(deep_page(), ID, VERSION)
    assert [s.title for s in text.sections] == ["Abstract", "1 Introduction"]
    assert text.sections[1].text == "x " * 20_000 + "deep"


def test_nested_tables_and_sections_are_read_without_recursion(monkeypatch):
    monkeypatch.setattr(fulltext, "MAX_HTML_DEPTH", 10**6)
    tables = ('<table class="ltx_tabular"><tr><td class="ltx_td">a ' * 3000 + "z"
              + "</td></tr></table>" * 3000)
    holders = "<div>" * 3000 + '<section class="ltx_section"><h2 class="ltx_title">2 Deep</h2>' \
        '<p>In a deep div.</p></section>' + "</div>" * 3000
    page = (f'<article class="ltx_document"><div class="ltx_abstract"><p>We study x.</p></div>'
            f'<section class="ltx_section"><h2 class="ltx_title">1 T</h2>{tables}</section>'
            f'{holders}</article>').encode()
    text = parse_html(page, ID, VERSION)
    assert [s.title for s in text.sections] == ["Abstract", "1 T", "2 Deep"]
    assert text.sections[1].text.count("a") == 3000 and text.sections[1].text.endswith("z")
    assert text.sections[2].text == "In a deep div."


def test_a_parser_crash_costs_the_paper_its_html_only(server, source, monkeypatch):
    def crash(*args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(fulltext, "_sections", crash)
    serve(server, HTML_PATH, html())
    serve(server, PDF_PATH, resnet())
    text, notes = source.fetch(paper())
    assert text.origin == "pdf"
    assert notes == [f"html: arXiv full text: cannot read {ID}{VERSION} "
                     "(RecursionError: maximum recursion depth exceeded)"]
    assert not (source.cache / f"{ID}{VERSION}.html").exists()


@pytest.mark.parametrize("page, depth", [
    (lambda: html().decode(), 21),  # the real LaTeXML page
    ("<div><br><img src=x><p>a<mspace/></p></div>", 2),
    ("<div><script>if (a<b && c<div) {}</script><style>p<q{}</style></div>", 1),
    ("<DIV><Div>x</dIV></div>", 2),
    ("</div></div><div>", 1),  # stray closings never go below zero
    ("<a" * 100_000, 0),  # never closed: no tag at all
    ("<div>" * 600, MAX_HTML_DEPTH + 1),  # counting stops past the limit
])
def test_nesting_depth(page, depth):
    page = page() if callable(page) else page
    assert nesting_depth(page) == depth


def test_the_depth_guard_rejects_before_parsing():
    with pytest.raises(MalformedResponse, match=f"deeper than {MAX_HTML_DEPTH} levels"):
        parse_html(b"<div>" * (MAX_HTML_DEPTH + 1), ID, VERSION)
    assert nesting_depth("<div>" * MAX_HTML_DEPTH) == MAX_HTML_DEPTH  # the limit itself is fine


# --- size -----------------------------------------------------------------------------


def test_an_html_page_over_8_mb_falls_back_to_the_pdf(server, source):
    assert MAX_HTML_BYTES == 8 * 2**20
    serve(server, HTML_PATH, html() + b" " * MAX_HTML_BYTES)
    serve(server, PDF_PATH, resnet())
    text, notes = source.fetch(paper())
    assert text == parse_pdf(resnet(), ID, VERSION)
    assert notes == ["html: larger than 8 MB"]
    assert len(server.hits(HTML_PATH)) == 1  # not retried
    assert not (source.cache / f"{ID}{VERSION}.html").exists()


def test_a_pdf_over_30_mb_gives_the_abstract(server, source):
    assert MAX_PDF_BYTES == 30 * 2**20
    serve(server, PDF_PATH, resnet() + b"\0" * MAX_PDF_BYTES)
    text, notes = source.fetch(paper())
    assert text == abstract_text(paper())
    assert notes == ["html: HTTP 404", "pdf: larger than 30 MB"]


def test_an_unannounced_20_mb_page_is_cut_off_while_streaming(server, source):
    """No Content-Length: the download stops past the cap; memory stays near the cap."""
    body = html() + b" " * (20 * 2**20)
    serve(server, HTML_PATH, body, length=False)
    serve(server, PDF_PATH, resnet())
    tracemalloc.start()
    try:
        text, notes = source.fetch(paper())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text.origin == "pdf" and notes == ["html: larger than 8 MB"]
    assert peak < MAX_HTML_BYTES + 4 * 2**20  # reading the whole 20 MB would pass this


@pytest.mark.parametrize("length", [True, False])
def test_get_bytes_keeps_to_the_byte(server, settings, length):
    serve(server, "/exact", b"x" * 1000, length=length)
    serve(server, "/over", b"x" * 1001, length=length)
    assert get_bytes(settings, f"{server.url}/exact", what="T", max_bytes=1000) == b"x" * 1000
    with pytest.raises(ResponseTooLarge, match="^T: larger than 0.000953674 MB$") as info:
        get_bytes(settings, f"{server.url}/over", what="T", max_bytes=1000)
    assert info.value.limit == 1000
    assert len(server.hits("/over")) == 1


def test_get_bytes_error_bodies_are_read_capped_and_retried(server, settings):
    server.routes["/down"] = lambda req: Reply(503, '{"error": "busy"}' + " " * 10**6)
    with pytest.raises(SourceUnavailable, match=r"after 3 attempts \(HTTP 503: busy\)"):
        get_bytes(settings, f"{server.url}/down", what="T", max_bytes=10)
    assert len(server.hits("/down")) == 3
