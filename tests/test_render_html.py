"""The HTML page and the page per paper: structure on real days, and hostile text,
URLs and ids that stay inert (no script, no event handler, no javascript: link)."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fakes import HF_FIXTURES
from digests import fixture_digest
from papergist.models import (SECTION_TITLES, Digest, DigestItem, Paper, PaperFailure, Sections,
                              Summary, Verdict)
from papergist.render.html import (clean, day_path, paper_path, render_html, render_paper_html,
                                   slug)

DAYS = sorted(p.stem for p in HF_FIXTURES.glob("*.json"))
SITE = "https://papers.example.org/archive"
THUMB = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2408.12637.png"
# Every tag the templates write; anything else in a page was injected.
TAGS = {"html", "head", "meta", "title", "link", "style", "body", "div", "header", "nav", "h1",
        "h2", "h3", "p", "time", "em", "main", "details", "summary", "ol", "ul", "li", "a",
        "article", "img", "span", "strong", "footer"}
URL_ATTRS = {"href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href",
             "background", "cite", "longdesc", "ping"}
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    '</p></article><a href="javascript:alert(1)">x</a>',
    "<iframe src=javascript:alert(1)></iframe>",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;b&#62; &amp;",
    '" onmouseover="alert(1)" x="',
    "<style>body{display:none}</style><!-- -->",
    "</textarea></title></style><script>alert(document.cookie)</script>",
    "{{ 7*7 }} {% raw %} ${x}",
    "javascript:alert(1)",
    "\x00\x01\x0b\x1b[31m\u202e\u2028\ud800 tail",
]
HOSTILE_URLS = [
    "javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x.png",
    'https://ok.example/x.png" onerror="alert(1)', "https://ok.example/a b<script>.png",
    "/relative/path.png", "file:///etc/passwd", "\x01javascript:alert(1)",
]


# --- digests ---------------------------------------------------------------------------


real_digest = fixture_digest


def _paper(**kw) -> Paper:
    base = dict(id="2408.12637", title="A title", abstract="An abstract.", authors=("A", "B"),
                thumbnail=THUMB)
    return Paper(**{**base, **kw})


def _summary(paper_id="2408.12637", language="en", verification=None, **sections) -> Summary:
    text = {"whats_new": "New.", "technical_details": "Tech.", "performance_highlights": "Perf."}
    return Summary(paper_id=paper_id, sections=Sections(**{**text, **sections}),
                   summarizer="llm", model="gpt-4o-mini", language=language,
                   prompt_version="v1", source="fulltext", source_hash="h",
                   verification=verification)


def _digest(*items: DigestItem) -> Digest:
    return Digest(date=date(2024, 8, 26), items=items)


def _item(paper: Paper | None = None, **kw) -> DigestItem:
    paper = paper or _paper()
    if "failure" not in kw and "summary" not in kw:
        kw["summary"] = _summary(paper.id)
    return DigestItem(paper=paper, rank=kw.pop("rank", 1), upvotes=kw.pop("upvotes", 3), **kw)


# --- parsing ---------------------------------------------------------------------------


class Audit(HTMLParser):
    """Every start tag and attribute, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.style = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            self.style += data


def audit(page: str) -> Audit:
    parser = Audit()
    parser.feed(page)
    parser.close()
    return parser


def _scheme(url: str) -> str:
    squashed = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    match = re.match(r"^([a-z][a-z0-9+.\-]*):", squashed)
    return match.group(1) if match else ""


