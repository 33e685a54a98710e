"""The one HTTP client: timeouts, retries with backoff, User-Agent, politeness.

Sources never build their own client; they are handed an `HttpClient`, so the
tests point the very same code at local servers by base URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Protocol, TypeVar

import httpx2

from papergist import __version__
from papergist.logs import emit, logger
from papergist.errors import MalformedResponse, SourceRejected, SourceUnavailable
from papergist.redact import Redactor
from papergist.settings import Settings

USER_AGENT = f"papergist/{__version__} (+https://github.com/papergist/papergist)"
MAX_BACKOFF = 60.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error body read for its reason
# Requests to this machine never go through a proxy, whatever HTTP(S)_PROXY,
# ALL_PROXY and NO_PROXY say (local models, Ollama, the tests' fake servers).
LOCAL_NO_PROXY = ("all://localhost", "all://127.0.0.0/8", "all://[::1]")
PACER_NOTE = 1.0  # seconds: a pacer wait at least this long is logged (DEBUG)
_T = TypeVar("_T")
log = logger("http")


def env_options() -> dict[str, Any]:
    """Client options that honour the environment like curl does: `HTTPS_PROXY`,
    `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, `SSL_CERT_FILE`, `SSL_CERT_DIR` (read
    when the client is built), with local hosts always reached directly."""
    return {"trust_env": True, "mounts": {pattern: None for pattern in LOCAL_NO_PROXY}}


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds asked by a `Retry-After` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Pacer:
    """Spaces calls at least `interval` seconds apart (thread-safe, and async-friendly:
    `book` reserves the next slot without sleeping, the caller waits its way)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = interval
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def book(self) -> float:
        """Reserve the next allowed moment; the seconds to wait until it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
            return start - now

    def wait(self) -> None:
        """Block until the next call is allowed, and book it."""
        delay = self.book()
        if delay > 0:
            _note_pacer(delay)
            self._sleep(delay)

    async def await_turn(self) -> None:
        """`wait` for coroutines: sleeps without blocking the event loop."""
        delay = self.book()
        if delay > 0:
            _note_pacer(delay)
            await asyncio.sleep(delay)


def _note_pacer(delay: float) -> None:
    """Log a pacer wait worth mentioning (at least `PACER_NOTE` seconds)."""
    if delay >= PACER_NOTE:
        emit(log, logging.DEBUG, f"waiting {delay:.1f} s for the pacer (politeness delay)",
             "pacer_wait", wait=round(delay, 3))


@dataclass
class HttpCounts:
    """What a client went through in its life: resends, and 429s among the failures."""

    retries: int = 0
    throttled: int = 0

    def note_retry(self, url: str, what: str, attempt: int, problem: str,
                   wait: float, asked: bool) -> None:
        """Count a failed attempt that will be sent again, and log it (one line)."""
        self.retries += 1
        if problem.startswith("HTTP 429"):
            self.throttled += 1
        why = "Retry-After" if asked else "backoff"
        emit(log, logging.INFO, f"{what}: attempt {attempt} failed ({problem}); retrying "
             f"in {wait:.2f} s ({why})", "retry", url=url, attempt=attempt, wait=round(wait, 3),
             problem=problem, retry_after=asked)

    def note_gave_up(self, url: str, what: str, attempts: int, problem: str) -> None:
        """Log the last failed attempt."""
        emit(log, logging.WARNING, f"{what}: giving up after {attempts} attempts ({problem})",
             "gave_up", url=url, attempts=attempts, problem=problem)


class Stopwatch(Protocol):
    """A time budget that runs only while the work is its own, not while it waits in
    line (for a pacer, a rate limit, a free slot): `pause` before such a wait,
    `resume` after it (the first `resume` starts it)."""

    def pause(self) -> None:
        """Stop counting: waiting in line."""

    def resume(self) -> None:
        """Count again: own work."""


class NoStopwatch:
    """A `Stopwatch` that keeps no time."""

    def pause(self) -> None:
        """Nothing to stop."""

    def resume(self) -> None:
        """Nothing to start."""


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, backoff and `Retry-After`: the one policy every HTTP call here follows.

    `attempts` counts every try, the first included.
    """

    attempts: int
    backoff: float

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Seconds before attempt `attempt + 1`: what the server asked, else exponential
        backoff with jitter; never more than `MAX_BACKOFF`."""
        if asked is not None:
            return min(MAX_BACKOFF, asked)
        return min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))

    def exhausted(self, what: str, problem: str) -> SourceUnavailable:
        """The error after the last attempt."""
        tries = f"{self.attempts} attempt{'s' if self.attempts > 1 else ''}"
        return SourceUnavailable(f"{what} is unavailable after {tries} ({problem}); "
                                 "try again later", attempts=self.attempts)


def retryable(exc: BaseException, url: str) -> tuple[str, float | None] | None:
    """(what went wrong, the wait asked for) if `exc` is worth another attempt, else None."""
    if isinstance(exc, httpx2.TimeoutException):
        return "timed out", None
    if isinstance(exc, httpx2.ConnectError):
        return f"cannot connect to {httpx2.URL(url).host}", None
    if isinstance(exc, httpx2.TransportError):
        return f"connection failed ({type(exc).__name__})", None
    if isinstance(exc, _Retry):
        return exc.problem, exc.wait
    return None


class _Retrying:
    """What both clients share: the retry policy, its counts, and the secrets to mask."""

    def __init__(self, settings: Settings):
        self.policy = RetryPolicy(settings.http_attempts, settings.http_backoff)
        self.counts = HttpCounts()
        self._redact = Redactor.from_settings(settings)  # servers may echo what they were sent

    def _next_wait(self, url: str, what: str, attempt: int, exc: BaseException) -> float:
        """After failed attempt `attempt` (`exc`): the wait before the next one, counted
        and logged; after the last, the `SourceUnavailable` that ends the request."""
        problem, asked = retryable(exc, url) or ("", None)
        if attempt >= self.policy.attempts:
            self.counts.note_gave_up(self._redact(url), what, self.policy.attempts, problem)
            raise self.policy.exhausted(what, problem) from None
        wait = self.policy.delay(attempt, asked)
        self.counts.note_retry(self._redact(url), what, attempt, problem, wait,
                               asked is not None)
        return wait


class HttpClient(_Retrying):
    """A synchronous client with papergist's policies; use as a context manager."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep):
        super().__init__(settings)
        self._sleep = sleep
        self._client = httpx2.Client(
            timeout=settings.http_timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
            **env_options(),
        )

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def get(self, url: str, *, what: str, params: dict[str, Any] | None = None,
            pacer: Pacer | None = None) -> httpx2.Response:
        """GET with retries on timeouts, connection errors, 429 and 5xx.

        `what` names the service in error messages ("HF Daily Papers"); every
        attempt, retries included, first waits for `pacer` if one is given. A 4xx
        other than 408/425/429 raises `SourceRejected` at once; anything still
        failing after the last attempt raises `SourceUnavailable`.
        """
        return self._retrying(url, what, pacer, lambda: self._get_once(url, params, what))

    def _retrying(self, url: str, what: str, pacer: Pacer | None,
                  once: Callable[[], _T]) -> _T:
        """`once()` until it returns, with the retry policy described in `get`."""
        attempt = 0
        while True:
            attempt += 1
            if pacer is not None:
                pacer.wait()
            try:
                return once()
            except (httpx2.TransportError, _Retry) as exc:
                self._sleep(self._next_wait(url, what, attempt, exc))

    def _get_once(self, url: str, params: dict[str, Any] | None, what: str) -> httpx2.Response:
        response = self._client.get(url, params=params)
        if response.status_code >= 400:
            _refuse(what, response.status_code, response.headers,
                    self._redact(_reason(response)))
        return response


class AsyncHttpClient(_Retrying):
    """The async twin of `HttpClient` for downloads that a paper's timeout or Ctrl-C
    must be able to cancel at once (a thread cannot be cancelled).

    The connection pool belongs to an event loop: it is made on first use in the
    running loop (and made anew if a later call runs in another loop).
    """

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self._timeout = settings.http_timeout
        self._client: httpx2.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _pool(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx2.AsyncClient(timeout=self._timeout, follow_redirects=True,
                                              headers={"User-Agent": USER_AGENT},
                                              **env_options())
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Release the connection pool (from the loop that made it)."""
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None

    async def get_bytes(self, url: str, *, what: str, max_bytes: int,
                        pacer: Pacer | None = None,
                        stopwatch: Stopwatch = NoStopwatch()) -> bytes:
        """The body of a GET (see `get_body`, which also gives the URL that answered)."""
        body, _ = await self.get_body(url, what=what, max_bytes=max_bytes, pacer=pacer,
                                      stopwatch=stopwatch)
        return body

    async def get_body(self, url: str, *, what: str, max_bytes: int,
                       pacer: Pacer | None = None,
                       stopwatch: Stopwatch = NoStopwatch()) -> tuple[bytes, str]:
        """The body of a GET, read as a stream and given up past `max_bytes`, and the URL
        that answered it (after redirects).

        Same retries and errors as `HttpClient.get`, plus `ResponseTooLarge` (not
        retried) as soon as the announced length or the bytes received pass
        `max_bytes`, so a hostile or runaway body never costs more than
        `max_bytes` of memory. Cancelling the coroutine stops the download.
        The wait for the pacer is time in line: `stopwatch` is paused for it.
        """
        attempt = 0
        while True:
            attempt += 1
            if pacer is not None:
                stopwatch.pause()
                await pacer.await_turn()
            stopwatch.resume()
            try:
                return await self._stream_once(url, what, max_bytes)
            except (httpx2.TransportError, _Retry) as exc:
                await asyncio.sleep(self._next_wait(url, what, attempt, exc))

    async def _stream_once(self, url: str, what: str, max_bytes: int) -> tuple[bytes, str]:
        async with self._pool().stream("GET", url) as response:
            if response.status_code >= 400:
                body = await _aread_capped(response, ERROR_BODY_LIMIT, what, truncate=True)
                _refuse(what, response.status_code, response.headers,
                        self._redact(_reason_text(body.decode("utf-8", errors="replace"))))
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise _too_large(what, max_bytes)
            return await _aread_capped(response, max_bytes, what), str(response.url)


class ResponseTooLarge(MalformedResponse):
    """A body longer than the caller allows; the download was stopped at `limit` bytes."""

    limit: int

    def __init__(self, message: str = "", limit: int = 0, **context: Any):
        super().__init__(message, limit=limit, **context)


class _Retry(Exception):
    """An answer worth another attempt: what went wrong, and the wait asked for."""

    def __init__(self, problem: str, wait: float | None):
        super().__init__(problem)
        self.problem, self.wait = problem, wait


def megabytes(limit: int) -> str:
    """`8 * 2**20` -> "8 MB" (limits are stated in whole MB where they can be)."""
    return f"{limit / 2**20:g} MB"


def _too_large(what: str, limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"{what}: larger than {megabytes(limit)}", limit)


async def _aread_capped(response: httpx2.Response, limit: int, what: str,
                        truncate: bool = False) -> bytes:
    """`_read_capped` for a streamed async response."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            if truncate:
                break
            raise _too_large(what, limit)
    return b"".join(chunks)[:limit]


def _refuse(what: str, status: int, headers: Any, reason: str) -> None:
    """Raise for an error status: `SourceRejected`, or `_Retry` when it is worth retrying."""
    if status not in RETRY_STATUSES:
        raise SourceRejected(f"{what} refused the request (HTTP {status}{reason})", status)
    raise _Retry(f"HTTP {status}{reason}", retry_after_seconds(headers.get("Retry-After")))


def _reason(response: httpx2.Response) -> str:
    """A short reason from an error body: HF sends {"error": "..."}."""
    return _reason_text(response.text)


def _reason_text(text: str) -> str:
    """`_reason` of a body already read as text."""
    try:
        body = json.loads(text)
    except ValueError:
        first = text.strip().splitlines()[0][:200] if text.strip() else ""
        return f": {first}" if first and "<" not in first else ""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f": {body['error'][:200]}"
    return ""
