"""Digests as one Atom 1.0 feed (RFC 4287): one entry per paper per day.

Deterministic: no clock is read. An entry is `published` at its digest's day
(00:00:00Z); it is `updated` when its summary was written (`Summary.created_at`),
or - for a summary stored before that was kept - at the day plus a number of
seconds (under a day) taken from a hash of the summary, so the same summary gives
the same time and a re-summarized paper a new one. The feed's `updated` is its
newest entry's (1970-01-01T00:00:00Z for an empty feed), so re-rendering the same
digests gives byte-identical XML.

Entry ids are tag URIs (RFC 4151): the authority is `site_url`'s host name (or
`feed_url`'s), the date is the digest's day, and the specific part holds the
feed's language and the arXiv id:

    tag:example.org,2024-08-26:ko/arxiv/2408.12637

(an old-style id keeps its slash; any other character outside the URI's
unreserved set is percent-encoded). The same paper on the same day has the same
id in one language's feed whatever the model or summary, and a different id in
another language's feed (they are different entries); the same paper listed on
another day is another entry. When the same paper appears twice for one day (two
digests of one date), the first one wins.

Entries come newest day first, then in each digest's order, at most
`max_entries` of them. Each has the day as its category (`term="2024-08-26"`),
the paper's authors, a link to its arXiv page (`rel="alternate"`, or
`rel="related"` when `site_url` is given and the paper's page on the site is the
alternate), a plain-text `summary` (What's New, or why there is no summary) and
an HTML `content` (type="html", so the HTML is escaped once more in the XML):
links, thumbnail, the three sections and the verdict note, or the failure note
and abstract. All text goes through `common.clean`, so control characters that
XML cannot hold never reach the serializer.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

from lxml import etree

from papergist.models import SECTION_TITLES, Digest, DigestItem
from papergist.render.common import clean, lang_tag
from papergist.render.html import arxiv_url, paper_path, render_entry_html, site_link

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPOCH = "1970-01-01T00:00:00Z"
# RFC 4151 DNSname: DNScomp *( "."  DNScomp ), DNScomp = alphanum [*(alphanum / "-") alphanum].
_DNS_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


def tag_authority(*urls: str | None) -> str:
    """The host name of the first of `urls` that has one, lowercase (RFC 4151 needs a
    domain name or an email address as a tag's authority)."""
    for url in urls:
        host = urlsplit(clean(url)).hostname or ""
        if _DNS_NAME.fullmatch(host):
            return host
    raise ValueError(f"a feed needs a URL with a host name for its entry ids: {urls!r}")


def entry_id(day: date, paper_id: str, *, authority: str, language: str | None) -> str:
    """The entry's stable id: `tag:{authority},YYYY-MM-DD:{language}/arxiv/{id}`."""
    specific = quote(clean(paper_id), safe="/.-_~") or "_"
    lang = (lang_tag(language) or "und").lower()
    return f"tag:{authority},{day.isoformat()}:{lang}/arxiv/{specific}"


def timestamp(day: date) -> str:
    """The day as an RFC 3339 date-time at midnight UTC."""
    return f"{day.isoformat()}T00:00:00Z"


def _rfc3339(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def updated(item: DigestItem, day: date) -> str:
    """When the entry last changed: its summary's `created_at` (never before the
    day), else the day plus a hash of the summary in seconds, else the day."""
    summary = item.summary
    midnight = datetime(day.year, day.month, day.day)
    if summary is None:
        return timestamp(day)
    if summary.created_at is not None:
        created = summary.created_at
        naive = created.astimezone(timezone.utc).replace(tzinfo=None) if created.tzinfo else created
        return _rfc3339(max(naive, midnight))
    digest = hashlib.sha256(repr(summary.model_dump()).encode("utf-8", "surrogatepass")).digest()
    return _rfc3339(midnight + timedelta(seconds=int.from_bytes(digest[:4], "big") % 86400))


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


def _entry(feed: etree._Element, item: DigestItem, day: date, site_url: str | None,
           key: str) -> None:
    paper = item.paper
    entry = _el(feed, "entry")
    lang = lang_tag(item.summary.language) if item.summary else None
    if lang:
        entry.set(XML_LANG, lang)
    _el(entry, "id", key)
    _el(entry, "title", clean(paper.title) or clean(paper.id) or "(untitled)", type="text")
    _el(entry, "updated", updated(item, day))
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
                title: str = "papergist: Daily Papers", max_entries: int = 500,
                language: str | None = None) -> str:
    """The digests as an Atom feed (UTF-8 XML text, ending with one newline).

    `feed_url` is where the feed is served (its id and `rel="self"`), `site_url` the
    static archive's root (`rel="alternate"`, and each paper's page under it; its
    host is the entry ids' authority). `language` is the feed's (in every entry id;
    by default the summaries' most common language).
    """
    if not clean(feed_url).lower().startswith(("https://", "http://")):
        raise ValueError(f"feed_url must be an absolute http(s) URL: {feed_url!r}")
    site = site_link(site_url, "")  # refuses a non-http(s) scheme
    ordered = sorted(digests, key=lambda d: d.date, reverse=True)
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    lang = lang_tag(language) or _feed_lang(ordered)
    authority = tag_authority(site_url, feed_url)
    if lang:
        feed.set(XML_LANG, lang)
    _el(feed, "id", clean(feed_url))
    _el(feed, "title", clean(title) or "papergist", type="text")
    _el(feed, "subtitle", "Trending AI papers of the day, summarized.", type="text")
    stamps = [updated(i, d.date) for d in ordered for i in d.items]
    _el(feed, "updated", max(stamps) if stamps else (timestamp(ordered[0].date) if ordered else EPOCH))
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
            key = entry_id(digest.date, item.paper.id, authority=authority, language=lang)
            if key in seen:
                continue
            seen.add(key)
            _entry(feed, item, digest.date, site_url, key)
    xml = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml.decode("utf-8")
