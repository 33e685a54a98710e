"""The one HTTP client: timeouts, retries with backoff, User-Agent, politeness.

Sources never build their own client; they are handed an `HttpClient`, so the
tests point the very same code at local servers by base URL.
"""

from __future__ import annotations

import random
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any, Callable

import httpx2

from papergist import __version__
from papergist.errors import SourceRejected, SourceUnavailable
from papergist.settings import Settings

USER_AGENT = f"papergist/{__version__} (+https://github.com/papergist/papergist)"
MAX_BACKOFF = 60.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


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
        self.retries = settings.http_retries
        self.backoff = settings.http_backoff
        self._sleep = sleep
        self._client = httpx2.Client(
            timeout=settings.http_timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
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
        problem = ""
        for attempt in range(1, self.retries + 1):
            wait: float | None = None
            if pacer is not None:
                pacer.wait()
            try:
                response = self._client.get(url, params=params)
            except httpx2.TimeoutException:
                problem = "timed out"
            except httpx2.ConnectError:
                problem = f"cannot connect to {httpx2.URL(url).host}"
            except httpx2.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise SourceRejected(f"{what} refused the request (HTTP {response.status_code}"
                                         f"{_reason(response)})", response.status_code)
                problem = f"HTTP {response.status_code}{_reason(response)}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt < self.retries:
                self._sleep(min(MAX_BACKOFF, wait if wait is not None else self._backoff(attempt)))
        attempts = f"{self.retries} attempt{'s' if self.retries > 1 else ''}"
        raise SourceUnavailable(f"{what} is unavailable after {attempts} ({problem}); "
                                "try again later")

    def _backoff(self, attempt: int) -> float:
        base = self.backoff * 2 ** (attempt - 1)
        return min(MAX_BACKOFF, base * random.uniform(0.5, 1.5))


def _reason(response: httpx2.Response) -> str:
    """A short reason from an error body: HF sends {"error": "..."}."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return f": {text}" if text and "<" not in text else ""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f": {body['error'][:200]}"
    return ""
