"""Slack, Discord and Telegram bodies: shapes and every platform limit on real days,
hostile text inert in each format, long digests and long papers split correctly."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fakes import HF_FIXTURES
from digests import fixture_digest, fixture_items
from papergist.models import (Digest, DigestItem, Paper, PaperFailure, Sections, Summary,
                              Verdict)
from papergist.render.chat import (discord_payloads, one_line, slack_payloads,
                                   telegram_messages)

DAYS = sorted(p.stem for p in HF_FIXTURES.glob("*.json"))
ARCHIVE = "https://papers.example.org/2024/08/26.html"
HOSTILE = [
    "<!channel> <!here> <@U123> <#C42> <http://evil.example|click me> & &amp; &lt;",
    "@everyone @here <@123456789012345678> <@&123456789012345678> **bold** __u__ ~~s~~ "
    "||spoiler|| `code` ```block``` [click](javascript:alert(1)) # heading > quote - item",
    '</a><a href="javascript:alert(1)">x</a><script>alert(1)</script> <b>bold</b> '
    "&lt;i&gt; &#60;b&#62; \"quoted\" 'single'",
    '"><img src=x onerror=alert(1)><svg/onload=alert(1)> javascript:alert(document.cookie)',
]


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- digests -------------------------------------------------------------------------


_items = fixture_items
day_digest = fixture_digest


@lru_cache(maxsize=None)
def big_digest(n: int = 60) -> Digest:
    """`n` real papers from several days, ranked 1..n."""
    items = [i for day in DAYS for i in _items(day)][:n]
    assert len(items) == n
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


def one(item: DigestItem) -> Digest:
    return Digest(date=date(2024, 8, 26), items=(item,))


def hostile_item(text: str, rank: int = 1, **paper_kw) -> DigestItem:
    verdict = Verdict(status="unverified", unsupported=(text,))
    return DigestItem(paper=paper(title=text, authors=(text, "B"), **paper_kw), rank=rank,
                      upvotes=3, summary=summary(verdict, whats_new=text, technical_details=text,
                                                 performance_highlights=text))


def failed_item(reason: str, rank: int = 2) -> DigestItem:
    return DigestItem(paper=paper(id="2408.00002", title="Failed"), rank=rank, upvotes=1,
                      failure=PaperFailure(paper_id="2408.00002", stage="summarize",
                                           reason=reason))


def every_digest() -> list[Digest]:
    return [day_digest(d) for d in DAYS] + [big_digest()]


texts = st.text(st.characters(blacklist_characters="\u200b"), min_size=1, max_size=100)
fuzz = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- Slack ---------------------------------------------------------------------------

SLACK_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")
SLACK_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def mrkdwn_texts(payload: dict) -> list[str]:
    found = []
    for block in payload["blocks"]:
        if block["type"] == "section":
            found.append(block["text"])
        elif block["type"] == "context":
            found += block["elements"]
    assert all(t["type"] == "mrkdwn" and t["verbatim"] is True for t in found)
    return [t["text"] for t in found]


def check_slack(payloads: list[dict], digest: Digest, archive: str | None = None) -> None:
    urls = {i.paper.url for i in digest.items} | ({archive} if archive else set())
    seen = []
    for payload in payloads:
        assert set(payload) == {"text", "blocks", "unfurl_links", "unfurl_media"}
        assert payload["text"] and "<" not in payload["text"]
        assert 1 <= len(payload["blocks"]) <= 50
        assert {b["type"] for b in payload["blocks"]} <= {"header", "section", "context", "divider"}
        for block in payload["blocks"]:
            if block["type"] == "header":
                assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        for text in mrkdwn_texts(payload):
            assert 0 < units(text) <= 3000
            for match in SLACK_LINK.finditer(text):  # every link is one we made
                url = unescape(match[1])
                assert url.startswith(("https://", "http://"))
                if url in urls:
                    seen.append(url)
            rest = SLACK_LINK.sub("", text)
            assert "<" not in rest and ">" not in rest, "a mention or link came from the text"
            assert not SLACK_ENTITY.search(text), "an unescaped &"
        json.dumps(payload)
    assert [u for u in seen if u != archive] == [i.paper.url for i in digest.items]


@pytest.mark.parametrize("day", DAYS)
def test_slack_real_days(day):
    digest = day_digest(day)
    payloads = slack_payloads(digest, archive_url=ARCHIVE)
    check_slack(payloads, digest, ARCHIVE)
    first = payloads[0]["blocks"][0]
    assert first["type"] == "header" and day in first["text"]["text"]
    assert f"<{ARCHIVE}|{ARCHIVE}>" in payloads[-1]["blocks"][-1]["text"]["text"]


def test_slack_60_papers_split_between_papers():
    digest = big_digest()
    payloads = slack_payloads(digest)
    check_slack(payloads, digest)
    assert len(payloads) > 1
    assert payloads[0]["text"].endswith(f"(1/{len(payloads)})")
    for payload in payloads:  # a paper never spans two messages: each starts at a divider
        blocks = payload["blocks"]
        start = next(n for n, b in enumerate(blocks) if b["type"] == "divider")
        assert all(b["type"] != "section" for b in blocks[:start])


def test_slack_hostile_text_is_inert():
    items = [hostile_item(t, rank=n) for n, t in enumerate(HOSTILE, 1)]
    digest = Digest(date=date(2024, 8, 26), items=tuple(items) + (failed_item(HOSTILE[0], 9),))
    payloads = slack_payloads(digest, archive_url="javascript:alert(1)")
    check_slack(payloads, digest)
    text = json.dumps(payloads)
    assert "<!channel>" not in text and "<@U123>" not in text and "javascript:alert(1)|" not in text
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;" in text
    assert "&lt;http://evil.example|click me&gt;" in text


@fuzz
@given(title=texts, section=texts, author=texts, reason=texts)
def test_slack_any_text_is_inert(title, section, author, reason):
    item = DigestItem(paper=paper(title=title, authors=(author,)), rank=1, upvotes=1,
                      summary=summary(Verdict(status="unverified", unsupported=(section,)),
                                      whats_new=section))
    digest = Digest(date=date(2024, 8, 26), items=(item, failed_item(reason)))
    payloads = slack_payloads(digest)
    check_slack(payloads, digest)
    link = SLACK_LINK.search(mrkdwn_texts(payloads[0])[-4 if digest.extractive else -3])
    assert link is None or unescape(link[2]) == f"1. {one_line(title) or '2408.12637'}"


def test_slack_long_text_respects_limits():
    long = "Word " * 2000 + "& <x> " * 500
    item = DigestItem(paper=paper(title=long, authors=tuple(long.split()[:30]),
                                  github_repo="https://github.com/" + "&" * 900),
                      rank=1, upvotes=1, summary=summary(whats_new=long, technical_details=long,
                                                         performance_highlights=long))
    payloads = slack_payloads(one(item))
    check_slack(payloads, one(item))
    heads = [t for t in mrkdwn_texts(payloads[0]) if t.startswith("*<")]
    assert "et al." in heads[0] and "…" in heads[0]


# --- Discord -------------------------------------------------------------------------

DISCORD_SPECIAL = set("\\*_~`|<>[]#")


def embed_chars(embed: dict) -> int:
    parts = [embed.get("title", ""), embed.get("description", ""),
             embed.get("footer", {}).get("text", ""), embed.get("author", {}).get("name", "")]
    parts += [x for f in embed.get("fields", []) for x in (f["name"], f["value"])]
    return sum(units(p) for p in parts)


def discord_unescape(text: str) -> str:
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text.replace("@\u200b", "@"))


def assert_discord_literal(text: str) -> None:
    """No Markdown character acts: each is escaped, and no mention can form."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        assert text[i] not in DISCORD_SPECIAL, f"unescaped {text[i]!r} in {text!r}"
        i += 1
    assert not re.search(r"@(everyone|here)", text, re.IGNORECASE)
    assert not re.match(r"(\d+\.|[-+]) ", text)