def assert_inert(page: str, allowed: set[str] = TAGS) -> None:
    """No injected element, no script, no event handler, no non-http(s) URL."""
    parsed = audit(page)
    tags = {tag for tag, _ in parsed.tags}
    assert tags <= allowed, tags - allowed
    assert "script" not in tags
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert name != "style", (tag, name)
            if name in URL_ATTRS and value is not None:
                assert _scheme(value) in ("http", "https", ""), (tag, name, value)
                assert not value.startswith("//"), (tag, name, value)
                if tag == "img":
                    assert value.startswith(("https://", "http://")), value
        if tag == "meta" and attrs.get("http-equiv"):
            assert attrs["http-equiv"].lower() == "content-security-policy"
    # nothing in the page may load anything but an <img>: no external stylesheets,
    # imports or fonts in CSS, no <link> except the Atom feed
    assert "url(" not in parsed.style and "@import" not in parsed.style
    for tag, attrs in parsed.tags:
        if tag == "link":
            assert attrs.get("rel") == "alternate" and attrs.get("type") == "application/atom+xml"
    assert re.search(r"<\s*script", page, re.I) is None


def tree(page: str):
    return lxml.html.document_fromstring(page)


def text_of(node) -> str:
    return re.sub(r"\s+", " ", node.text_content()).strip()


# --- real days -------------------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_real_day_page_structure(day):
    digest = real_digest(day)
    page = render_html(digest)
    assert page.startswith("<!DOCTYPE html>\n")
    assert_inert(page)
    doc = tree(page)
    assert doc.get("lang") == "en"
    assert doc.xpath("//meta[@charset='utf-8']") and doc.xpath("//meta[@name='viewport']")
    assert doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0].startswith(
        "default-src 'none'")
    assert doc.findtext(".//title") == f"Daily Papers ({day})"
    h1 = doc.xpath("//h1")[0]
    assert text_of(h1) == f"Daily Papers ({day})" and h1.xpath(".//time/@datetime") == [day]
    articles = doc.xpath("//article")
    assert len(articles) == len(digest.items)
    ids = [a.get("id") for a in articles]
    assert ids == [slug(i.paper.id) for i in digest.items] and len(set(ids)) == len(ids)
    # the table of contents points at each paper's anchor
    assert doc.xpath("//details[@class='toc']//a/@href") == [f"#{i}" for i in ids]
    for article, item in zip(articles, digest.items):
        paper = item.paper
        heading = article.xpath("./h2/a")[0]
        assert heading.get("href") == f"https://arxiv.org/abs/{paper.id}"
        assert text_of(heading) == clean(paper.title)
        imgs = article.xpath(".//img")
        if paper.thumbnail:
            assert len(imgs) == 1 and imgs[0].get("src") == paper.thumbnail
            assert imgs[0].get("loading") == "lazy" and imgs[0].get("alt")
        meta = text_of(article.xpath("./p[@class='meta']")[0])
        assert f"Vote: {item.upvotes}" in meta
        if paper.authors:
            assert clean(paper.authors[0]) in meta
        links = {text_of(a): a.get("href") for a in article.xpath("./p[@class='links']/a")}
        assert links["arXiv"] == f"https://arxiv.org/abs/{paper.id}"
        assert links["PDF"] == f"https://arxiv.org/pdf/{paper.id}"
        assert links["Hugging Face"] == f"https://huggingface.co/papers/{paper.id}"
        assert ("Code" in links) == bool(paper.github_repo)
        assert ("Project page" in links) == bool(paper.project_page)
        if paper.github_repo:
            assert links["Code"] == paper.github_repo
        if item.summary:
            assert [text_of(h) for h in article.xpath("./h3")] == list(SECTION_TITLES.values())
            assert [text_of(p) for p in article.xpath("./h3/following-sibling::p[1]")] == [
                clean(t) for t in item.summary.sections.model_dump().values()]
            details = article.xpath("./details")[-1]
            assert text_of(details.xpath("./summary")[0]) == "Original abstract"
            assert details.get("open") is None
            assert text_of(details.xpath("./p")[0]) == clean(paper.abstract)
        else:
            assert "No summary" in text_of(article.xpath(".//*[@class='warning']")[0])
    # the only things a browser would fetch are the thumbnails
    thumbnails = {i.paper.thumbnail for i in digest.items if i.paper.thumbnail}
    assert set(doc.xpath("//@src")) == thumbnails
    assert page.count("<style>") == 1 and "<script" not in page


