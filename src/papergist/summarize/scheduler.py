"""Sending model requests as fast as the provider allows, and no faster.

Three mechanisms, all in one event loop:

* `Window`: how many requests may be in flight, adapted the way TCP adapts its
  congestion window. It starts wide, grows by one for every window's worth of
  successes (additive increase), and halves on a 429 (multiplicative decrease),
  at most once per window: a 429 for a request sent before the last decrease
  says nothing new.
* `RateLimits`: known per-minute limits (requests and tokens), paced *before*
  sending: requests are spread evenly (no burst), and a sliding 60-second log
  guarantees the provider's own window is never exceeded.
* `Scheduler.call`: one request with all of it: pacing, a slot in the window, a
  global pause that honours `Retry-After`, and exponential backoff with jitter on
  5xx and timeouts. A request keeps its slot through its own retries (as TCP
  retransmits a lost segment at once): a narrower window holds back *new*
  requests, not the resending of one the provider turned away.

An isolated 429 that says when to come back (`Retry-After`) delays only its own
request: the others go on, the window keeps its size. Throttling that persists
(a request throttled again after it waited its `Retry-After`), or a 429 without
`Retry-After`, halves the
window and pauses every sender. The provider's
rate-limit headers (`x-ratelimit-*`, as OpenAI, Groq, Together, OpenRouter and
vLLM send them) teach the scheduler limits the user did not give (`learn`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from papergist.http import MAX_BACKOFF, NoStopwatch, RetryPolicy, Stopwatch
from papergist.logs import emit, logger

T = TypeVar("T")
WINDOW_SHARE = 0.98  # of a known per-minute limit: room for clocks that disagree a little
log = logger("scheduler")


class Throttled(Exception):
    """The provider answered 429; `retry_after` is what it asked for, if anything."""

    def __init__(self, retry_after: float | None):
        super().__init__(f"throttled (retry after {retry_after} s)")
        self.retry_after = retry_after


class Transient(Exception):
    """A failure worth retrying after a backoff: 5xx, a timeout, a dropped connection."""


@dataclass(frozen=True)
class Quota:
    """What a provider's `x-ratelimit-*` headers said (None: not said)."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests: float | None = None  # seconds until the request limit is whole again
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens: float | None = None

    @property
    def empty(self) -> bool:
        """True when no header was there."""
        return self == Quota()


