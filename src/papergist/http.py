"""The one HTTP client: timeouts, retries with backoff, User-Agent, politeness.

Sources never build their own client; they are handed an `HttpClient`, so the
tests point the very same code at local servers by base URL.
"""

from __future__ import annotations

import json
import random
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any, Callable, TypeVar

import httpx2

from papergist import __version__
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
_T = TypeVar("_T")


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
    """Spaces calls at least `interval` seconds apart (thread-safe)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = interval
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next call is allowed, and book it."""
        with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                self._sleep(delay)
            self._next = self._clock() + self.interval


class HttpClient:
    """A synchronous client with papergist's policies; use as a context manager."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep):
        self.retries = settings.http_attempts
        self.backoff = settings.http_backoff
        self._sleep = sleep
        self._redact = Redactor.from_settings(settings)  # servers may echo what they were sent
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

    def get_bytes(self, url: str, *, what: str, max_bytes: int,
                  pacer: Pacer | None = None) -> bytes:
        """The body of a GET, read as a stream and given up past `max_bytes`.

        Same retries and errors as `get`, plus `ResponseTooLarge` (not retried) as
        soon as the announced length or the bytes received pass `max_bytes`, so a
        hostile or runaway body never costs more than `max_bytes` of memory.
        """
        return self._retrying(url, what, pacer,
                              lambda: self._stream_once(url, what, max_bytes))

    def _retrying(self, url: str, what: str, pacer: Pacer | None,
                  once: Callable[[], _T]) -> _T:
        """`once()` until it returns, with the retry policy described in `get`."""
        problem = ""
        for attempt in range(1, self.retries + 1):
            wait: float | None = None
            if pacer is not None:
                pacer.wait()
            try:
                return once()
            except httpx2.TimeoutException:
                problem = "timed out"
            except httpx2.ConnectError:
                problem = f"cannot connect to {httpx2.URL(url).host}"
            except httpx2.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
            except _Retry as retry:
                problem, wait = retry.problem, retry.wait
            if attempt < self.retries:
                self._sleep(min(MAX_BACKOFF, wait if wait is not None else self._backoff(attempt)))
        attempts = f"{self.retries} attempt{'s' if self.retries > 1 else ''}"
        raise SourceUnavailable(f"{what} is unavailable after {attempts} ({problem}); "
                                "try again later")

    def _get_once(self, url: str, params: dict[str, Any] | None, what: str) -> httpx2.Response:
        response = self._client.get(url, params=params)
        if response.status_code >= 400:
            _refuse(what, response.status_code, response.headers,
                    self._redact(_reason(response)))
        return response

    def _stream_once(self, url: str, what: str, max_bytes: int) -> bytes:
        with self._client.stream("GET", url) as response:
            if response.status_code >= 400:
                body = _read_capped(response, ERROR_BODY_LIMIT, what, truncate=True)
                _refuse(what, response.status_code, response.headers,
                        self._redact(_reason_text(body.decode("utf-8", errors="replace"))))
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise _too_large(what, max_bytes)
            return _read_capped(response, max_bytes, what)

    def _backoff(self, attempt: int) -> float:
        base = self.backoff * 2 ** (attempt - 1)
        return min(MAX_BACKOFF, base * random.uniform(0.5, 1.5))


class ResponseTooLarge(MalformedResponse):
    """A body longer than the caller allows; the download was stopped at `limit` bytes."""

    def __init__(self, message: str, limit: int):
        super().__init__(message)
        self.limit = limit


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


def _read_capped(response: httpx2.Response, limit: int, what: str,
                 truncate: bool = False) -> bytes:
    """At most `limit` bytes of a streamed body; past it, raise (or cut, `truncate`)."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
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
