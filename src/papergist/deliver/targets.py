"""The destinations of each channel, built from settings: what to send and how.

A `Target` turns a digest into its messages (`parts`) and posts one message at a
time (`post`), so the publisher can record each message the destination accepted
and resume at the first one it did not. Destinations are named redacted: a
webhook URL or a token never appears in `Target.destination`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any, Callable
from urllib.parse import urlsplit

from papergist.deliver.transports import MESSAGE_GAP, feishu_answer, post_json, send_email
from papergist.deliver.updates import changes, update_notice
from papergist.errors import ConfigError
from papergist.models import Digest
from papergist.render.chat import (
    discord_escape,
    discord_payloads,
    slack_escape,
    slack_payloads,
    telegram_messages,
)
from papergist.render.email import message_id, render_email
from papergist.render.feishu import feishu_notice, feishu_payloads
from papergist.render.html import day_path
from papergist.settings import Settings
from papergist.store.deliveries import DeliveryKey

CHANNELS = ("email", "slack", "discord", "telegram", "feishu")


@dataclass(frozen=True)
class Plan:
    """What one delivery sends: `version` of the digest to the destination `key`.

    `base` is the digest the destination already got (then only what changed is
    sent), `thread` the Message-ID of the first email sent to it.
    """

    key: DeliveryKey
    version: str
    base: Digest | None = None
    thread: str | None = None


@dataclass(frozen=True)
class Target:
    """One destination of one channel: how to preview it, split it, and send one message."""

    channel: str
    destination: str  # redacted: safe to store and print
    preview: Callable[[Digest], str]
    parts: Callable[[Digest, Plan], list[Any]]
    post: Callable[[Any], None]
    gap: float = MESSAGE_GAP  # seconds between two messages
    thread_of: Callable[[Any], str | None] = lambda part: None


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:10]


def _need(settings: Settings, channel: str, *names: str) -> None:
    missing = [n for n in names if not getattr(settings, n)]
    if missing:
        envs = ", ".join(f"PAPERGIST_{n.upper()}" for n in missing)
        raise ConfigError(f"--to {channel} needs {', '.join(missing)}: set {envs} "
                          "or put them in the config file")


def _archive(settings: Settings, digest: Digest) -> str | None:
    """The digest's page in the archive (the archive has days only)."""
    if not settings.site_url or digest.kind != "daily":
        return None
    return f"{settings.site_url}/{day_path(digest.date)}"


def email_target(settings: Settings) -> Target:
    """The email channel, from the smtp_* and email_* settings."""
    _need(settings, "email", "smtp_host", "email_from", "email_to")
    to = [a.strip() for a in settings.email_to.split(",") if a.strip()]
    destination = f"{','.join(to)} via {settings.smtp_host}"
    domain = settings.email_from.rpartition("@")[2] or None

    def message(digest: Digest, mid: str | None = None) -> EmailMessage:
        return render_email(digest, sender=settings.email_from, to=to,
                            archive_url=_archive(settings, digest),
                            date=datetime.now(timezone.utc), message_id=mid)

    def parts(digest: Digest, plan: Plan) -> list[Any]:
        key = plan.key
        mid = message_id(key.label, key.language, key.channel, key.destination,
                         plan.version, domain=domain)
        email = message(digest, mid)
        if plan.base is not None:
            email.replace_header("Subject", f"Updated: {email['Subject']}")
            if plan.thread:
                email["In-Reply-To"] = email["References"] = plan.thread
        return [email]

    def post(email: EmailMessage) -> None:
        send_email(email, host=settings.smtp_host, port=settings.smtp_port,
                   tls=settings.smtp_tls, user=settings.smtp_user,
                   password=settings.smtp_password, timeout=settings.http_timeout)

    return Target("email", destination,
                  lambda d: f"email {message(d)['Subject']!r} to {', '.join(to)}", parts, post,
                  thread_of=lambda email: email["Message-ID"])