def test_every_link_is_external_or_an_anchor_of_the_page_without_site():
    digest = real_digest("2025-10-15")
    doc = tree(render_html(digest))
    ids = set(doc.xpath("//@id"))
    for href in doc.xpath("//@href"):
        if href.startswith("#"):
            assert href[1:] in ids
        else:
            assert href.startswith("https://"), href
    assert not doc.xpath("//link[@rel='alternate']")  # no feed without a site


def test_extractive_note_and_deterministic():
    digest = real_digest("2024-08-26")
    page = render_html(digest)
    assert "Summaries are extractive" in page
    assert page == render_html(digest)


def test_site_links_to_paper_pages_index_and_feed():
    digest = real_digest("2024-08-26")
    doc = tree(render_html(digest, site_url=SITE + "/"))
    first = digest.items[0].paper.id
    assert doc.xpath("//article[1]//a[@class='permalink']/@href") == [
        f"{SITE}/2024/08/26/{first}.html"]
    assert doc.xpath("//link[@rel='alternate']/@href") == [f"{SITE}/feed.xml"]
    assert f"{SITE}/index.html" in doc.xpath("//nav//a/@href")
    assert f"{SITE}/feed.xml" in doc.xpath("//nav//a/@href")
    # a site without a feed: no feed link at all
    nofeed = render_html(digest, site_url=SITE, feed=False)
    assert "feed.xml" not in nofeed and f"{SITE}/index.html" in nofeed
    assert "feed.xml" not in render_paper_html(digest.items[0], digest, site_url=SITE, feed=False)
    # a relative site works for both pages (same depth)
    rel = tree(render_html(digest, site_url="../../.."))
    assert rel.xpath("//article[1]//a[@class='permalink']/@href") == [
        f"../../../2024/08/26/{first}.html"]
    assert paper_path(digest.date, first) == f"2024/08/26/{first}.html"
    assert day_path(digest.date) == "2024/08/26/index.html"


def test_site_url_must_be_http_or_relative():
    for bad in ("javascript:alert(1)", "data:text/html,x"):
        with pytest.raises(ValueError):
            render_html(_digest(_item()), site_url=bad)


def test_paper_page():
    digest = real_digest("2025-10-15")
    item = digest.items[1]
    page = render_paper_html(item, digest, site_url=SITE)
    assert_inert(page)
    doc = tree(page)
    assert doc.findtext(".//title") == f"{clean(item.paper.title)} · Daily Papers (2025-10-15)"
    assert len(doc.xpath("//article")) == 1
    heading = doc.xpath("//article/h1/a")[0]
    assert heading.get("href") == item.paper.url and text_of(heading) == clean(item.paper.title)
    assert doc.xpath("//article/details/@open")  # the abstract shown open
    assert f"{SITE}/2025/10/15/index.html#{slug(item.paper.id)}" in doc.xpath("//nav//a/@href")
    assert not doc.xpath("//a[@class='permalink']")
    # standalone: no site links at all
    bare = tree(render_paper_html(item, digest))
    assert all(h.startswith("https://") for h in bare.xpath("//@href"))


def test_page_language_from_summaries():
    def lang(*langs):
        items = [_item(_paper(id=f"2408.1263{n}"), summary=_summary(f"2408.1263{n}", language=la))
                 for n, la in enumerate(langs)]
        return tree(render_html(_digest(*items))).get("lang")

    assert lang("ko", "ko", "en") == "ko"
    assert lang("en_GB") == "en-GB"
    assert lang('"><script>') == "en"
    assert tree(render_html(_digest(_item(failure=PaperFailure(
        paper_id="2408.12637", stage="fetch", reason="x"))))).get("lang") == "en"
    # a paper page takes the language of its own summary
    item = _item(summary=_summary(language="ja"))
    assert tree(render_paper_html(item, _digest(item))).get("lang") == "ja"


