"""The Atom feed: valid Atom 1.0 read by feedparser, every required element, stable
unique ids, byte-identical re-renders, and hostile text that stays text."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import feedparser
import pytest
from hypothesis import given, settings, strategies as st
from lxml import etree

from papergist.models import (SECTION_TITLES, Digest, DigestItem, Paper, PaperFailure, Sections,
                              Summary, Verdict)
from papergist.render.atom import entry_id, render_atom
from papergist.render.html import clean
from test_render_html import DAYS, HOSTILE, HOSTILE_URLS, THUMB, assert_inert, real_digest

FEED = "https://papers.example.org/feed.xml"
SITE = "https://papers.example.org"
NS = {"a": "http://www.w3.org/2005/Atom"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# RFC 4151: "tag:" taggingEntity ":" specific; taggingEntity = authorityName "," date;
# authorityName = DNSname / emailAddress; date = year ["-" month ["-" day]];
# specific = *( pchar / "/" / "?" ) (RFC 3986 pchar).
_DNS_COMP = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DNS = rf"{_DNS_COMP}(?:\.{_DNS_COMP})*"
_EMAIL = rf"[A-Za-z0-9\-._]+@{_DNS}"
_DATE = r"\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?"
_SPECIFIC = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*"
TAG_RE = re.compile(rf"tag:(?:{_DNS}|{_EMAIL}),{_DATE}:{_SPECIFIC}")
CONTENT_TAGS = {"p", "img", "a", "strong", "blockquote"}


def _paper(**kw) -> Paper:
    base = dict(id="2408.12637", title="A title", abstract="An abstract.", authors=("A", "B"),
                thumbnail=THUMB)
    return Paper(**{**base, **kw})


def _summary(paper_id="2408.12637", verification=None, **sections) -> Summary:
    text = {"whats_new": "New.", "technical_details": "Tech.", "performance_highlights": "Perf."}
    return Summary(paper_id=paper_id, sections=Sections(**{**text, **sections}),
                   summarizer="llm", model="gpt-4o-mini", language="ko", prompt_version="v1",
                   source="fulltext", source_hash="h", verification=verification)


def _item(paper: Paper | None = None, **kw) -> DigestItem:
    paper = paper or _paper()
    if "failure" not in kw and "summary" not in kw:
        kw["summary"] = _summary(paper.id)
    return DigestItem(paper=paper, rank=kw.pop("rank", 1), upvotes=kw.pop("upvotes", 3), **kw)


def _digest(day: str, *items: DigestItem) -> Digest:
    return Digest(date=date.fromisoformat(day), items=items)


def xml_tree(xml: str):
    return etree.fromstring(xml.encode("utf-8"))  # raises when not well-formed


def parsed(xml: str):
    feed = feedparser.parse(xml)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def content_html(entry) -> str:
    """The entry's content as the HTML a feed reader gets (the XML parser unescaped it)."""
    return entry.findtext("a:content", namespaces=NS)


# --- real days -------------------------------------------------------------------------