def check_discord(payloads: list[dict], digest: Digest) -> None:
    urls = []
    for payload in payloads:
        assert payload["allowed_mentions"] == {"parse": []}
        assert len(payload.get("content", "")) <= 2000
        assert payload.get("content") or payload.get("embeds")
        embeds = payload.get("embeds", [])
        assert len(embeds) <= 10 and sum(map(embed_chars, embeds)) <= 6000
        for embed in embeds:
            assert units(embed["title"]) <= 256 and units(embed["description"]) <= 4096
            assert embed["url"].startswith("https://arxiv.org/abs/")
            urls.append(embed["url"])
            if "thumbnail" in embed:
                assert embed["thumbnail"]["url"].startswith(("https://", "http://"))
            for f in embed.get("fields", []):
                assert 0 < units(f["name"]) <= 256 and 0 < units(f["value"]) <= 1024
        json.dumps(payload)
    assert urls == [i.paper.url for i in digest.items]


@pytest.mark.parametrize("day", DAYS)
def test_discord_real_days(day):
    digest = day_digest(day)
    payloads = discord_payloads(digest, archive_url=ARCHIVE)
    check_discord(payloads, digest)
    assert day in payloads[0]["content"] and f"<{ARCHIVE}>" in payloads[0]["content"]
    embed = payloads[0]["embeds"][0]
    assert embed["title"].startswith("1. ") or embed["title"][0].isdigit()
    assert "**What's New**: " in embed["description"]