def test_unverified_warnings():
    listed = _item(summary=_summary(verification=Verdict(
        status="unverified", unsupported=("42.7% on MMLU", "FooNet-7B"))))
    generic = _item(_paper(id="2408.00001"), summary=_summary(
        "2408.00001", verification=Verdict(status="unverified", generic=True)))
    kept = _item(_paper(id="2408.00002"), summary=_summary(
        "2408.00002", verification=Verdict(status="unverified", unsupported=("x",), warn=False)))
    verified = _item(_paper(id="2408.00003"), summary=_summary(
        "2408.00003", verification=Verdict(status="verified", checked=3)))
    doc = tree(render_html(_digest(listed, generic, kept, verified)))
    a, b, c, d = doc.xpath("//article")
    warn = a.xpath(".//*[@class='warning']")[0]
    assert "Unverified summary" in text_of(warn)
    assert [text_of(li) for li in warn.xpath(".//li")] == ["“42.7% on MMLU”", "“FooNet-7B”"]
    assert "names nothing specific" in text_of(b.xpath(".//*[@class='warning']")[0])
    assert not c.xpath(".//*[@class='warning']") and not d.xpath(".//*[@class='warning']")
    assert "Summarized by gpt-4o-mini from the full text" in text_of(a)


def test_paper_without_summary_shows_failure_and_abstract():
    item = _item(_paper(abstract="The whole abstract."), failure=PaperFailure(
        paper_id="2408.12637", stage="summarize",
        reason="model replied twice in the wrong language"))
    article = tree(render_html(_digest(item))).xpath("//article")[0]
    assert text_of(article.xpath(".//*[@class='warning']")[0]) == (
        "No summary: model replied twice in the wrong language")
    assert [text_of(h) for h in article.xpath("./h3")] == ["Abstract"]
    assert text_of(article.xpath("./h3/following-sibling::p[1]")[0]) == "The whole abstract."
    assert not article.xpath(".//details")
    empty = _item(_paper(abstract=""), failure=PaperFailure(paper_id="2408.12637",
                                                           stage="fetch", reason=""))
    assert "(no abstract)" in render_html(_digest(empty))


def test_video_thumbnail_is_a_link_and_unsafe_thumbnails_are_dropped():
    video = _item(_paper(thumbnail="https://cdn.example/x/clip.MP4?x=1"))
    doc = tree(render_html(_digest(video)))
    assert not doc.xpath("//img")
    assert doc.xpath("//a[text()='Video']/@href") == ["https://cdn.example/x/clip.MP4?x=1"]
    for url in HOSTILE_URLS:
        page = render_html(_digest(_item(_paper(thumbnail=url, github_repo=url, project_page=url))))
        assert_inert(page)
        doc = tree(page)
        assert not [s for s in doc.xpath("//img/@src") if not s.startswith("https://ok.example/")]
        labels = {text_of(a) for a in doc.xpath("//p[@class='links']/a")}
        if not url.startswith("https://"):
            assert labels == {"arXiv", "PDF", "Hugging Face"}, url
    # a quote cannot leave the attribute: it is percent-encoded in the URL
    page = render_html(_digest(_item(_paper(thumbnail=HOSTILE_URLS[6]))))
    assert tree(page).xpath("//img/@src") == [
        "https://ok.example/x.png%22%20onerror=%22alert%281%29"]


def test_many_authors_behind_a_toggle():
    authors = tuple(f"Author {n}" for n in range(40))
    article = tree(render_html(_digest(_item(_paper(authors=authors))))).xpath("//article")[0]
    assert "Author 9, and 30 more" in text_of(article.xpath("./p[@class='meta']")[0])
    assert "Author 39" in text_of(article.xpath("./details[@class='meta']")[0])