def test_real_days_feed():
    digests = [real_digest(day) for day in DAYS]
    xml = render_atom(digests, feed_url=FEED, site_url=SITE)
    assert xml.startswith("<?xml version='1.0' encoding='utf-8'?>\n"
                          '<feed xmlns="http://www.w3.org/2005/Atom"')
    feed = parsed(xml)
    # the feed's required elements
    assert feed.feed.id == FEED and feed.feed.title == "papergist: Daily Papers"
    assert feed.feed.updated == max(e.updated for e in feed.entries)
    assert feed.feed.updated.startswith(DAYS[-1])
    links = {(link.rel, link.href) for link in feed.feed.links}
    assert ("self", FEED) in links and ("alternate", SITE + "/") in links
    assert feed.feed.author_detail.name == "papergist"
    # one entry per paper, newest day first, then the digest's order
    expected = [(d.date.isoformat(), i) for d in sorted(digests, key=lambda d: d.date, reverse=True)
                for i in d.items]
    assert len(feed.entries) == len(expected)
    ids = [e.id for e in feed.entries]
    assert len(set(ids)) == len(ids)
    for entry, (day, item) in zip(feed.entries, expected):
        paper = item.paper
        lang = item.summary.language if item.summary else "en"
        assert TAG_RE.fullmatch(entry.id)
        assert entry.id == f"tag:papers.example.org,{day}:{lang}/arxiv/{paper.id}"
        assert entry.title == clean(paper.title)
        assert entry.published == f"{day}T00:00:00Z" and entry.updated[:10] == day
        assert [t.term for t in entry.tags] == [day]
        assert [a.name for a in entry.authors] == [clean(a) for a in paper.authors]
        links = {(link.rel, link.href) for link in entry.links}
        year, month, dd = day.split("-")
        assert ("alternate", f"{SITE}/{year}/{month}/{dd}/{paper.id}.html") in links
        assert ("related", f"https://arxiv.org/abs/{paper.id}") in links
        assert entry.link == f"{SITE}/{year}/{month}/{dd}/{paper.id}.html"
        content = entry.content[0]
        assert content.type == "text/html"
        if item.summary:
            for title in SECTION_TITLES.values():
                assert title in content.value
            assert clean(item.summary.sections.whats_new) in entry.summary
    # raw XML: every entry has its required children exactly once (RFC 4287 4.1.2)
    root = xml_tree(xml)
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"a:{name}", NS)) == 1
    for entry in root.findall("a:entry", NS):
        for name in ("id", "title", "updated", "published", "content", "summary"):
            assert len(entry.findall(f"a:{name}", NS)) == 1, name
        assert entry.findall("a:author", NS) or root.findall("a:author", NS)
        alternates = [(lk.get("type"), lk.get("hreflang")) for lk in entry.findall("a:link", NS)
                      if lk.get("rel", "alternate") == "alternate"]
        assert len(alternates) == len(set(alternates)) == 1
        assert entry.find("a:content", NS).get("type") == "html"
        assert_content_inert(content_html(entry))


def assert_content_inert(fragment: str) -> None:
    assert_inert(fragment, allowed=CONTENT_TAGS)


def test_rerender_is_byte_identical_and_ids_are_stable():
    digests = [real_digest(day) for day in ("2024-08-26", "2025-10-15", "2026-08-20")]
    first = render_atom(digests, feed_url=FEED, site_url=SITE)
    assert first == render_atom(list(reversed(digests)), feed_url=FEED, site_url=SITE)
    ids = [e.id for e in parsed(first).entries]
    # another title or feed URL on the same site: the same ids
    moved = render_atom(digests, feed_url="https://cdn.example/atom.xml", site_url=SITE,
                        title="Other")
    assert [e.id for e in parsed(moved).entries] == ids
    # a new day on top: the old entries keep their ids, and none is repeated
    more = render_atom(digests + [real_digest("2024-08-28")], feed_url=FEED, site_url=SITE)
    more_ids = [e.id for e in parsed(more).entries]
    assert set(ids) < set(more_ids) and len(set(more_ids)) == len(more_ids)


def test_entry_id_depends_only_on_day_and_paper():
    day = "2024-08-26"
    a = render_atom([_digest(day, _item())], feed_url=FEED, site_url=SITE, language="ko")
    b = render_atom([_digest(day, _item(_paper(title="Retitled", authors=("C",)), upvotes=99,
                                        failure=PaperFailure(paper_id="2408.12637", stage="x",
                                                             reason="y")))],
                    feed_url=FEED, site_url=SITE, language="ko")
    assert parsed(a).entries[0].id == parsed(b).entries[0].id == (
        "tag:papers.example.org,2024-08-26:ko/arxiv/2408.12637")
    other_day = render_atom([_digest("2024-08-27", _item())], feed_url=FEED, site_url=SITE)
    assert parsed(other_day).entries[0].id == (
        "tag:papers.example.org,2024-08-27:ko/arxiv/2408.12637")
    at = dict(authority="papers.example.org", language="en")
    assert entry_id(date(2024, 8, 26), "hep-th/9901001", **at) == (
        "tag:papers.example.org,2024-08-26:en/arxiv/hep-th/9901001")
    assert TAG_RE.fullmatch(entry_id(date(2024, 8, 26), '"><script> x#y?', **at))
    assert TAG_RE.fullmatch(entry_id(date(2024, 8, 26), "1", authority="a.b", language="x\n"))


