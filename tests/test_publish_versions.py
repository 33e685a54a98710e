"""Digest versions: stable Message-IDs, incomplete digests refused, corrections sent once."""

from __future__ import annotations

import email
import re
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from digests import fixture_digest
from papergist.deliver.updates import digest_version
from papergist.exits import exit_status
from papergist.models import Digest, PaperFailure, Usage
from papergist.publish import IncompleteDigest
from papergist.render.chat import discord_payloads, slack_payloads, telegram_messages
from papergist.render.html import day_path
from papergist.settings import load_settings
from test_publish_deliveries import DAY, env, hooks, run, settings, store  # noqa: F401 (fixtures)

FAILED = (1, 4)  # positions of the papers without a summary in the first build


class Inbox:
    """An SMTP handler keeping every message; it answers 451 to the first `refuse` ones."""

    def __init__(self, refuse: int = 0):
        self.messages, self.refused, self.refuse = [], [], refuse

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        if len(self.refused) < self.refuse:
            self.refused.append(message)
            return "451 4.3.0 try again later"
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox(refuse=1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def mail_settings(env, smtp):  # noqa: F811 (env is a fixture)
    return load_settings(env={**env, "PAPERGIST_SMTP_HOST": "127.0.0.1",
                              "PAPERGIST_SMTP_PORT": str(smtp.port), "PAPERGIST_SMTP_TLS": "none",
                              "PAPERGIST_EMAIL_FROM": "papergist@example.org",
                              "PAPERGIST_EMAIL_TO": "reader@example.org"})


def first_build() -> Digest:
    """The day's digest as first built: two papers failed to summarize."""
    corrected = fixture_digest(DAY)
    items = list(corrected.items)
    for n in FAILED:
        failure = PaperFailure(paper_id=items[n].paper.id, stage="summarize",
                               reason="the model timed out")
        items[n] = items[n].model_copy(update={"summary": None, "failure": failure})
    return corrected.model_copy(update={"items": tuple(items)})


def test_a_retried_email_keeps_its_message_id(mail_settings, store, smtp):  # noqa: F811
    [result] = run(mail_settings, store, fixture_digest(DAY), ["email"])
    assert (result.status, result.attempts) == ("delivered", 2)
    [refused], [sent] = smtp.refused, smtp.messages
    assert refused["Message-ID"] == sent["Message-ID"]
    assert re.fullmatch(r"<papergist\.[0-9a-f]{32}@example\.org>", sent["Message-ID"])


def test_a_corrected_digest_is_a_new_email_in_the_same_thread(mail_settings, store,  # noqa: F811
                                                              smtp):
    smtp.refuse = 0
    assert run(mail_settings, store, first_build(), ["email"])[0].status == "delivered"
    [skipped] = run(mail_settings, store, fixture_digest(DAY), ["email"])
    assert skipped.status == "skipped" and "--if-changed" in skipped.error
    [updated] = run(mail_settings, store, fixture_digest(DAY), ["email"], if_changed=True)
    assert updated.status == "updated" and updated.version == digest_version(fixture_digest(DAY))
    first, second = smtp.messages
    assert second["Message-ID"] != first["Message-ID"]
    assert second["In-Reply-To"] == second["References"] == first["Message-ID"]
    assert second["Subject"] == f"Updated: {first['Subject']}"
    [again] = run(mail_settings, store, fixture_digest(DAY), ["email"], if_changed=True)
    assert again.status == "skipped" and len(smtp.messages) == 2


@pytest.mark.parametrize("items", ["failed", "none"])
def test_a_digest_without_any_summary_is_refused_unless_allowed(settings, store,  # noqa: F811
                                                                hooks, items):
    digest = first_build()
    if items == "failed":
        failed = [i.model_copy(update={"summary": None, "failure": PaperFailure(
            paper_id=i.paper.id, stage="summarize", reason="no model")}) for i in digest.items]
        digest = digest.model_copy(update={"items": tuple(failed)})
        what = "has no summarized paper (all 11 failed)"
    else:
        digest = digest.model_copy(update={"items": ()})
        what = "has no papers"
    with pytest.raises(IncompleteDigest) as refused:
        run(settings, store, digest, ["slack", "telegram"])
    assert str(refused.value) == (
        f"the {DAY} digest {what}: nothing was sent. Run papergist digest {DAY} again to "
        "summarize it, or publish it as it is with allow_incomplete=True (--allow-incomplete)")
    assert exit_status(refused.value) == 7 and hooks.requests == []
    assert store.delivery(digest.date, "en", "telegram", "chat @papers") is None
    sent = run(settings, store, digest, ["slack", "telegram"], allow_incomplete=True)
    assert [r.status for r in sent] == ["delivered", "delivered"]


def _rendered(channel: str, digest: Digest) -> list[object]:
    archive = f"https://papers.example.org/{day_path(digest.date)}"
    if channel == "slack":
        return slack_payloads(digest, archive_url=archive)
    if channel == "discord":
        return discord_payloads(digest, archive_url=archive)
    return [{"chat_id": "@papers", "text": text, "parse_mode": "HTML",
             "disable_web_page_preview": True}
            for text in telegram_messages(digest, archive_url=archive)]


NOTICE = ("Updated digest for 2024-08-26: 11 of 11 papers now summarized (was 9); "
          "2 changed papers follow.")


@pytest.mark.parametrize("channel, notice", [
    ("slack", {"text": NOTICE}),
    ("discord", {"content": NOTICE, "allowed_mentions": {"parse": []}}),
    ("telegram", {"chat_id": "@papers", "text": NOTICE, "parse_mode": "HTML",
                  "disable_web_page_preview": True}),
])
def test_a_corrected_digest_is_a_follow_up_in_chat(settings, store, hooks,  # noqa: F811
                                                   channel, notice):
    got = hooks.channels[channel].accepted
    first, corrected = first_build(), fixture_digest(DAY)
    assert run(settings, store, first, [channel])[0].status == "delivered"
    assert got == _rendered(channel, first)
    [skipped] = run(settings, store, corrected, [channel])
    assert skipped.status == "skipped" and len(got) == len(_rendered(channel, first))
    [updated] = run(settings, store, corrected, [channel], if_changed=True)
    assert updated.status == "updated"
    fixed = Digest(date=corrected.date, items=tuple(corrected.items[n] for n in FAILED))
    assert got[len(_rendered(channel, first)):] == [notice, *_rendered(channel, fixed)]
    count = len(got)
    [again] = run(settings, store, corrected, [channel], if_changed=True)
    assert again.status == "skipped" and len(got) == count


def test_a_delivery_recorded_before_versions_is_not_sent_again(settings, store,  # noqa: F811
                                                               hooks):
    digest = fixture_digest(DAY)
    legacy = {"day": DAY, "language": "en", "channel": "telegram", "destination": "chat @papers",
              "status": "delivered", "attempts": 1, "error": None, "updated_at": "2024-08-27"}
    with store.engine.begin() as conn:  # a row as migration 0004 left it: no version
        conn.execute(store.t["deliveries"].insert().values(**legacy))
    for if_changed in (False, True):
        [result] = run(settings, store, digest, ["telegram"], if_changed=if_changed)
        assert (result.status, result.error) == (
            "skipped", "delivered before digest versions were recorded")
    assert hooks.requests == []


def test_a_dry_run_says_an_update_would_be_sent(settings, store, hooks):  # noqa: F811
    assert run(settings, store, first_build(), ["slack"])[0].status == "delivered"
    sent = len(hooks.requests)
    [preview] = run(settings, store, fixture_digest(DAY), ["slack"], if_changed=True,
                    dry_run=True)
    assert preview.status == "dry-run"
    assert preview.error.startswith("slack: an update, 2 message(s) to 127.0.0.1 webhook ")
    assert len(hooks.requests) == sent


def test_a_version_is_what_readers_are_sent_not_run_bookkeeping():
    """A re-run that only refreshed votes, tokens, attempts and times is no correction."""
    digest = fixture_digest("2024-08-26")
    rerun = digest.model_copy(update={"items": tuple(
        item.model_copy(update={"upvotes": (item.upvotes or 0) + 5, "attempts": 3,
                                "summary": item.summary.model_copy(
                                    update={"usage": Usage(prompt_tokens=9)})})
        for item in digest.items)})
    assert digest_version(rerun) == digest_version(digest)
    first = digest.items[0]
    edited = digest.model_copy(update={"items": (first.model_copy(update={
        "summary": first.summary.model_copy(update={"sections": first.summary.sections
                                                    .model_copy(update={"whats_new": "x"})})}),
        *digest.items[1:])})
    assert digest_version(edited) != digest_version(digest)
