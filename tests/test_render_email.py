"""The email: multipart text and HTML, CSS inlined, hostile text inert, size limit kept."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import lru_cache
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fakes import HF_FIXTURES
from digests import fixture_digest, fixture_items
from papergist.models import (Digest, DigestItem, Paper, PaperFailure, Sections, Summary,
                              Verdict)
from papergist.render.chat import one_line
from papergist.render.email import render_email

DAYS = sorted(p.stem for p in HF_FIXTURES.glob("*.json"))
ARCHIVE = "https://papers.example.org/2024/08/26.html"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)><svg/onload=alert(1)>',
    '</a><a href="javascript:alert(1)">click</a>',
    "<style>body{display:none}</style><!-- <iframe src=//evil> -->",
    "&lt;b&gt; &amp; &#60;script&#62; ]]> <![CDATA[x]]>",
]
TAGS = {"html", "head", "meta", "title", "body", "table", "tbody", "tr", "td", "h1", "h2",
        "p", "a", "img", "span", "br"}


# --- digests -------------------------------------------------------------------------


_items = fixture_items
day_digest = fixture_digest


@lru_cache(maxsize=None)
def big_digest(n: int = 60) -> Digest:
    items = [i for day in DAYS for i in _items(day)][:n]
    return Digest(date=date(2024, 8, 26),
                  items=tuple(i.model_copy(update={"rank": r}) for r, i in enumerate(items, 1)))


def paper(**kw) -> Paper:
    base = dict(id="2408.12637", title="A title", abstract="An abstract.", authors=("A", "B"),
                thumbnail="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/x.png")
    return Paper(**{**base, **kw})


def summary(verdict: Verdict | None = None, language: str = "en", **sections) -> Summary:
    text = {"whats_new": "New.", "technical_details": "Tech.", "performance_highlights": "Perf."}
    return Summary(paper_id="2408.12637", sections=Sections(**{**text, **sections}),
                   summarizer="openai", model="m", language=language, prompt_version="p",
                   source="abstract", source_hash="h", verification=verdict)


def digest_of(*items: DigestItem, kind: str = "daily") -> Digest:
    return Digest(date=date(2024, 8, 26), items=items, kind=kind)


def email(digest: Digest, **kw) -> EmailMessage:
    return render_email(digest, sender="Papergist <digest@example.org>",
                        to=["reader@example.org", "other@example.org"], **kw)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML, after a round trip through bytes (what a server receives)."""
    raw = message.as_bytes()
    assert all(len(line) <= 998 for line in raw.splitlines())
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    return plain.get_content(), html.get_content()


