"""The verdict note in every format (issue 15 item 8): an unchecked summary says so,
visibly, and is never called verified; an off-topic one is unverified with its reason."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

import pytest

from papergist.models import Digest, DigestItem, Paper, Sections, Summary, Verdict
from papergist.render.atom import render_atom
from papergist.render.chat import discord_payloads, slack_payloads, telegram_messages
from papergist.render.common import NOTHING_CHECKED, OFF_TOPIC, UNCHECKED, verdict_note
from papergist.render.email import render_email
from papergist.render.html import render_entry_html, render_html, render_paper_html
from papergist.render.json_digest import render_json
from papergist.render.markdown import render_markdown

DAY = date(2024, 8, 26)
VERIFIED_WORD = re.compile(r"\bverified\b", re.I)
UNCHECKED_VERDICT = Verdict(status="unchecked", checked=0, generic=True)
OFF_TOPIC_VERDICT = Verdict(status="unverified", checked=1, off_topic=True, overlap=0.0,
                            unsupported=("PWNED",))


def digest(verdict: Verdict | None) -> Digest:
    paper = Paper(id="2408.12637", title="Ferret: Faster Red Teaming", abstract="We propose Ferret.",
                  authors=("A. Author",))
    summary = Summary(paper_id=paper.id, sections=Sections(
        whats_new="PWNED", technical_details="PWNED", performance_highlights="PWNED"),
        summarizer="openai", model="fake-gpt", language="en", prompt_version="1",
        source="abstract", source_hash="x", verification=verdict)
    return Digest(date=DAY, items=(DigestItem(paper=paper, rank=1, upvotes=3, summary=summary),))


def _email(d: Digest) -> str:
    message = render_email(d, sender="a@example.org", to=["b@example.org"])
    return "\n".join(part.get_content() for part in message.iter_parts())


FORMATS = {
    "markdown": render_markdown,
    "json": render_json,
    "html-day": render_html,
    "html-paper": lambda d: render_paper_html(d.items[0], d),
    "html-entry": lambda d: render_entry_html(d.items[0], d.date),
    "atom": lambda d: render_atom([d], feed_url="https://example.org/feed.xml",
                                  site_url="https://example.org"),
    "email": _email,
    "slack": lambda d: json.dumps(slack_payloads(d), ensure_ascii=False),
    "discord": lambda d: json.dumps(discord_payloads(d), ensure_ascii=False),
    "telegram": lambda d: "\n".join(telegram_messages(d)),
}


def shown(fmt: str, verdict: Verdict | None) -> str:
    """The rendered text with markup entities undone and Markdown escapes dropped."""
    return unescape(unescape(FORMATS[fmt](digest(verdict)))).replace("\\", "")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_an_unchecked_summary_shows_its_note_and_is_never_called_verified(fmt):
    text = shown(fmt, UNCHECKED_VERDICT)
    if fmt == "json":
        assert json.loads(text)["papers"][0]["verification"]["status"] == "unchecked"
    else:
        assert UNCHECKED in text and NOTHING_CHECKED in text
    assert not VERIFIED_WORD.search(text)


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"json"}))
def test_an_off_topic_summary_is_unverified_with_its_reason(fmt):
    text = shown(fmt, OFF_TOPIC_VERDICT)
    assert "Unverified summary" in text and OFF_TOPIC in text and UNCHECKED not in text


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"json"}))
@pytest.mark.parametrize("verdict", [
    Verdict(status="verified", checked=2), None,
    UNCHECKED_VERDICT.model_copy(update={"warn": False})])
def test_no_note_when_verified_or_kept_without_warning(fmt, verdict):
    text = shown(fmt, verdict)
    assert UNCHECKED not in text and "Unverified summary" not in text


def test_the_note_reads_the_same_everywhere():
    note = verdict_note(Verdict(status="unverified", checked=2, unsupported=("42.7%", "\x00Foo")))
    assert note.label == "Unverified summary" and note.text() == (
        "not found in the paper: “42.7%”, “Foo”")
    generic = verdict_note(Verdict(status="unverified", checked=1, generic=True))
    assert generic.text() == "it names nothing specific to this paper"