def _chat_target(channel: str, url: str, destination: str, settings: Settings,
                 render: Callable[[Digest, str | None], list[dict[str, Any]]],
                 notice: Callable[[str], dict[str, Any]], where: str,
                 send: Callable[[dict[str, Any]], None] | None = None) -> Target:
    """A chat channel: the digest's messages, or a notice and the changed papers;
    `send` posts one (default: as it is, to `url`)."""

    def parts(digest: Digest, plan: Plan) -> list[Any]:
        archive = _archive(settings, digest)
        if plan.base is None:
            return render(digest, archive)
        changed = changes(plan.base, digest)
        return [notice(update_notice(plan.base, digest))] + (
            render(changed, archive) if changed.items else [])

    def post(body: dict[str, Any]) -> None:
        post_json(channel, url, [body], timeout=settings.http_timeout)

    def preview(digest: Digest) -> str:
        return f"{channel}: {len(render(digest, _archive(settings, digest)))} message(s) to {where}"

    return Target(channel, destination, preview, parts, send or post)


def _discord_url(url: str) -> str:
    """Discord confirms each message only when asked to wait for it."""
    return url if "wait=" in url else f"{url}{'&' if '?' in url else '?'}wait=true"


def slack_target(settings: Settings) -> Target:
    """The Slack channel: an incoming webhook."""
    _need(settings, "slack", "slack_webhook_url")
    url = settings.slack_webhook_url
    host = urlsplit(url).hostname or "?"
    return _chat_target("slack", url, f"{host} webhook {_fingerprint(url)}", settings,
                        lambda d, a: slack_payloads(d, archive_url=a),
                        lambda text: {"text": slack_escape(text)}, host)


def discord_target(settings: Settings) -> Target:
    """The Discord channel: a webhook, asked to confirm each message."""
    _need(settings, "discord", "discord_webhook_url")
    url = _discord_url(settings.discord_webhook_url)
    host = urlsplit(url).hostname or "?"
    return _chat_target("discord", url, f"{host} webhook {_fingerprint(url)}", settings,
                        lambda d, a: discord_payloads(d, archive_url=a),
                        lambda text: {"content": discord_escape(text),
                                      "allowed_mentions": {"parse": []}}, host)


def telegram_target(settings: Settings) -> Target:
    """The Telegram channel: a bot posting to one chat."""
    _need(settings, "telegram", "telegram_bot_token", "telegram_chat_id")
    url = f"{settings.telegram_api_url}/bot{settings.telegram_bot_token}/sendMessage"
    chat = settings.telegram_chat_id

    def body(text: str) -> dict[str, Any]:
        return {"chat_id": chat, "text": text, "parse_mode": "HTML",
                "disable_web_page_preview": True}

    return _chat_target("telegram", url, f"chat {chat}", settings,
                        lambda d, a: [body(t) for t in telegram_messages(d, archive_url=a)],
                        lambda text: body(html.escape(text)), f"chat {chat}")


def feishu_signature(secret: str, now: float) -> dict[str, str]:
    """The fields a custom bot with signature checking needs: the time in seconds, and
    the base64 HMAC-SHA256 of nothing under the key "{timestamp}\n{secret}"."""
    timestamp = str(int(now))
    key = f"{timestamp}\n{secret}".encode("utf-8")
    return {"timestamp": timestamp,
            "sign": base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()}


def feishu_target(settings: Settings) -> Target:
    """The Feishu (Lark) channel: a group's custom bot, each message signed when the bot
    checks signatures (`feishu_secret`), at the moment it is sent."""
    _need(settings, "feishu", "feishu_webhook_url")
    url, secret = settings.feishu_webhook_url, settings.feishu_secret
    host = urlsplit(url).hostname or "?"

    def send(body: dict[str, Any]) -> None:
        signed = {**feishu_signature(secret, time.time()), **body} if secret else body
        post_json("feishu", url, [signed], timeout=settings.http_timeout, answer=feishu_answer)

    return _chat_target("feishu", url, f"{host} bot {_fingerprint(url)}", settings,
                        lambda d, a: feishu_payloads(d, archive_url=a), feishu_notice, host,
                        send)


_BUILDERS = {"email": email_target, "slack": slack_target, "discord": discord_target,
             "telegram": telegram_target, "feishu": feishu_target}


def targets(settings: Settings, channels: list[str]) -> list[Target]:
    """The destinations of the asked channels, checked before anything is sent."""
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ConfigError(f"unknown channel(s) {', '.join(unknown)}: use {', '.join(CHANNELS)}")
    return [_BUILDERS[channel](settings) for channel in channels]
