"""The arXiv source: parsing real Atom answers, and fetching against a local server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fakes import (API, LEGACY, NEWAPI, NS, XIV, ZOIA, FakeArxiv, FakeServer, Reply,
                   empty_entry, entry_as, error_entry, feed, real_entries)
from papergist.errors import MalformedResponse, SourceUnavailable, UsageError
from papergist.http import HttpClient
from papergist.settings import load_settings
from papergist.sources.arxiv import ARXIV_BATCH, ArxivSource, parse_atom, read_feed

DELAY = 0.2

@pytest.fixture(scope="module")
def shared_arxiv():
    with FakeArxiv() as server:  # one server: shutting one down takes ~0.5 s
        yield server


@pytest.fixture
def arxiv(shared_arxiv):
    """The shared fake arXiv, reset: no requests recorded, every id known."""
    shared_arxiv.requests.clear()
    shared_arxiv.unknown, shared_arxiv.missing = frozenset(), frozenset()
    shared_arxiv.routes[API] = shared_arxiv.answer
    return shared_arxiv


@pytest.fixture
def settings(tmp_path):
    return lambda url, delay=DELAY: load_settings(env={
        "PAPERGIST_HOME": str(tmp_path), "PAPERGIST_ARXIV_API_URL": url + API,
        "PAPERGIST_ARXIV_DELAY": str(delay), "PAPERGIST_HTTP_ATTEMPTS": "2",
        "PAPERGIST_HTTP_BACKOFF": "0.01", "PAPERGIST_HTTP_TIMEOUT": "5",
    })


def fetch(settings, server: FakeServer, ids: list[str], delay: float = DELAY):
    s = settings(server.url, delay)
    with HttpClient(s) as http:
        return ArxivSource(http, s).fetch(ids)


# --- parsing the recorded answers --------------------------------------------------


def test_legacy_search_answer():
    papers = parse_atom(LEGACY.read_bytes())
    assert len(papers) == 10 and all(p.source == "arxiv" and p.comments is None for p in papers)
    got = {p.id: p for p in papers}
    quasi = got["1505.03319"]
    assert quasi.title == "Quasi-Einstein and Generalized Quasi-Einstein Warped Products with an Affine Connection"
    assert quasi.abstract.startswith("In this paper, we study the quasi-Einstein and generalized "
                                     "quasi-Einstein warped products with a semi-symmetric")
    assert quasi.abstract.endswith("warped products with a semi-symmetric non-metric connection.")
    assert "\n" not in quasi.abstract and "  " not in quasi.abstract
    assert got["0802.2137"].version == "v3"
    assert got["0802.2137"].published_at == datetime(2008, 2, 15, 4, 40, 56, tzinfo=timezone.utc)
    assert got["0808.2097"].authors == ("A. Rod Gover", "Felipe Leitner")
    old = got["math/0507289"]
    assert old.version == "v1" and old.authors == ("Alessandro Ghigi", "János Kollár")
    assert old.url == "https://arxiv.org/abs/math/0507289"
    assert "K{\\\"a}hler-Einstein metrics" in got["math/0502287"].abstract  # TeX kept as is


def test_id_list_answer():
    [paper] = parse_atom(ZOIA.read_bytes())
    assert (paper.id, paper.version) == ("1601.00001", "v1")
    assert paper.title == ("Inelastic effects in molecular transport junctions: "
                           "The probe technique at high bias")
    assert paper.authors == ("Michael Kilgour", "Dvira Segal")
    assert paper.published_at == datetime(2015, 12, 26, 21, 19, 45, tzinfo=timezone.utc)
    assert paper.abstract.startswith('We extend the Landauer-B\\"uttiker probe formalism for '
                                     "conductances to the high bias regime, and study")
    assert 'commonly used "dephasing probe" (mimicking only elastic decoherence effects)' in paper.abstract


def test_answer_with_comments():
    papers = parse_atom(XIV.read_bytes())
    assert [p.id for p in papers] == ["2510.14968", "2510.14827"]
    rdd, flow = papers
    assert rdd.title == ("RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment "
                         "in Long-Horizon Tasks")
    assert rdd.authors == ("Mingxuan Yan", "Yuping Wang", "Zechun Liu", "Jiachen Li")
    assert rdd.abstract.endswith("Code and more results are available at rdd-neurips.github.io.")
    assert flow.authors[0] == "Yufei Zhu" and flow.authors[-1] == "Martin Magnusson"
    assert len(flow.authors) == 6 and flow.comments is None


def test_new_format_answer():
    papers = parse_atom(NEWAPI.read_bytes())
    assert [p.id for p in papers] == ["2511.18882", "2510.00797", "2509.26396"]
    facade, solar, bifacial = papers
    assert facade.title == "Facade Segmentation for Solar Photovoltaic Suitability"
    assert facade.authors == ("Ayca Duran", "Christoph Waibel", "Bernd Bickel",
                              "Iro Armeni", "Arno Schlueter")
    assert facade.published_at == datetime(2025, 11, 24, 8, 37, 35, tzinfo=timezone.utc)
    assert all(p.version == "v1" for p in papers)
    # `&amp;#177;` in the file: escaped twice, unescaped once more here.
    assert "mean area estimation errors of 6.2% ± 2.8% compared to" in solar.abstract
    assert "&" not in solar.abstract
    assert "(21.16° N, 81.65° E)" in bifacial.abstract
    assert solar.authors[3] == "Arega Getaneh Abate" and len(solar.authors) == 7


def test_legacy_format_is_not_unescaped_twice():
    entry = entry_as(real_entries()[0], "1801.05533v1")
    entry.find("a:title", NS).text = "R&amp;D and &#177;"  # literal text in a legacy feed
    [paper] = parse_atom(feed([entry]))
    assert paper.title == "R&amp;D and &#177;"


def test_paragraph_breaks_are_kept():
    entry = entry_as(real_entries()[0], "1801.05533v1")
    entry.find("a:summary", NS).text = "  One line\nwrapped here.\n  Second paragraph\nalso wrapped.\n"
    [paper] = parse_atom(feed([entry]))
    assert paper.abstract == "One line wrapped here.\n\nSecond paragraph also wrapped."


# --- malformed answers and unknown ids -------------------------------------------------


@pytest.mark.parametrize("body", [
    LEGACY.read_bytes()[:4000],                       # truncated
    b"",                                              # empty
    b"Rate exceeded.",                                # not XML
    b"<html><body><h1>Service Unavailable</h1></body></html>",  # XML, not Atom
    b'<feed xmlns="http://example.org/not-atom"/>',
])
def test_unreadable_answers(body):
    with pytest.raises(MalformedResponse) as err:
        parse_atom(body)
    assert "arXiv API" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("child", ["id", "title"])
def test_entry_without_id_or_title(child):
    entry = entry_as(real_entries()[0], "1801.05533v1")
    entry.remove(entry.find(f"a:{child}", NS))
    with pytest.raises(MalformedResponse, match=f"no <{child}>"):
        parse_atom(feed([entry]))


def test_error_entry_is_an_unknown_id():
    good = entry_as(real_entries()[0], "1801.05533v1")
    result = read_feed(feed([error_entry("2401.1"), good]))
    assert [p.id for p in result.papers] == ["1801.05533"]
    assert result.unknown == ["2401.1"]
    assert [p.id for p in parse_atom(feed([error_entry("x")]))] == []


def test_empty_entry_is_an_unknown_id():
    result = read_feed(feed([empty_entry("2401.99999"), entry_as(real_entries()[1], "0802.2137v3")]))
    assert [p.id for p in result.papers] == ["0802.2137"]
    assert result.unknown == ["2401.99999"]


def test_empty_feed():
    assert read_feed(feed([]))[:2] == ([], [])


# --- fetching ----------------------------------------------------------------------------


def test_one_request_for_up_to_a_batch(settings, arxiv):
    ids = [f"2401.{n:05d}" for n in range(1, ARXIV_BATCH + 1)]
    papers, unknown = fetch(settings, arxiv, ids)
    [req] = arxiv.hits(API)
    assert req.query["id_list"].split(",") == ids
    assert req.query["max_results"] == "100" and req.query["start"] == "0"
    assert [p.id for p in papers] == ids and unknown == []
    assert req.headers["User-Agent"].startswith("papergist/")


def test_batches_and_spacing(settings, arxiv):
    ids = [f"2402.{n:05d}" for n in range(250)]
    papers, unknown = fetch(settings, arxiv, ids)
    hits = arxiv.hits(API)
    sizes = [len(r.query["id_list"].split(",")) for r in hits]
    assert sizes == [100, 100, 50]
    assert [r.query["max_results"] for r in hits] == ["100", "100", "50"]
    assert [p.id for p in papers] == ids and unknown == []
    gaps = [b.time - a.time for a, b in zip(hits, hits[1:])]
    # The pacer spaces the requests as the client sends them; at the server each
    # arrives after a new connection and a new handler thread, whose latency
    # varies by a few milliseconds on a loaded machine.
    assert all(g >= DELAY - 0.02 for g in gaps), gaps
    assert hits[-1].time - hits[0].time >= 2 * DELAY - 0.02


def test_order_versions_duplicates_and_unknown_ids(settings, arxiv):
    ids = ["1706.03762v5", "hep-th/9901001", "2401.00001", "1706.03762", "2401.1234",
           "2401.77777"]
    arxiv.unknown, arxiv.missing = {"2401.1234"}, {"2401.77777"}
    papers, unknown = fetch(settings, arxiv, ids)
    [req] = arxiv.hits(API)
    assert req.query["id_list"] == "1706.03762v5,hep-th/9901001,2401.00001,2401.1234,2401.77777"
    assert [(p.id, p.version) for p in papers] == [
        ("1706.03762", "v5"), ("hep-th/9901001", "v1"), ("2401.00001", "v1")]
    assert unknown == ["2401.1234", "2401.77777"]


def test_malformed_id_is_refused_before_any_request(settings, arxiv):
    with pytest.raises(UsageError, match="2401.123x") as err:
        fetch(settings, arxiv, ["2401.00001", "2401.123x", "https://arxiv.org/abs/1"])
    assert "https://arxiv.org/abs/1" in str(err.value)
    assert arxiv.requests == []


def test_no_ids_no_request(settings, arxiv):
    assert fetch(settings, arxiv, []) == ([], [])
    assert arxiv.requests == []


def test_retried_after_503(settings, arxiv):
    answers = [Reply(503, "busy")]
    arxiv.routes[API] = lambda req: answers.pop() if answers else arxiv.answer(req)
    papers, unknown = fetch(settings, arxiv, ["1601.00001"])
    assert [r.query["id_list"] for r in arxiv.hits(API)] == ["1601.00001", "1601.00001"]
    assert [p.id for p in papers] == ["1601.00001"] and unknown == []


def test_unavailable_after_retries(settings, arxiv):
    arxiv.routes[API] = lambda req: Reply(500, "down")
    with pytest.raises(SourceUnavailable, match="arXiv API"):
        fetch(settings, arxiv, ["1601.00001"])
    assert len(arxiv.hits(API)) == 2


def test_unreadable_answer_is_malformed(settings, arxiv):
    arxiv.routes[API] = lambda req: Reply(200, ZOIA.read_bytes()[:1500])
    with pytest.raises(MalformedResponse):
        fetch(settings, arxiv, ["1601.00001"])
