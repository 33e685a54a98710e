"""Huge fields at the door: each text field clipped to a stated limit when it enters,
its original length kept; every chat renderer gives one paper at most one message."""

from __future__ import annotations

from datetime import date

import pytest

from fakes import entry_as, feed, load_day, real_entries, NS
from papergist.models import Digest, Paper
from papergist.render.chat import (DISCORD_EMBEDS_TOTAL, TELEGRAM_LIMIT, discord_payloads,
                                   embed_length, slack_payloads, telegram_messages, utf16_len)
from papergist.render.email import render_email
from papergist.settings import load_settings
from papergist.sources.arxiv import read_feed
from papergist.sources.hf_daily import parse_entry
from papergist.sources.text import (MAX_ABSTRACT, MAX_AUTHOR, MAX_AUTHORS, MAX_TITLE, MAX_URL,
                                    bounded)
from papergist.store import Store

DAY = "2024-08-26"
FIVE_MB = ("We study things. " * 300_000)[:5_000_000]


def base(**kw) -> Paper:
    return Paper(**{"id": "2408.12637", "title": "T", "abstract": "A.", "authors": ("A",), **kw})


def test_an_untouched_paper_is_the_same_and_dumps_as_before():
    paper = base()
    assert bounded(paper) is paper and paper.clipped == ()
    assert "clipped" not in paper.model_dump() and "clipped" not in paper.model_dump_json()


def test_a_5_mb_abstract_is_clipped_and_its_length_kept():
    paper = bounded(base(abstract=FIVE_MB))
    assert len(paper.abstract) == MAX_ABSTRACT == 20_000
    assert paper.abstract.endswith("things.…") or paper.abstract.endswith("…")
    assert FIVE_MB.startswith(paper.abstract[:-1])
    assert paper.clipped == (("abstract", 5_000_000),)
    assert "clipped" not in paper.model_dump()  # the store and the JSON digest are unchanged


@pytest.mark.parametrize("field, value, check, original", [
    ("title", "T" * 5000, lambda p: len(p.title) == MAX_TITLE == 1000, 5000),
    ("authors", ("N" * 10_000, "B"), lambda p: p.authors == ("N" * 299 + "…", "B"), 10_000),
    ("authors", tuple(f"A{n}" for n in range(9000)), lambda p: len(p.authors) == MAX_AUTHORS, 9000),
    ("organization", "O" * 400, lambda p: len(p.organization) == 300, 400),
    ("ai_summary", "S" * 6000, lambda p: len(p.ai_summary) == 5000, 6000),
    ("ai_keywords", ("k" * 200,), lambda p: p.ai_keywords == ("k" * 99 + "…",), 200),
    ("ai_keywords", ("k",) * 150, lambda p: len(p.ai_keywords) == 100, 150),
    ("thumbnail", "https://x/" + "a" * MAX_URL, lambda p: p.thumbnail is None, MAX_URL + 10),
    ("github_repo", "https://g/" + "a" * MAX_URL, lambda p: p.github_repo is None, MAX_URL + 10),
    ("project_page", "https://p/" + "a" * MAX_URL, lambda p: p.project_page is None, MAX_URL + 10),
    ("media_urls", ("https://m/",) * 25, lambda p: len(p.media_urls) == 20, 25),
])
def test_every_field_has_a_limit(field, value, check, original):
    paper = bounded(base(**{field: value}))
    assert check(paper)
    assert paper.clipped == ((field, original),)
    assert MAX_AUTHOR == 300


def test_the_hf_feed_clips_when_an_entry_enters():
    entry = load_day(DAY)[0]
    entry["paper"]["summary"] = FIVE_MB
    entry["paper"]["title"] = "Title " * 1000
    paper = parse_entry(entry, 0).paper
    assert len(paper.abstract) == 20_000 and len(paper.title) == 1000
    assert dict(paper.clipped) == {"abstract": 5_000_000, "title": 5999}


def test_the_arxiv_feed_clips_when_an_entry_enters():
    entry = entry_as(real_entries()[0], "2408.12637v1")
    entry.find("a:summary", NS).text = FIVE_MB
    paper = read_feed(feed([entry])).papers[0]
    assert len(paper.abstract) == 20_000 and dict(paper.clipped) == {"abstract": 5_000_000}


def day_digest(cli, tmp_path, fake_hf, abstract: str | None) -> Digest:
    """The stored digest of the recorded day, its first paper given `abstract`."""
    raw = load_day(DAY)
    if abstract is not None:
        raw[0]["paper"]["summary"] = abstract
    fake_hf.days = {DAY: raw}
    code, _, err = cli("digest", DAY)
    assert code == 0, err
    store = Store.open(load_settings(env={"PAPERGIST_HOME": str(tmp_path / "home")}).db_path)
    try:
        return store.load_digest(date.fromisoformat(DAY), "en")
    finally:
        store.close()


def counts(digest: Digest) -> tuple[int, int, int, int]:
    email = render_email(digest, sender="a@example.org", to=["b@example.org"])
    shown = email.get_body(("plain",)).get_content().count("https://arxiv.org/abs/")
    return (len(telegram_messages(digest)), len(slack_payloads(digest)),
            len(discord_payloads(digest)), shown)


ONE_SENTENCE = "word " * 1_000_000  # 5 MB with no sentence end


@pytest.mark.parametrize("abstract, expected", [
    (None, (3, 1, 2, 11)),  # the day as recorded
    (FIVE_MB, (3, 1, 2, 11)),  # clipped to 20,000; the summary quotes short sentences
    (ONE_SENTENCE, (5, 1, 3, 11)),  # one 20,000-character sentence: that paper fills a message
], ids=["real", "5mb", "5mb-one-sentence"])
def test_an_11_paper_day_with_a_5_mb_abstract_stays_small(cli, tmp_path, fake_hf, abstract,
                                                           expected):
    """(telegram messages, slack payloads, discord payloads, papers in the email)."""
    digest = day_digest(cli, tmp_path, fake_hf, abstract)
    assert len(digest.items) == 11
    assert counts(digest) == expected


def test_each_paper_fits_one_message_in_every_chat(cli, tmp_path, fake_hf):
    digest = day_digest(cli, tmp_path, fake_hf, ONE_SENTENCE)
    hostile = next(i for i in digest.items if len(i.paper.abstract) == MAX_ABSTRACT)
    assert len(hostile.summary.sections.whats_new) == 20_000
    for item in digest.items:
        alone = digest.model_copy(update={"items": (item,)})
        messages = telegram_messages(alone)
        assert len(messages) <= 2 and messages[-1].count('<b><a href="https://arxiv.org/abs/') == 1
        assert all(utf16_len(m) <= TELEGRAM_LIMIT for m in messages)
        assert len(slack_payloads(alone)) == 1
        (payload,) = discord_payloads(alone)
        assert embed_length(payload["embeds"][0]) <= DISCORD_EMBEDS_TOTAL
    tg = telegram_messages(digest.model_copy(update={"items": (hostile,)}))
    assert len(tg) == 2 and "…" in tg[1] and utf16_len(tg[1]) > TELEGRAM_LIMIT - 100