def test_same_paper_twice_in_a_day_is_one_entry_and_max_entries_keeps_newest():
    dup = [_digest("2024-08-26", _item(), _item(rank=2)), _digest("2024-08-26", _item())]
    assert len(parsed(render_atom(dup, feed_url=FEED, site_url=SITE)).entries) == 1
    digests = [_digest(f"2024-08-{d:02d}", *[_item(_paper(id=f"2408.0{d:02d}{n:02d}"), rank=n + 1)
                                             for n in range(5)]) for d in range(1, 11)]
    feed = parsed(render_atom(digests, feed_url=FEED, site_url=SITE, max_entries=12))
    assert len(feed.entries) == 12
    assert [e.tags[0].term for e in feed.entries] == ["2024-08-10"] * 5 + ["2024-08-09"] * 5 + [
        "2024-08-08"] * 2
    assert feed.entries[0].id.endswith("/2408.01000")


def test_empty_feed_is_valid_and_deterministic():
    xml = render_atom([], feed_url=FEED, site_url=SITE)
    feed = parsed(xml)
    assert feed.entries == [] and feed.feed.updated == "1970-01-01T00:00:00Z"
    assert xml == render_atom([], feed_url=FEED, site_url=SITE)


def test_feed_url_must_be_http():
    with pytest.raises(ValueError):
        render_atom([], feed_url="javascript:alert(1)", site_url=SITE)
    with pytest.raises(ValueError):
        render_atom([], feed_url=FEED, site_url="javascript:alert(1)")


def test_warning_failure_and_language():
    unverified = _item(summary=_summary(verification=Verdict(status="unverified",
                                                             unsupported=("42.7%", "FooNet"))))
    generic = _item(_paper(id="2408.00001"), summary=_summary(
        "2408.00001", verification=Verdict(status="unverified", generic=True)))
    failed = _item(_paper(id="2408.00002", abstract="The abstract itself."), failure=PaperFailure(
        paper_id="2408.00002", stage="summarize", reason="timed out"))
    xml = render_atom([_digest("2024-08-26", unverified, generic, failed)], feed_url=FEED,
                      site_url=SITE)
    feed = parsed(xml)
    a, b, c = (e.content[0].value for e in feed.entries)
    assert "Unverified summary" in a and "“42.7%”, “FooNet”" in a
    assert "names nothing specific" in b
    assert "No summary" in c and "timed out" in c and "The abstract itself." in c
    assert feed.entries[2].summary == "No summary: timed out"
    root = xml_tree(xml)
    assert root.get(XML_LANG) == "ko"
    langs = [e.get(XML_LANG) for e in root.findall("a:entry", NS)]
    assert langs == ["ko", "ko", None]


def test_without_site_url_arxiv_is_the_alternate():
    xml = render_atom([_digest("2024-08-26", _item())], feed_url=FEED, site_url="")
    entry = parsed(xml).entries[0]
    assert entry.link == "https://arxiv.org/abs/2408.12637"
    assert [link.rel for link in entry.links] == ["alternate"]


def test_hostile_text_stays_text():
    for bad in HOSTILE:
        url = HOSTILE_URLS[len(bad) % len(HOSTILE_URLS)]
        paper = _paper(title=bad, abstract=bad, authors=(bad, "B"), thumbnail=url, github_repo=url)
        summary = _summary(whats_new=bad, technical_details=bad, performance_highlights=bad,
                           verification=Verdict(status="unverified", unsupported=(bad,)))
        failed = _item(_paper(id="2408.00009", title=bad, abstract=bad),
                       failure=PaperFailure(paper_id="2408.00009", stage="x", reason=bad))
        xml = render_atom([_digest("2024-08-26", _item(paper, summary=summary), failed)],
                          feed_url=FEED, site_url=SITE, title=bad)
        root = xml_tree(xml)
        assert re.search(r"<\s*script", xml, re.I) is None
        assert "javascript:" not in " ".join(root.xpath("//@href")).lower()
        feed = parsed(xml)
        expected = clean(bad)
        if expected:
            assert feed.entries[0].title == expected
            assert root.findtext("a:entry/a:title", namespaces=NS) == expected
            assert root.findtext("a:title", namespaces=NS) == expected
        for entry in root.findall("a:entry", NS):
            assert_content_inert(content_html(entry))


