"""Digests as one Atom 1.0 feed (RFC 4287): one entry per paper per day.

Deterministic: no clock is read. A paper's entry is dated by its digest's day
(`published` = `updated` = the day at 00:00:00Z), the feed's `updated` is the
newest day (1970-01-01T00:00:00Z for an empty feed), so re-rendering the same
digests gives byte-identical XML.

Entry ids are tag URIs (RFC 4151) built only from the day and the arXiv id:

    tag:papergist,2024-08-26:arxiv/2408.12637

(the day is the tag's date; an old-style id keeps its slash, any other character
outside the URI's unreserved set is percent-encoded). The same paper on the same
day always has the same id, whatever the site, feed URL, model, language or
summary; the same paper listed on another day is another entry. When the same
paper appears twice for one day (two digests of one date), the first one wins.

Entries come newest day first, then in each digest's order, at most
`max_entries` of them. Each has the day as its category (`term="2024-08-26"`),
the paper's authors, a link to its arXiv page (`rel="alternate"`, or
`rel="related"` when `site_url` is given and the paper's page on the site is the
alternate), a plain-text `summary` (What's New, or why there is no summary) and
an HTML `content` (type="html", so the HTML is escaped once more in the XML):
links, thumbnail, the three sections and the unverified-summary warning, or the
failure note and abstract. All text goes through `html.clean`, so control
characters that XML cannot hold never reach the serializer.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from urllib.parse import quote

from lxml import etree

from papergist.models import SECTION_TITLES, Digest, DigestItem
from papergist.render.html import (
    arxiv_url,
    clean,
    lang_tag,
    paper_path,
    render_entry_html,
    site_link,
)

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TAG_AUTHORITY = "papergist"
EPOCH = "1970-01-01T00:00:00Z"


def entry_id(day: date, paper_id: str) -> str:
    """The entry's stable id: `tag:papergist,YYYY-MM-DD:arxiv/{id}`."""
    specific = quote(clean(paper_id), safe="/.-_~") or "_"
    return f"tag:{TAG_AUTHORITY},{day.isoformat()}:arxiv/{specific}"


def timestamp(day: date) -> str:
    """The day as an RFC 3339 date-time at midnight UTC."""
    return f"{day.isoformat()}T00:00:00Z"


def _el(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", attrs)
    if text is not None:
        node.text = text
    return node


def _summary_text(item: DigestItem) -> str:
    if item.summary is not None:
        text = clean(item.summary.sections.whats_new)
        return f"{SECTION_TITLES['whats_new']}: {text}" if text else SECTION_TITLES["whats_new"]
    reason = (clean(item.failure.reason) if item.failure else "") or "no summary"
    return f"No summary: {reason}"


def _entry(feed: etree._Element, item: DigestItem, day: date, site_url: str | None) -> None:
    paper = item.paper
    entry = _el(feed, "entry")
    lang = lang_tag(item.summary.language) if item.summary else None
    if lang:
        entry.set(XML_LANG, lang)
    _el(entry, "id", entry_id(day, paper.id))
    _el(entry, "title", clean(paper.title) or clean(paper.id) or "(untitled)", type="text")
    _el(entry, "updated", timestamp(day))
    _el(entry, "published", timestamp(day))
    page = site_link(site_url, paper_path(day, paper.id))
    arxiv = arxiv_url(paper.id)
    if page:
        _el(entry, "link", rel="alternate", type="text/html", href=page)
    if arxiv:
        _el(entry, "link", rel="related" if page else "alternate", type="text/html", href=arxiv,
            title="arXiv")
    for name in (a for a in (clean(a) for a in paper.authors) if a):
        _el(_el(entry, "author"), "name", name)
    _el(entry, "category", term=day.isoformat())
    _el(entry, "summary", _summary_text(item), type="text")
    _el(entry, "content", render_entry_html(item, day, site_url).strip(), type="html")


def _feed_lang(digests: list[Digest]) -> str | None:
    langs = Counter(lang_tag(i.summary.language) for d in digests for i in d.items if i.summary)
    langs.pop(None, None)
    return langs.most_common(1)[0][0] if langs else None


def render_atom(digests: list[Digest], *, feed_url: str, site_url: str,
                title: str = "papergist: Daily Papers", max_entries: int = 500) -> str:
    """The digests as an Atom feed (UTF-8 XML text, ending with one newline).

    `feed_url` is where the feed is served (its id and `rel="self"`), `site_url` the
    static archive's root (`rel="alternate"`, and each paper's page under it).
    """
    if not clean(feed_url).lower().startswith(("https://", "http://")):
        raise ValueError(f"feed_url must be an absolute http(s) URL: {feed_url!r}")
    site = site_link(site_url, "")  # refuses a non-http(s) scheme
    ordered = sorted(digests, key=lambda d: d.date, reverse=True)
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    lang = _feed_lang(ordered)
    if lang:
        feed.set(XML_LANG, lang)
    _el(feed, "id", clean(feed_url))
    _el(feed, "title", clean(title) or "papergist", type="text")
    _el(feed, "subtitle", "Trending AI papers of the day, summarized.", type="text")
    _el(feed, "updated", timestamp(ordered[0].date) if ordered else EPOCH)
    _el(feed, "link", rel="self", type="application/atom+xml", href=clean(feed_url))
    if site:
        _el(feed, "link", rel="alternate", type="text/html", href=site)
    author = _el(feed, "author")
    _el(author, "name", "papergist")
    if site:
        _el(author, "uri", site)
    _el(feed, "generator", "papergist")
    seen: set[str] = set()
    for digest in ordered:
        for item in digest.items:
            if len(seen) >= max_entries:
                break
            key = entry_id(digest.date, item.paper.id)
            if key in seen:
                continue
            seen.add(key)
            _entry(feed, item, digest.date, site_url)
    xml = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml.decode("utf-8")