def test_discord_60_papers_split():
    digest = big_digest()
    payloads = discord_payloads(digest)
    check_discord(payloads, digest)
    assert len(payloads) >= 6 and all(p["embeds"] for p in payloads)
    assert payloads[1]["content"].endswith(f"(2/{len(payloads)})")


def test_discord_hostile_text_is_inert():
    items = [hostile_item(t, rank=n) for n, t in enumerate(HOSTILE, 1)]
    digest = Digest(date=date(2024, 8, 26), items=tuple(items) + (failed_item(HOSTILE[1], 9),))
    payloads = discord_payloads(digest, archive_url="javascript:alert(1)")
    check_discord(payloads, digest)
    assert "javascript:alert(1)>" not in payloads[0]["content"]
    for payload in payloads:
        for embed in payload["embeds"]:
            title = embed["title"].split(". ", 1)[1]
            assert_discord_literal(title)
            for f in embed.get("fields", []):
                if f["name"] == "Authors":
                    assert_discord_literal(f["value"])
            for line in embed["description"].split("\n\n"):
                label, text = line.split("**: ", 1)
                assert_discord_literal(text)
    assert discord_unescape(payloads[0]["embeds"][1]["title"]) == f"2. {HOSTILE[1]}"


@fuzz
@given(title=texts, section=texts, author=texts)
def test_discord_any_text_is_inert(title, section, author):
    item = DigestItem(paper=paper(title=title, authors=(author,)), rank=1, upvotes=1,
                      summary=summary(whats_new=section))
    payloads = discord_payloads(one(item))
    check_discord(payloads, one(item))
    embed = payloads[0]["embeds"][0]
    shown_title = embed["title"].removeprefix("1. ")
    assert_discord_literal(shown_title)
    assert discord_unescape(shown_title) == (one_line(title) or "2408.12637")
    new = embed["description"].split("\n\n")[0].removeprefix("**What's New**: ")
    assert_discord_literal(new)
    assert discord_unescape(new) == one_line(section)
    authors = [f["value"] for f in embed.get("fields", []) if f["name"] == "Authors"]
    assert [discord_unescape(a) for a in authors] == ([one_line(author)] if one_line(author) else [])
    for a in authors:
        assert_discord_literal(a)


def test_discord_long_text_respects_limits():
    long = "Zażółć **gęślą** jaźń 😀 " * 600
    items = tuple(DigestItem(paper=paper(title=long, authors=tuple(long.split()[:9])), rank=n,
                             upvotes=1, summary=summary(whats_new=long, technical_details=long,
                                                        performance_highlights=long))
                  for n in range(1, 13))
    digest = Digest(date=date(2024, 8, 26), items=items)
    payloads = discord_payloads(digest)
    check_discord(payloads, digest)
    assert all(len(p["embeds"]) == 1 for p in payloads)  # each is close to 6,000
    assert payloads[0]["embeds"][0]["description"].count("…") == 3