class Page(HTMLParser):
    """Every tag, attribute and piece of text of the HTML part, checked as it goes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.styled = 0
        self.in_link = False

    def handle_starttag(self, tag, attrs):
        assert tag in TAGS, f"unexpected <{tag}>"
        self.tags.append(tag)
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name}"
            if name in ("href", "src"):
                assert value.startswith(("https://", "http://")), value
            if name == "style":
                self.styled += 1
                assert "expression" not in value and "url(" not in value
        if tag == "a":
            self.links.append((dict(attrs)["href"], ""))
            self.in_link = True

    def handle_endtag(self, tag):
        assert tag in TAGS
        if tag == "a":
            self.in_link = False

    def handle_data(self, data):
        self.text.append(data)
        if self.in_link:
            href, seen = self.links[-1]
            self.links[-1] = (href, seen + data)

    def handle_comment(self, data):
        raise AssertionError("a comment in the HTML")


def page(html: str) -> Page:
    parsed = Page()
    parsed.feed(html)
    parsed.close()
    return parsed


# --- shape ---------------------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_real_days(day):
    digest = day_digest(day)
    message = email(digest, archive_url=ARCHIVE)
    n = len(digest.items)
    assert message["Subject"] == f"Daily Papers {day}: {n} papers"
    assert message["From"] == "Papergist <digest@example.org>"
    assert message["To"] == "reader@example.org, other@example.org"
    assert message["Message-ID"] is None and message["Date"] is None
    text, html = parts(message)
    parsed = page(html)
    assert "style" not in parsed.tags and parsed.styled > 10  # the CSS is inlined
    assert "table" in parsed.tags
    titles = [href for href, label in parsed.links if re.match(r"\d+\. ", label)]
    assert titles == [i.paper.url for i in digest.items]  # every paper, in order
    visible = " ".join(parsed.text)
    for item in digest.items:
        title = one_line(item.paper.title)
        assert f"{item.rank}. {title}\n{item.paper.url}\n" in text
        assert title in visible
        if item.upvotes is not None:
            assert f"Vote: {item.upvotes}" in text
        if item.summary:
            for section in item.summary.sections.model_dump().values():
                assert one_line(section) in text and one_line(section) in visible
    assert "more paper" not in text


def test_layout_of_one_paper():
    verdict = Verdict(status="unverified", unsupported=("99.9% accuracy",))
    item = DigestItem(paper=paper(authors=tuple("ABCDEFGH"), github_repo="https://github.com/a/b",
                                  project_page="javascript:alert(1)"),
                      rank=1, upvotes=34, summary=summary(verdict))
    text, html = parts(email(digest_of(item, kind="ids")))
    assert text == (
        "arXiv Papers (2024-08-26) · 1 paper\n\n----\n\n"
        "1. A title\nhttps://arxiv.org/abs/2408.12637\n"
        "Vote: 34 · Authors: A, B, C et al.\n"
        "Hugging Face: https://huggingface.co/papers/2408.12637\n"
        "Code: https://github.com/a/b\n\n"
        "What's New:\nNew.\n\nTechnical Details:\nTech.\n\nPerformance Highlights:\nPerf.\n\n"
        "Unverified summary: not found in the paper: “99.9% accuracy”\n")
    parsed = page(html)
    assert [label for _, label in parsed.links] == [  # "" is the thumbnail
        "1. A title", "", "arXiv", "Hugging Face", "Code"]
    assert "img" in parsed.tags and "javascript" not in html


def test_failed_paper_shows_why_and_its_abstract():
    item = DigestItem(paper=paper(abstract="The whole abstract, kept."), rank=1, upvotes=2,
                      failure=PaperFailure(paper_id="2408.12637", stage="summarize",
                                           reason="the model <refused>"))
    text, html = parts(email(digest_of(item)))
    assert "No summary: the model <refused>" in text and "Abstract:\nThe whole abstract, kept." in text
    assert "the model &lt;refused&gt;" in html


def test_korean_and_headers_given():
    korean = "이 논문은 새로운 비전-언어 모델을 제안한다."
    item = DigestItem(paper=paper(title="한국어 제목 — “quoted”", authors=("김철수", "이영희")),
                      rank=1, upvotes=5, summary=summary(language="ko", whats_new=korean))
    when = datetime(2024, 8, 26, 7, 0, tzinfo=timezone.utc)
    message = render_email(digest_of(item), sender="페이퍼 <digest@example.org>",
                           to=["독자 <reader@example.org>"], date=when,
                           message_id="<2024-08-26.digest@example.org>")
    assert message["Date"] == "Mon, 26 Aug 2024 07:00:00 +0000"
    assert message["Message-ID"] == "<2024-08-26.digest@example.org>"
    raw = message.as_bytes()
    assert raw.isascii()  # headers encoded, bodies in base64 or quoted-printable
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "독자 <reader@example.org>" and parsed["From"].startswith("페이퍼")
    text, html = parts(message)
    assert korean in text and "김철수, 이영희" in text and "한국어 제목 — “quoted”" in text
    assert '<html lang="ko">' in html and korean in html and '<meta charset="utf-8">' in html


def test_header_injection_is_impossible():
    message = render_email(digest_of(), sender="a@example.org\r\nBcc: victim@example.org",
                           to=["b@example.org\nX-Evil: 1"])
    raw = message.as_bytes()
    assert b"\nBcc:" not in raw and b"\nX-Evil:" not in raw


def test_needs_a_recipient():
    with pytest.raises(ValueError):
        render_email(digest_of(), sender="a@example.org", to=[])


# --- hostile text --------------------------------------------------------------------


def test_hostile_text_is_inert():
    verdict = Verdict(status="unverified", unsupported=tuple(HOSTILE))
    items = tuple(DigestItem(paper=paper(title=t, authors=(t,), thumbnail="javascript:alert(1)",
                                         github_repo='https://x.example/"><script>'),
                             rank=n, upvotes=1,
                             summary=summary(verdict, whats_new=t, technical_details=t))
                  for n, t in enumerate(HOSTILE, 1))
    _, html = parts(email(digest_of(*items), archive_url="javascript:alert(1)"))
    parsed = page(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    visible = "".join(parsed.text)
    for n, t in enumerate(HOSTILE, 1):
        assert parsed.links[0 if n == 1 else 4 * (n - 1)][1] == f"{n}. {t}"
        assert t in visible
    assert ("https://x.example/%22%3E%3Cscript%3E", "Code") in parsed.links


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(min_size=1, max_size=80), section=st.text(max_size=80),
       author=st.text(min_size=1, max_size=40))
def test_any_text_is_inert(title, section, author):
    item = DigestItem(paper=paper(title=title, authors=(author,)), rank=1, upvotes=1,
                      summary=summary(whats_new=section))
    text, html = parts(email(digest_of(item)))
    parsed = page(html)
    shown = one_line(title) or "2408.12637"
    assert parsed.links[0] == ("https://arxiv.org/abs/2408.12637", f"1. {shown}")
    assert f"1. {shown}\n" in text
    if one_line(section):
        assert one_line(section) in "".join(parsed.text)


# --- size limit ----------------------------------------------------------------------


def _shown(html: str) -> int:
    return sum(1 for _, label in page(html).links if re.match(r"\d+\. ", label))


def test_default_limit_on_sixty_papers():
    digest = big_digest()
    text, html = parts(email(digest, archive_url=ARCHIVE))
    assert len(html.encode("utf-8")) <= 100_000
    shown = _shown(html)
    if shown < 60:
        assert text.rstrip().endswith(f"{60 - shown} more papers: {ARCHIVE}")
        assert f"{60 - shown} more papers: " in "".join(page(html).text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(max_bytes=st.integers(min_value=6_000, max_value=160_000), archive=st.booleans())
def test_never_exceeds_the_limit(max_bytes, archive):
    digest = big_digest()
    archive_url = ARCHIVE if archive else None
    message = email(digest, archive_url=archive_url, max_bytes=max_bytes)
    text, html = parts(message)
    assert len(html.encode("utf-8")) <= max_bytes
    assert len(text.encode("utf-8")) <= max_bytes
    shown = _shown(html)
    hidden = 60 - shown
    titles = [f"{i.rank}. {one_line(i.paper.title)}\n" for i in digest.items]
    assert all(t in text for t in titles[:shown]) and not any(t in text for t in titles[shown:])
    if hidden:
        ending = (f"{hidden} more {'paper' if hidden == 1 else 'papers'}: {ARCHIVE}" if archive
                  else f"{hidden} more {'paper is' if hidden == 1 else 'papers are'} not in this email.")
        assert text.rstrip().endswith(ending) and ending in "".join(page(html).text)
        # as many as fit: one more paper would not have (with the "more" row, about
        # 500 bytes, and its papers about 2,000 each)
        more = email(Digest(date=digest.date, items=digest.items[:shown + 1]),
                     archive_url=archive_url, max_bytes=10**9)
        assert len(more.get_body(("html",)).get_content().encode()) > max_bytes - 1000


def test_limit_too_small_for_the_heading():
    with pytest.raises(ValueError, match="max_bytes"):
        email(big_digest(), max_bytes=500)
