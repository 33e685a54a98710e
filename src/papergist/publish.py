"""Publishing a stored digest to channels, each destination exactly once.

A delivery is recorded in the store only after the destination accepted it; a
re-run skips what was delivered and retries what failed. (A crash in the
instant between a destination's acceptance and the record could still repeat
that one destination: the record is written at once, with nothing in between.)
Destinations are recorded redacted: a webhook URL or a token never reaches the
store, the report or an error message.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import make_msgid
from typing import Callable
from urllib.parse import urlsplit

from papergist.deliver.transports import DeliveryError, post_json, send_email
from papergist.errors import ConfigError
from papergist.models import Digest
from papergist.render.chat import discord_payloads, slack_payloads, telegram_messages
from papergist.render.email import render_email
from papergist.render.html import day_path
from papergist.settings import Settings
from papergist.store import Store

CHANNELS = ("email", "slack", "discord", "telegram")
ATTEMPTS = 3


@dataclass(frozen=True)
class Target:
    """One destination of one channel: how to preview it and how to send to it."""

    channel: str
    destination: str  # redacted: safe to store and print
    preview: Callable[[Digest], str]
    send: Callable[[Digest], None]


@dataclass(frozen=True)
class Delivery:
    """What became of one destination in this run."""

    channel: str
    destination: str
    status: str  # delivered | skipped | failed | dry-run
    attempts: int = 0
    error: str | None = None


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:10]


def _need(settings: Settings, channel: str, *names: str) -> None:
    missing = [n for n in names if not getattr(settings, n)]
    if missing:
        envs = ", ".join(f"PAPERGIST_{n.upper()}" for n in missing)
        raise ConfigError(f"--to {channel} needs {', '.join(missing)}: set {envs} "
                          "or put them in the config file")


def _archive(settings: Settings, digest: Digest) -> str | None:
    if not settings.site_url:
        return None
    return f"{settings.site_url}/{day_path(digest.date)}"


def email_target(settings: Settings) -> Target:
    """The email channel, from the smtp_* and email_* settings."""
    _need(settings, "email", "smtp_host", "email_from", "email_to")
    to = [a.strip() for a in settings.email_to.split(",") if a.strip()]

    def message(digest: Digest):
        domain = settings.email_from.rpartition("@")[2] or None
        return render_email(digest, sender=settings.email_from, to=to,
                            archive_url=_archive(settings, digest),
                            date=datetime.now(timezone.utc),
                            message_id=make_msgid(f"papergist.{digest.date}", domain=domain))

    def send(digest: Digest) -> None:
        send_email(message(digest), host=settings.smtp_host, port=settings.smtp_port,
                   tls=settings.smtp_tls, user=settings.smtp_user,
                   password=settings.smtp_password, timeout=settings.http_timeout)

    return Target("email", f"{','.join(to)} via {settings.smtp_host}",
                  lambda d: f"email {message(d)['Subject']!r} to {', '.join(to)}", send)


def _webhook_target(channel: str, url: str, render: Callable[..., list[dict]],
                    settings: Settings) -> Target:
    host = urlsplit(url).hostname or "?"

    def send(digest: Digest) -> None:
        post_json(channel, url, render(digest, archive_url=_archive(settings, digest)),
                  timeout=settings.http_timeout)

    def preview(digest: Digest) -> str:
        bodies = render(digest, archive_url=_archive(settings, digest))
        return f"{channel}: {len(bodies)} message(s) to {host}"

    return Target(channel, f"{host} webhook {_fingerprint(url)}", preview, send)


def _discord_url(url: str) -> str:
    """Discord confirms each message only when asked to wait for it."""
    return url if "wait=" in url else f"{url}{'&' if '?' in url else '?'}wait=true"


def telegram_target(settings: Settings) -> Target:
    """The Telegram channel: a bot posting to one chat."""
    _need(settings, "telegram", "telegram_bot_token", "telegram_chat_id")
    url = f"{settings.telegram_api_url}/bot{settings.telegram_bot_token}/sendMessage"

    def bodies(digest: Digest) -> list[dict]:
        return [{"chat_id": settings.telegram_chat_id, "text": text, "parse_mode": "HTML",
                 "disable_web_page_preview": True}
                for text in telegram_messages(digest, archive_url=_archive(settings, digest))]

    def send(digest: Digest) -> None:
        post_json("telegram", url, bodies(digest), timeout=settings.http_timeout)

    return Target("telegram", f"chat {settings.telegram_chat_id}",
                  lambda d: f"telegram: {len(bodies(d))} message(s) to chat "
                            f"{settings.telegram_chat_id}", send)


def targets(settings: Settings, channels: list[str]) -> list[Target]:
    """The destinations of the asked channels, checked before anything is sent."""
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ConfigError(f"unknown channel(s) {', '.join(unknown)}: use {', '.join(CHANNELS)}")
    found = []
    for channel in channels:
        if channel == "email":
            found.append(email_target(settings))
        elif channel == "telegram":
            found.append(telegram_target(settings))
        else:
            url = getattr(settings, f"{channel}_webhook_url")
            _need(settings, channel, f"{channel}_webhook_url")
            if channel == "slack":
                found.append(_webhook_target(channel, url, slack_payloads, settings))
            else:
                found.append(_webhook_target(channel, _discord_url(url), discord_payloads,
                                             settings))
    return found


def publish(digest: Digest, language: str, found: list[Target], store: Store, *,
            dry_run: bool = False, backoff: float = 1.0,
            sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """Deliver `digest` to every target not yet delivered; record each outcome."""
    results = []
    for target in found:
        done = store.delivery(digest.date, language, target.channel, target.destination)
        if done and done["status"] == "delivered":
            results.append(Delivery(target.channel, target.destination, "skipped"))
        elif dry_run:
            results.append(Delivery(target.channel, target.destination, "dry-run",
                                    error=target.preview(digest)))
        else:
            results.append(_deliver(digest.date, language, target, digest, store, backoff, sleep))
    return results


def _deliver(day: date, language: str, target: Target, digest: Digest, store: Store,
             backoff: float, sleep: Callable[[float], None]) -> Delivery:
    previous = store.delivery(day, language, target.channel, target.destination)
    attempts = previous["attempts"] if previous else 0
    for attempt in range(1, ATTEMPTS + 1):
        attempts += 1
        try:
            target.send(digest)
        except DeliveryError as exc:
            error = str(exc)
            if not exc.retryable or attempt == ATTEMPTS:
                store.record_delivery(day, language, target.channel, target.destination,
                                      "failed", attempts, error)
                return Delivery(target.channel, target.destination, "failed", attempts, error)
            sleep(backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            continue
        store.record_delivery(day, language, target.channel, target.destination,
                              "delivered", attempts)
        return Delivery(target.channel, target.destination, "delivered", attempts)
    raise AssertionError("unreachable")