# --- Telegram ------------------------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "a"}


class TelegramHTML(HTMLParser):
    """Checks tags and hrefs, balances, and collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        assert tag in ALLOWED_TAGS, f"tag {tag!r} is not allowed"
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
            href = attrs[0][1]
            assert href.startswith(("https://", "http://")), href
            self.hrefs.append(href)
            self.links.append((href, ""))
        else:
            assert attrs == []
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes nothing open"
        self.stack.pop()

    def handle_startendtag(self, tag, attrs):
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_data(self, data):
        self.text.append(data)
        if "a" in self.stack:
            href, seen = self.links[-1]
            self.links[-1] = (href, seen + data)

    def handle_comment(self, data):
        raise AssertionError("a comment")

    def handle_decl(self, decl):
        raise AssertionError("a declaration")


def parse_telegram(message: str) -> TelegramHTML:
    # Telegram knows only these entities by name; any other "&" must be escaped.
    assert not re.search(r"&(?!lt;|gt;|amp;|quot;|#\d+;|#x[0-9a-fA-F]+;)", message)
    parser = TelegramHTML()
    parser.feed(message)
    parser.close()
    assert parser.stack == [], "a tag is left open"
    assert parser.rawdata == ""
    return parser


def check_telegram(messages: list[str], digest: Digest) -> list[TelegramHTML]:
    assert messages and all(m.strip() for m in messages)
    parsed = []
    for message in messages:
        assert units(message) <= 4096
        parsed.append(parse_telegram(message))
    titles = [href for p in parsed for href, text in p.links if re.match(r"\d+\. ", text)]
    assert titles == [i.paper.url for i in digest.items]
    return parsed


@pytest.mark.parametrize("day", DAYS)
def test_telegram_real_days(day):
    digest = day_digest(day)
    messages = telegram_messages(digest, archive_url=ARCHIVE)
    parsed = check_telegram(messages, digest)
    assert messages[0].startswith(f"<b>Daily Papers ({day})</b>")
    assert parsed[-1].links[-1] == (ARCHIVE, ARCHIVE)
    visible = "".join(t for p in parsed for t in p.text)
    for item in digest.items:
        assert f"{item.rank}. {one_line(item.paper.title)}" in visible
        if item.summary:
            assert one_line(item.summary.sections.whats_new) in visible


def test_telegram_60_papers_split_between_papers():
    digest = big_digest()
    messages = telegram_messages(digest)
    check_telegram(messages, digest)
    assert len(messages) >= 5
    for n, message in enumerate(messages):
        # each message but the first starts with a paper's title, and holds whole papers
        if n:
            assert message.startswith('<b><a href="https://arxiv.org/abs/')
        blocks = message.split("\n\n")
        for block in blocks[1 if n == 0 else 0:]:
            assert block.startswith("<b><a href=") and "<b>What's New</b>" in block


def test_telegram_hostile_text_is_inert():
    items = [hostile_item(t, rank=n) for n, t in enumerate(HOSTILE, 1)]
    digest = Digest(date=date(2024, 8, 26), items=tuple(items) + (failed_item(HOSTILE[2], 9),))
    messages = telegram_messages(digest, archive_url="javascript:alert(1)")
    parsed = check_telegram(messages, digest)
    links = [link for p in parsed for link in p.links]
    assert all(href.startswith("https://arxiv.org/abs/") for href, _ in links)
    assert links[2][1] == f"3. {HOSTILE[2]}"
    visible = "".join(t for p in parsed for t in p.text)
    assert f"No summary: {HOSTILE[2]}" in visible


@fuzz
@given(title=texts, section=texts, author=texts, reason=texts,
       url=st.sampled_from(["https://github.com/a/b?x=1&y=\"2\"", "javascript:alert(1)",
                            'https://x.example/"><script>', "data:text/html,<b>", None]))
def test_telegram_any_text_is_inert(title, section, author, reason, url):
    item = DigestItem(paper=paper(title=title, authors=(author,), github_repo=url), rank=1,
                      upvotes=1, summary=summary(Verdict(status="unverified",
                                                         unsupported=(reason,)),
                                                 whats_new=section))
    digest = Digest(date=date(2024, 8, 26), items=(item, failed_item(reason)))
    messages = telegram_messages(digest, archive_url=url)
    parsed = check_telegram(messages, digest)
    assert parsed[0].links[0] == (item.paper.url, f"1. {one_line(title) or '2408.12637'}")
    visible = "".join(t for p in parsed for t in p.text)
    assert f"What's New: {one_line(section)}" in visible
    assert f"No summary: {one_line(reason) or 'no summary'}" in visible


def _long_paper(text: str) -> Digest:
    item = DigestItem(paper=paper(title="Long"), rank=1, upvotes=5,
                      summary=summary(whats_new=text, technical_details="Short one.",
                                      performance_highlights=text))
    return one(item)


@pytest.mark.parametrize("kind", ["sentences", "korean", "words", "no spaces", "astral", "escapes"])
def test_telegram_long_paper_is_cut_to_one_message_with_tags_balanced(kind):
    """A paper never takes more than one message: its long lines share the room, each
    cut one ends in "…", and the title links to the rest."""
    text = {
        "sentences": " ".join(f"Sentence number {n} says something about results." for n in range(400)),
        "korean": " ".join(f"이 논문은 새로운 방법 {n}번을 제안한다." for n in range(500)),
        "words": " ".join(f"word{n}" for n in range(3000)),
        "no spaces": "模型" * 6000,
        "astral": "😀" * 5000,
        "escapes": "<&> " * 3000,
    }[kind]
    digest = _long_paper(text)
    messages = telegram_messages(digest)
    parsed = check_telegram(messages, digest)
    assert len(messages) == 2  # the heading, then the paper
    assert parsed[1].links[0] == ("https://arxiv.org/abs/2408.12637", "1. Long")
    lines = "".join(parsed[1].text).split("\n")
    assert lines[3] == "Technical Details: Short one."
    for line, label in ((lines[2], "What's New: "), (lines[4], "Performance Highlights: ")):
        kept = line.removeprefix(label)
        assert kept.endswith("…") and len(kept) > 500
        assert text.startswith(kept[:-1].rstrip())
    if kind == "words":  # no word is cut
        assert lines[2].split()[-1].removesuffix("…") in text.split()


def test_telegram_long_title_is_clipped_and_authors_shortened():
    item = DigestItem(paper=paper(title="T" * 3000, authors=tuple("ABCDEFGH")), rank=1,
                      upvotes=None, summary=summary())
    messages = telegram_messages(one(item))
    parsed = check_telegram(messages, one(item))
    assert len(messages) == 1
    assert parsed[0].links[0][1] == "1. " + "T" * 499 + "…"
    assert "Authors: A, B, C et al." in "".join(parsed[0].text)
    assert "Vote" not in "".join(parsed[0].text)


def test_empty_digest():
    digest = Digest(date=date(2024, 8, 26), items=())
    assert telegram_messages(digest) == ["<b>Daily Papers (2024-08-26)</b> · 0 papers\nNo papers."]
    assert len(slack_payloads(digest)) == 1 and len(discord_payloads(digest)) == 1
    assert discord_payloads(digest)[0]["content"].endswith("No papers.")


def test_failure_note_and_warning_in_every_format():
    verdict = Verdict(status="unverified", unsupported=("99.9% accuracy",))
    items = (DigestItem(paper=paper(), rank=1, upvotes=2, summary=summary(verdict)),
             failed_item("the model refused"))
    digest = Digest(date=date(2024, 8, 26), items=items, kind="ids")
    tg = "".join(t for m in telegram_messages(digest) for t in parse_telegram(m).text)
    slack = json.dumps(slack_payloads(digest), ensure_ascii=False)
    discord = json.dumps(discord_payloads(digest), ensure_ascii=False)
    for text in (tg, slack, discord):
        assert "arXiv Papers (2024-08-26)" in text
        assert "Unverified summary" in text and "“99.9% accuracy”" in text
        assert "No summary" in text and "the model refused" in text
        assert "An abstract." in text