class Window:
    """The adaptive concurrency window (AIMD)."""

    def __init__(self, start: int, maximum: int):
        self.limit = float(max(1, min(start, maximum)))
        self.maximum = maximum
        self.in_flight = 0
        self.epoch = 0
        self.decreases = 0
        self.peak_in_flight = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        """Wait for a free slot."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    async def release(self) -> None:
        """Free a slot."""
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    async def succeeded(self) -> None:
        """Additive increase: one more slot per window of successes."""
        async with self._changed:
            before = int(self.limit)
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            if int(self.limit) != before:
                emit(log, logging.DEBUG, f"window grows to {int(self.limit)} requests in flight",
                     "window_increase", old=before, new=int(self.limit))
            self._changed.notify_all()

    def throttled(self, sent_epoch: int) -> None:
        """Multiplicative decrease, once per window."""
        if sent_epoch == self.epoch:
            before = int(self.limit)
            self.limit = max(1.0, self.limit / 2)
            self.epoch += 1
            self.decreases += 1
            emit(log, logging.INFO, f"window shrinks from {before} to {int(self.limit)} "
                 "requests in flight (429)", "window_decrease", old=before, new=int(self.limit))


class RateLimits:
    """Requests and tokens per minute, paced before sending (either may be None)."""

    def __init__(self, rpm: int | None, tpm: int | None,
                 clock: Callable[[], float] = time.monotonic):
        self.rpm, self.tpm = rpm, tpm
        self._clock = clock
        self._next = 0.0
        self._log: deque[list[float]] = deque()  # [sent_at, tokens]
        self._lock = asyncio.Lock()

    def _delay(self, tokens: int, now: float) -> float:
        delay = max(0.0, self._next - now)
        while self._log and self._log[0][0] <= now - 60:
            self._log.popleft()
        if self.tpm:
            used = sum(entry[1] for entry in self._log)
            for sent_at, spent in self._log:
                if used + tokens <= self.tpm * WINDOW_SHARE:
                    break
                used -= spent
                delay = max(delay, sent_at + 60 - now)
        if self.rpm and len(self._log) >= self.rpm:
            delay = max(delay, self._log[len(self._log) - self.rpm][0] + 60 - now)
        return delay

    async def reserve(self, tokens: int) -> list[float]:
        """Wait until `tokens` may be sent; returns the log entry to `settle` later."""
        async with self._lock:
            while (delay := self._delay(tokens, self._clock())) > 0:
                # short naps: a settled estimate can bring the moment closer meanwhile
                await asyncio.sleep(min(delay, 0.25))
            now = self._clock()
            spacing = [60.0 / self.rpm] if self.rpm else []
            if self.tpm:
                spacing.append(60.0 * tokens / self.tpm)
            self._next = now + max(spacing, default=0.0)
            entry = [now, float(tokens)]
            self._log.append(entry)
            return entry

    def settle(self, entry: list[float], actual_tokens: int) -> None:
        """Replace an estimate by what the provider reported.

        The entry is re-dated to now: a provider counts the tokens it wrote when it
        wrote them, so they leave its window later than the request's own send time.
        """
        if self.tpm and actual_tokens >= 0:
            self._next += 60.0 * (actual_tokens - entry[1]) / self.tpm
            entry[1] = float(actual_tokens)
            entry[0] = max(entry[0], self._clock())


@dataclass
class Stats:
    """What the scheduler saw: in a run (`Scheduler.stats`), or for one paper (a tally)."""

    requests: int = 0
    throttled: int = 0
    transient: int = 0
    retries: int = 0  # requests sent again (after a 429, a transient failure, a spoiled reply)

    def count(self, field: str) -> None:
        """One more of `field`."""
        setattr(self, field, getattr(self, field) + 1)


class Scheduler:
    """Runs requests under the window, the rate limits and `Retry-After` pauses."""

    def __init__(self, window: Window, limits: RateLimits, *, attempts: int = 4,
                 backoff: float = 1.0, max_throttles: int = 20,
                 clock: Callable[[], float] = time.monotonic):
        self.window, self.limits = window, limits
        self.attempts, self.backoff, self.max_throttles = attempts, backoff, max_throttles
        self.clock = clock
        self.resume_at = 0.0
        self.stats = Stats()
        self.learned: list[str] = []  # what the provider's headers taught, in words
        self.stopped: BaseException | None = None

    def stop(self, error: BaseException) -> None:
        """End the run's sending: every request not yet sent raises `error` instead
        (a refused key is the same answer for every paper: ask once, not fifty times)."""
        self.stopped = self.stopped or error

    async def _pause(self) -> None:
        while (wait := self.resume_at - self.clock()) > 0:
            await asyncio.sleep(wait)

    def learn(self, quota: Quota) -> None:
        """Take in a reply's rate-limit headers.

        A per-minute limit the user did not set is adopted, so the rest of the
        run is paced before it (a limit whose reset is longer than a minute is a
        daily one, and left alone). An exhausted limit pauses every sender until
        its reset.
        """
        if quota.limit_requests and not self.limits.rpm and (quota.reset_requests or 0) <= 60:
            self.limits.rpm = quota.limit_requests
            self.learned.append(f"{quota.limit_requests:,} requests/min")
            _note_learned("rpm", quota.limit_requests)
        if quota.limit_tokens and not self.limits.tpm and (quota.reset_tokens or 0) <= 60:
            self.limits.tpm = quota.limit_tokens
            self.learned.append(f"{quota.limit_tokens:,} tokens/min")
            _note_learned("tpm", quota.limit_tokens)
        for remaining, reset in ((quota.remaining_requests, quota.reset_requests),
                                 (quota.remaining_tokens, quota.reset_tokens)):
            if remaining == 0 and reset is not None:
                wait = min(reset, MAX_BACKOFF)
                self.resume_at = max(self.resume_at, self.clock() + wait)
                emit(log, logging.INFO, f"the provider's limit is used up: every request "
                     f"waits {wait:.2f} s", "pause", wait=round(wait, 3), reason="quota")

    def _throttled(self, exc: Throttled, epoch: int, throttles: int) -> float:
        """Seconds this request alone waits before its resend (0: every sender pauses).

        A request's first 429 says little about the account (some providers throttle
        single requests); the same request throttled again after waiting what it was
        told says the account is over its limit.
        """
        persists = throttles > 1
        if exc.retry_after is not None and not persists:
            wait = min(exc.retry_after, MAX_BACKOFF)
            emit(log, logging.INFO, f"429: this request waits {wait:.2f} s (Retry-After)",
                 "throttled", attempt=throttles, wait=round(wait, 3), retry_after=True,
                 everyone=False)
            return wait
        self.window.throttled(epoch)
        wait = self.backoff_for(throttles) if exc.retry_after is None else min(
            exc.retry_after, MAX_BACKOFF)
        self.resume_at = max(self.resume_at, self.clock() + wait)
        why = "backoff" if exc.retry_after is None else "Retry-After"
        emit(log, logging.INFO, f"429: every request waits {wait:.2f} s ({why})", "throttled",
             attempt=throttles, wait=round(wait, 3), retry_after=exc.retry_after is not None,
             everyone=True)
        return 0.0

    async def call(self, send: Callable[[], Awaitable[tuple[T, int]]], tokens: int,
                   tally: Stats | None = None, stopwatch: Stopwatch = NoStopwatch()) -> T:
        """Send (with retries) a request estimated at `tokens`.

        `send` returns its result and the tokens actually used, or raises
        `Throttled` / `Transient`; anything else propagates at once. `tally`, if
        given, counts this caller's requests, 429s and transient failures too.
        `stopwatch` is paused while the request waits in line (a slot, the rate
        limits, a pause for the provider) and runs while it is sent or backs off.
        """
        tallies = [self.stats] + ([tally] if tally is not None else [])
        throttles = transient = 0
        stopwatch.pause()
        await self._pause()
        await self.window.acquire()
        try:
            while True:
                stopwatch.pause()
                await self._pause()
                entry = await self.limits.reserve(tokens)
                if self.stopped is not None:
                    self.limits.settle(entry, 0)
                    raise self.stopped
                stopwatch.resume()
                epoch = self.window.epoch
                for t in tallies:
                    t.count("requests")
                try:
                    result, used = await send()
                except Throttled as exc:
                    self.limits.settle(entry, 0)
                    throttles += 1
                    for t in tallies:
                        t.count("throttled")
                    if throttles > self.max_throttles:
                        self.window.throttled(epoch)
                        raise
                    alone = self._throttled(exc, epoch, throttles)
                    for t in tallies:
                        t.count("retries")
                    if alone:
                        stopwatch.pause()
                        await asyncio.sleep(alone)
                    continue
                except Transient as exc:
                    self.limits.settle(entry, 0)
                    transient += 1
                    for t in tallies:
                        t.count("transient")
                    if transient >= self.attempts:
                        raise
                    wait = self.backoff_for(transient)
                    for t in tallies:
                        t.count("retries")
                    emit(log, logging.INFO, f"model request failed ({exc}); retrying in "
                         f"{wait:.2f} s", "retry", attempt=transient, wait=round(wait, 3),
                         problem=str(exc))
                    await asyncio.sleep(wait)
                    continue
                self.limits.settle(entry, used)
                await self.window.succeeded()
                return result
        finally:
            await self.window.release()

    def backoff_for(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt + 1`: exponential, with jitter (the one
        `RetryPolicy` every client here follows)."""
        return RetryPolicy(self.attempts, self.backoff).delay(attempt)


def _note_learned(what: str, value: int) -> None:
    """Log a limit taken from the provider's headers."""
    unit = "requests/min" if what == "rpm" else "tokens/min"
    emit(log, logging.INFO, f"learned the provider's limit from its headers: {value:,} {unit}",
         "limit_learned", limit=what, value=value)
