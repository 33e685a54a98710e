"""Publishing a stored digest to channels: each message to each destination exactly once.

For each destination, `publish`

1. claims it in one write transaction (see `papergist.deliver.claims`): a second
   publisher running at the same time skips it ("in-progress"), and a claim left
   by a killed process is reported as "unknown" until `resend=True`;
2. splits the digest into its messages (a long digest is several chat messages)
   and posts those not yet accepted, recording each one in the store as soon as
   the destination accepts it, so a retry -- in this run or a later one, after a
   crash -- resumes at the first message not accepted, never at the first one;
3. records the digest version (a hash of its body) the destination got. With
   `if_changed=True`, a destination that got an earlier version gets what changed:
   a follow-up message and the changed papers in chat, a new email (a new
   Message-ID, In-Reply-To the first one) by email.

A digest with no summarized paper is refused unless `allow_incomplete=True`.
Destinations are recorded redacted: a webhook URL or a token never reaches the
store, the report or an error message.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from papergist.deliver.claims import LEASE, Decision, claim_values, decide, owner_token
from papergist.deliver.targets import CHANNELS, Plan, Target, targets
from papergist.errors import DeliveryError, IncompleteDigest
from papergist.deliver.updates import digest_version, summarized
from papergist.http import RetryPolicy
from papergist.logs import emit, logger
from papergist.models import Digest, digest_args
from papergist.store import Store
from papergist.store.deliveries import DeliveryKey

__all__ = ["ATTEMPTS", "CHANNELS", "Delivery", "IncompleteDigest", "Target", "publish", "targets"]

ATTEMPTS = 3


_log = logger("publish")


@dataclass(frozen=True)
class Delivery:
    """What became of one destination in this run.

    `status`: delivered | updated (a follow-up to an earlier version) | skipped |
    failed | dry-run | in-progress (another publisher is sending it) | unknown (a
    killed publisher was sending it: see `error`). `error` explains any status
    but delivered; `version` is the digest version concerned; `parts` is how many
    messages the destination accepted in this run.
    """

    channel: str
    destination: str
    status: str
    attempts: int = 0
    error: str | None = None
    version: str | None = None
    parts: int = 0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def check_complete(digest: Digest, allow_incomplete: bool = False) -> None:
    """Refuse a digest with no summarized paper unless `allow_incomplete`."""
    if allow_incomplete or summarized(digest):
        return
    what = ("has no papers" if not digest.items else
            f"has no summarized paper (all {len(digest.items)} failed)")
    raise IncompleteDigest(
        f"the {digest.label} digest {what}: nothing was sent. Run papergist digest "
        f"{digest_args(digest.kind, digest.date, digest.categories)} again to summarize it, "
        "or publish it as it is with "
        "allow_incomplete=True (--allow-incomplete)")


def publish(digest: Digest, language: str, found: list[Target], store: Store, *,
            dry_run: bool = False, backoff: float = 1.0,
            sleep: Callable[[float], None] = time.sleep, resend: bool = False,
            if_changed: bool = False, allow_incomplete: bool = False,
            clock: Callable[[], datetime] = _utcnow, lease: timedelta = LEASE) -> list[Delivery]:
    """Deliver `digest` to every target that does not have it yet; record each message.

    Raises `IncompleteDigest` (before sending anything) for a digest with no
    summarized paper unless `allow_incomplete`. See the module doc for `resend`
    and `if_changed`; `clock` and `lease` decide when a claim is abandoned.
    """
    check_complete(digest, allow_incomplete)
    run = _Publisher(digest, language, store, backoff, sleep, resend, if_changed, clock, lease)
    return [run.preview(t) if dry_run else run.deliver(t) for t in found]


class _Publisher:
    """One `publish` call: the digest, its version, this process's owner token."""

    def __init__(self, digest: Digest, language: str, store: Store, backoff: float,
                 sleep: Callable[[float], None], resend: bool, if_changed: bool,
                 clock: Callable[[], datetime], lease: timedelta):
        self.digest, self.language, self.store = digest, language, store
        self.backoff, self.sleep, self.clock = backoff, sleep, clock
        self.options: dict[str, Any] = {"resend": resend, "if_changed": if_changed, "lease": lease}
        self.version = digest_version(digest)
        self.owner = owner_token()

    def key(self, target: Target) -> DeliveryKey:
        """The store's key of `target` for this digest."""
        return DeliveryKey(self.digest.delivery_label, self.language, target.channel, target.destination)

    def preview(self, target: Target) -> Delivery:
        """What `deliver` would do, with nothing sent or recorded."""
        key = self.key(target)
        row = self.store.delivery(key.day, key.language, key.channel, key.destination)
        decision = decide(row, self.version, now=self.clock(), **self.options)
        if decision.action != "send":
            return self._not_sent(target, decision, row)
        text = target.preview(self.digest)
        base = self.store.digest_version(decision.base) if decision.base else None
        if base is not None:
            parts = target.parts(self.digest, Plan(key, self.version, base, row["thread"] if row else None))
            text = f"{target.channel}: an update, {len(parts)} message(s) to {target.destination}"
        return Delivery(target.channel, target.destination, "dry-run", error=text,
                        version=self.version)

    def deliver(self, target: Target) -> Delivery:
        """Claim `target`, then send the messages it has not accepted yet."""
        key, now, chosen = self.key(target), self.clock(), []

        def choose(row: dict[str, Any] | None) -> dict[str, Any] | None:
            chosen.append(decide(row, self.version, now=now, **self.options))
            return claim_values(self.version, self.owner, now) \
                if chosen[-1].action == "send" else None

        row, claim = self.store.claim_delivery(key, choose)
        if claim is None:
            return self._not_sent(target, chosen[-1], row)
        try:
            return self._send(target, key, chosen[-1], row or {})
        except Exception as exc:  # a bug or a render error: never leave the claim behind
            self.store.finish_delivery(key, self.owner, status="failed",
                                       error=f"{type(exc).__name__}: {exc}"[:500])
            raise

    def _not_sent(self, target: Target, decision: Decision,
                  row: dict[str, Any] | None) -> Delivery:
        row = row or {}
        return Delivery(target.channel, target.destination, decision.action,
                        row.get("attempts", 0), decision.message, row.get("version"))

    def _send(self, target: Target, key: DeliveryKey, decision: Decision,
              row: dict[str, Any]) -> Delivery:
        self.store.save_digest_version(self.version, self.digest)
        base = self.store.digest_version(decision.base) if decision.base else None
        plan = Plan(key, self.version, base, row.get("thread"))
        parts = target.parts(self.digest, plan)
        done = self.store.sent_parts(key, self.version)
        before, attempts = len(done), row.get("attempts", 0)
        for attempt in range(1, ATTEMPTS + 1):
            attempts += 1
            try:
                self._post_missing(target, key, parts, done)
            except DeliveryError as exc:
                if not exc.retryable or attempt == ATTEMPTS:
                    return self._failed(target, key, attempts, str(exc), len(done) - before)
                wait = RetryPolicy(ATTEMPTS, self.backoff).delay(attempt, exc.wait)
                # the channel only: a webhook's URL (the destination) is a secret
                emit(_log, logging.INFO, f"{target.channel}: delivery attempt {attempt} failed "
                     f"({exc}); retrying in {wait:.2f} s", "retry", channel=target.channel,
                     attempt=attempt, wait=round(wait, 3), problem=str(exc))
                self.sleep(wait)
                continue
            break
        thread = plan.thread or (target.thread_of(parts[0]) if parts else None)
        self.store.finish_delivery(key, self.owner, status="delivered", attempts=attempts,
                                   error=None, version=self.version, thread=thread)
        return Delivery(target.channel, target.destination,
                        "updated" if base is not None else "delivered", attempts,
                        version=self.version, parts=len(done) - before)

    def _post_missing(self, target: Target, key: DeliveryKey, parts: list[Any],
                      done: set[int]) -> None:
        posted = 0
        for n, part in enumerate(parts):
            if n in done:
                continue
            if posted:
                self.sleep(target.gap)
            target.post(part)
            self.store.record_part(key, self.version, n, self.owner,
                                   now=self.clock().isoformat(timespec="seconds"))
            done.add(n)
            posted += 1

    def _failed(self, target: Target, key: DeliveryKey, attempts: int, error: str,
                parts: int) -> Delivery:
        self.store.finish_delivery(key, self.owner, status="failed", attempts=attempts,
                                   error=error)
        return Delivery(target.channel, target.destination, "failed", attempts, error,
                        self.version, parts)
