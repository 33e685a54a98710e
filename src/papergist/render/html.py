"""The digest as a standalone, responsive HTML5 page (and a page per paper).

Pure functions of the digest models, rendered with Jinja2 templates from
`render/templates/` with autoescaping always on. Everything that comes from a
paper or a model (titles, authors, abstracts, sections, failure reasons, claims,
ids and URLs) is untrusted:

* text is cleaned (control characters and bidi overrides removed, lone
  surrogates replaced, whitespace collapsed) and then HTML-escaped by Jinja2;
  no template marks untrusted text `|safe`;
* links and images only ever point to http(s) URLs (`safe_url`, which also
  percent-encodes quotes and spaces); anything else (`javascript:`, `data:`,
  relative paths) is dropped;
* a thumbnail that is a video (.mp4, .webm, ...) becomes a link, not an `<img>`;
* the page carries a Content-Security-Policy that allows no script at all, only
  the inline stylesheet and http(s) images, as a second line of defence.

The pages load nothing but the paper thumbnails (CSS is inline, no JavaScript).

Layout of the static archive (the paths are relative to the site root, and the
same depth for a day page and its papers' pages, so a relative `site_url` such
as `"../../.."` works too):

* day page:   `YYYY/MM/DD/index.html`  (`day_path`)
* paper page: `YYYY/MM/DD/{slug}.html` (`paper_path`, `slug` of the arXiv id)
* Atom feed:  `feed.xml`               (`FEED_PATH`)
* index:      `index.html`             (`INDEX_PATH`)

Each paper's `<article>` on a day page has `id="{slug}"`, so
`YYYY/MM/DD/index.html#{slug}` is the paper on its day page.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from papergist.models import SECTION_KEYS, SECTION_TITLES, Digest, DigestItem, Verdict
from papergist.render.common import (EXTRACTIVE_NOTE, VerdictNote, clean, digest_kind,
                                     digest_title, is_video, lang_tag, verdict_note)
from papergist.render.markdown import safe_url

__all__ = ["clean", "digest_kind", "digest_title", "lang_tag"]  # re-exported for atom and tests

ARXIV_ABS = "https://arxiv.org/abs/{id}"
ARXIV_PDF = "https://arxiv.org/pdf/{id}"
HF_PAPER = "https://huggingface.co/papers/{id}"
FEED_PATH = "feed.xml"
INDEX_PATH = "index.html"
AUTHORS_SHOWN = 12  # more authors than this: the first ten, then the rest behind a toggle
AUTHORS_KEPT = 10
CSP = ("default-src 'none'; img-src http: https:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
SLUG_MAX = 80

_ENV = Environment(loader=PackageLoader("papergist.render", "templates"), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                   keep_trailing_newline=True)


# --- text, URLs and paths -------------------------------------------------------------


def http_url(url: str | None) -> str | None:
    """An http(s) URL safe for `href`/`src`, or None (see `markdown.safe_url`)."""
    return safe_url(clean(url) or None)


def _id_part(paper_id: str) -> str:
    """A paper id as a URL path segment (old-style ids keep their slash)."""
    return quote(clean(paper_id), safe="/")


def arxiv_url(paper_id: str) -> str | None:
    """The paper's arXiv abstract page."""
    return http_url(ARXIV_ABS.format(id=_id_part(paper_id)))