def test_xml_invalid_characters_do_not_break_the_feed():
    bad = "Title\x00 with\x01\x08\x0b\x0c\x1f\x7f controls \ud800\udfff\ufffe\uffff end"
    paper = _paper(title=bad, authors=(bad,), abstract=bad)
    xml = render_atom([_digest("2024-08-26", _item(paper, summary=_summary(whats_new=bad)))],
                      feed_url=FEED, site_url=SITE)
    xml.encode("utf-8")
    xml_tree(xml)
    assert parsed(xml).entries[0].title == "Title with controls \ufffd\ufffd end"


@settings(max_examples=100, deadline=None)
@given(title=st.text(), author=st.text(), section=st.text(), paper_id=st.text(min_size=1),
       url=st.one_of(st.none(), st.sampled_from(HOSTILE_URLS), st.text()))
def test_property_any_text_makes_a_valid_feed(title, author, section, paper_id, url):
    paper = Paper(id=paper_id, title=title, abstract=section, authors=(author,), thumbnail=url,
                  project_page=url)
    item = DigestItem(paper=paper, rank=1, summary=_summary(paper_id, whats_new=section))
    xml = render_atom([_digest("2024-08-26", item)], feed_url=FEED, site_url=SITE)
    root = xml_tree(xml)
    feed = parsed(xml)
    assert len(feed.entries) == 1 and TAG_RE.fullmatch(feed.entries[0].id)
    assert re.search(r"<\s*script", xml, re.I) is None
    assert_content_inert(content_html(root.find("a:entry", NS)))


# --- issue 16: ids per language, valid tag URIs, updated when re-summarized --------------


def _lang_digest(language: str) -> Digest:
    summary = _summary().model_copy(update={"language": language})
    failed = _item(_paper(id="2408.00002"), failure=PaperFailure(
        paper_id="2408.00002", stage="summarize", reason="x"))
    return _digest("2024-08-26", _item(summary=summary), failed)


def test_en_and_ko_feeds_share_no_entry_id():
    en = parsed(render_atom([_lang_digest("en")], feed_url=FEED, site_url=SITE, language="en"))
    ko = parsed(render_atom([_lang_digest("ko")], feed_url=FEED, site_url=SITE, language="ko"))
    en_ids, ko_ids = {e.id for e in en.entries}, {e.id for e in ko.entries}
    assert len(en_ids) == len(ko_ids) == 2 and not en_ids & ko_ids
    assert all(TAG_RE.fullmatch(i) for i in en_ids | ko_ids)


def test_the_tag_authority_is_the_sites_host():
    xml = render_atom([_lang_digest("en")], feed_url="https://cdn.example.net/feed.xml",
                      site_url="https://Papers.Example.ORG:8443/archive/")
    assert parsed(xml).entries[0].id.startswith("tag:papers.example.org,2024-08-26:en/")
    relative = render_atom([_lang_digest("en")], feed_url=FEED, site_url="")
    assert parsed(relative).entries[0].id.startswith("tag:papers.example.org,")


def test_updated_changes_when_the_paper_is_summarized_again():
    def entry_updated(summary: Summary) -> str:
        xml = render_atom([_digest("2024-08-26", _item(summary=summary))], feed_url=FEED,
                          site_url=SITE)
        entry = parsed(xml).entries[0]
        assert entry.published == "2024-08-26T00:00:00Z" and entry.updated >= entry.published
        return entry.updated

    first = _summary()
    again = _summary(whats_new="New, said differently.")
    assert entry_updated(first) == entry_updated(first)  # deterministic
    assert entry_updated(first) != entry_updated(again)
    stamped = first.model_copy(update={"created_at": datetime(2024, 8, 27, 6, 30, 5,
                                                              tzinfo=timezone.utc)})
    assert entry_updated(stamped) == "2024-08-27T06:30:05Z"
    early = first.model_copy(update={"created_at": datetime(2024, 8, 1)})
    assert entry_updated(early) == "2024-08-26T00:00:00Z"  # never before it was published


def test_a_digest_stored_before_created_at_loads():
    old = _summary().model_dump()
    del old["created_at"]
    assert Summary.model_validate(old).created_at is None