def test_hostile_text_stays_text():
    for bad in HOSTILE:
        paper = _paper(id="2408.12637", title=bad, abstract=bad, authors=(bad, "B"))
        summary = _summary(whats_new=bad, technical_details=bad, performance_highlights=bad,
                           verification=Verdict(status="unverified", unsupported=(bad,)))
        failed = DigestItem(paper=_paper(id="2408.00009", title=bad), rank=2,
                            failure=PaperFailure(paper_id="2408.00009", stage="x", reason=bad))
        digest = _digest(_item(paper, summary=summary), failed)
        page = render_html(digest, site_url=SITE)
        assert_inert(page)
        page.encode("utf-8")  # lone surrogates are gone
        doc = tree(page)
        assert text_of(doc.xpath("//article/h2/a")[0]) == clean(bad) or not clean(bad)
        assert text_of(doc.xpath("//article//li")[0]) == f"“{clean(bad)}”" or not clean(bad)
        for item in digest.items:
            assert_inert(render_paper_html(item, digest, site_url=SITE))


def test_hostile_ids_stay_in_their_attributes():
    for bad in ['"><script>alert(1)</script>', "../../../etc/passwd", "javascript:alert(1)",
                "hep-th/9901001", "", ".", "a" * 300]:
        item = _item(_paper(id=bad))
        page = render_html(_digest(item), site_url=SITE)
        assert_inert(page)
        anchor = slug(bad)
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,79}", anchor), anchor
        assert tree(page).xpath("//article/@id") == [anchor]
        assert paper_path(date(2024, 8, 26), bad) == f"2024/08/26/{anchor}.html"
    assert slug("hep-th/9901001") == "hep-th_9901001"


text_part = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12),
                      st.sampled_from(["<", ">", '"', "'", "&", "javascript:", "on", "=", " "]))
hostile_text = st.lists(text_part, max_size=6).map("".join)
hostile_url = st.one_of(st.none(), st.sampled_from(HOSTILE_URLS),
                        hostile_text.map(lambda t: "https://x.example/" + t), hostile_text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=hostile_text, authors=st.lists(hostile_text, max_size=3), abstract=hostile_text,
       sections=st.tuples(hostile_text, hostile_text, hostile_text),
       claims=st.lists(hostile_text, max_size=3),
       thumbnail=hostile_url, code=hostile_url, project=hostile_url, paper_id=hostile_text,
       reason=hostile_text, language=hostile_text, model=hostile_text)
def test_property_hostile_input_never_runs(title, authors, abstract, sections, claims, thumbnail,
                                           code, project, paper_id, reason, language, model):
    paper = Paper(id=paper_id, title=title, abstract=abstract, authors=tuple(authors),
                  thumbnail=thumbnail, github_repo=code, project_page=project)
    summary = Summary(paper_id=paper_id, sections=Sections(
        whats_new=sections[0], technical_details=sections[1], performance_highlights=sections[2]),
        summarizer="llm", model=model, language=language, prompt_version="v1", source="abstract",
        source_hash="h", verification=Verdict(status="unverified", unsupported=tuple(claims)))
    digest = _digest(DigestItem(paper=paper, rank=1, upvotes=1, summary=summary),
                     DigestItem(paper=paper, rank=2, failure=PaperFailure(
                         paper_id=paper_id, stage="summarize", reason=reason)))
    pages = [(render_html(digest), 2), (render_html(digest, site_url=SITE), 2),
             (render_paper_html(digest.items[0], digest, site_url=SITE), 1),
             (render_paper_html(digest.items[1], digest), 1)]
    for page, articles in pages:
        assert_inert(page)
        page.encode("utf-8")
        doc = tree(page)
        assert len(doc.xpath("//article")) == articles
        for heading in doc.xpath("//article/*[self::h1 or self::h2]/a[1]"):
            assert text_of(heading) == (clean(title) or clean(paper_id))