def slug(paper_id: str) -> str:
    """A paper id as a file name and HTML id: `2408.12637` stays as it is,
    `hep-th/9901001` becomes `hep-th_9901001`. Never empty, never starts with a
    dot; very long ids are cut and suffixed with a hash."""
    text = _SLUG_UNSAFE.sub("_", clean(paper_id))
    if not text or text.startswith("."):
        text = "_" + text
    if len(text) > SLUG_MAX:
        digest = hashlib.sha256(paper_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        text = f"{text[:SLUG_MAX - 13]}-{digest}"
    return text


def day_dir(day: date) -> str:
    """`YYYY/MM/DD`."""
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def day_path(day: date) -> str:
    """The day page, relative to the site root: `YYYY/MM/DD/index.html`."""
    return f"{day_dir(day)}/index.html"


def paper_path(day: date, paper_id: str) -> str:
    """A paper's page, relative to the site root: `YYYY/MM/DD/{slug}.html`."""
    return f"{day_dir(day)}/{slug(paper_id)}.html"


def site_link(site_url: str | None, path: str) -> str | None:
    """`path` under `site_url` (absolute http(s) or relative such as `../../..`), or
    None without a site. `site_url` is configuration, not paper data; a URL with a
    scheme other than http(s) is refused."""
    if not site_url:
        return None
    site = site_url.strip()
    if _SCHEME.match(site) and not site.lower().startswith(("http://", "https://")):
        raise ValueError(f"site_url must be http(s) or a relative path: {site_url!r}")
    return f"{site.rstrip('/')}/{path}"


def language(digest: Digest) -> str:
    """The page language: the summaries' most common language, "en" without any."""
    langs = Counter(tag for i in digest.items if i.summary
                    if (tag := lang_tag(i.summary.language)) is not None)
    return langs.most_common(1)[0][0] if langs else "en"


# --- the view of one paper ------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Section:
    title: str
    text: str


@dataclass(frozen=True)
class Quote:
    """A sentence of the summary and the paper's sentence that backs it (None: none);
    `invented`: what its model quoted for it that the paper does not hold."""

    sentence: str
    quote: str | None
    backed: bool
    invented: str | None = None


@dataclass(frozen=True)
class PaperView:
    """Everything a template shows of one paper: clean text and vetted URLs only."""

    anchor: str
    id: str
    title: str
    url: str | None
    lang: str | None
    thumbnail: str | None
    video: str | None
    votes: int | None
    authors: tuple[str, ...]
    more_authors: tuple[str, ...]
    links: tuple[Link, ...]
    sections: tuple[Section, ...]
    warning: VerdictNote | None
    failure: str | None
    abstract: str
    note: str | None
    page_url: str | None = None
    day_url: str | None = None
    why: str | None = None  # in a digest ranked for a reader: what this paper matched
    quotes: tuple[Quote, ...] = ()  # each sentence of the summary with its quote


def paper_links(item: DigestItem) -> tuple[Link, ...]:
    """arXiv (abstract and PDF), Hugging Face, code and project page (when safe)."""
    pid = _id_part(item.paper.id)
    candidates = [("arXiv", ARXIV_ABS.format(id=pid)), ("PDF", ARXIV_PDF.format(id=pid)),
                  ("Hugging Face", HF_PAPER.format(id=pid)),
                  ("Code", item.paper.github_repo), ("Project page", item.paper.project_page)]
    return tuple(Link(label, url) for label, url in ((lb, http_url(u)) for lb, u in candidates)
                 if url)


def paper_view(item: DigestItem, day: date, site_url: str | None = None) -> PaperView:
    """The displayable parts of one paper of the digest of `day`."""
    paper, summary = item.paper, item.summary
    thumb = http_url(paper.thumbnail)
    video = thumb if thumb and is_video(thumb) else None
    authors = tuple(a for a in (clean(a) for a in paper.authors) if a)
    shown, more = (authors, ()) if len(authors) <= AUTHORS_SHOWN else (
        authors[:AUTHORS_KEPT], authors[AUTHORS_KEPT:])
    sections: tuple[Section, ...] = ()
    note = failure = None
    if summary is not None:
        texts = summary.sections.model_dump()
        sections = tuple(Section(SECTION_TITLES[k], clean(texts[k])) for k in SECTION_KEYS)
        source = "full text" if summary.source == "fulltext" else "abstract"
        note = (f"Quoted from the {source}" if summary.extractive
                else f"Summarized by {clean(summary.model) or 'a model'} from the {source}")
    else:
        failure = (clean(item.failure.reason) if item.failure else "") or "no summary"
    return PaperView(
        anchor=slug(paper.id), id=clean(paper.id), title=clean(paper.title) or clean(paper.id),
        url=arxiv_url(paper.id), lang=lang_tag(summary.language) if summary else None,
        thumbnail=None if video else thumb, video=video, votes=item.upvotes,
        authors=shown, more_authors=more, links=paper_links(item), sections=sections,
        warning=verdict_note(summary.verification) if summary else None, failure=failure,
        abstract=clean(paper.abstract), note=note,
        page_url=site_link(site_url, paper_path(day, paper.id)),
        day_url=site_link(site_url, f"{day_path(day)}#{slug(paper.id)}"),
        why=clean(f"For {item.relevance.reader}: {', '.join(item.relevance.reasons)}")
        if item.relevance and item.relevance.reasons else None,
        quotes=_quotes(summary.verification) if summary and not summary.extractive else ())


def _quotes(verdict: Verdict | None) -> tuple[Quote, ...]:
    """The grounding of a model's summary, as the paper's page shows it (an extractive
    summary is its own quote)."""
    if verdict is None:
        return ()
    return tuple(Quote(clean(g.sentence), clean(g.quote) or None, g.backed,
                       clean(g.cited) or None if g.cited and not g.cited_found else None)
                 for g in verdict.grounding)


def _page(digest: Digest, site_url: str | None, feed: bool) -> dict[str, object]:
    return {"csp": CSP, "lang": language(digest), "date": digest.label,
            "heading": digest_title(digest), "kind": digest_kind(digest), "site": bool(site_url),
            "index_url": site_link(site_url, INDEX_PATH),
            "feed_url": site_link(site_url, FEED_PATH) if feed else None,
            "day_url": site_link(site_url, day_path(digest.date)),
            "extractive_note": EXTRACTIVE_NOTE if digest.extractive else None}


# --- pages ----------------------------------------------------------------------------


def render_html(digest: Digest, *, site_url: str | None = None, feed: bool = True) -> str:
    """The day's digest as one standalone HTML5 page.

    Without `site_url` the page links only to external sites and to its own
    anchors; with it, each paper also links to its own page and the header to
    the archive index and (unless `feed` is False) the Atom feed; see the module
    docstring for the layout.
    """
    papers = [paper_view(item, digest.date, site_url) for item in digest.items]
    return _ENV.get_template("day.html.j2").render(page=_page(digest, site_url, feed),
                                                   papers=papers, count=len(papers))


def render_paper_html(item: DigestItem, digest: Digest, *, site_url: str | None = None,
                      feed: bool = True) -> str:
    """A page for one paper of `digest` (the abstract shown open); `site_url` and
    `feed` as for `render_html`."""
    paper = paper_view(item, digest.date, site_url)
    page = _page(digest, site_url, feed)
    page["lang"] = paper.lang or page["lang"]
    return _ENV.get_template("paper.html.j2").render(page=page, paper=paper)


def render_entry_html(item: DigestItem, day: date, site_url: str | None = None) -> str:
    """An HTML fragment for one paper (the Atom entry content): links, thumbnail,
    the three sections and the warning, or the failure note and the abstract."""
    return _ENV.get_template("entry.html.j2").render(paper=paper_view(item, day, site_url))
