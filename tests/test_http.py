"""`RetryPolicy`, the one policy for attempts, backoff and `Retry-After` (papergist.http),
on its own and as the HTTP client and the model scheduler follow it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from fakes import Reply
from papergist.errors import SourceUnavailable
from papergist.http import MAX_BACKOFF, HttpClient, RetryPolicy, retry_after_seconds
from papergist.summarize.scheduler import RateLimits, Scheduler, Window


@pytest.fixture
def jitter(monkeypatch):
    """Sets the jitter factor: `jitter(0.5)` makes `random.uniform(a, b)` return `a`,
    `jitter(1.5)` `b`, `jitter(1.0)` the middle; records the bounds asked for."""
    asked: list[tuple[float, float]] = []

    def set_to(factor: float) -> list[tuple[float, float]]:
        def uniform(a: float, b: float) -> float:
            asked.append((a, b))
            return a + (b - a) * (factor - 0.5)
        monkeypatch.setattr(random, "uniform", uniform)
        return asked
    return set_to


def test_the_backoff_doubles_with_each_attempt(jitter):
    jitter(1.0)
    policy = RetryPolicy(attempts=6, backoff=0.5)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_the_jitter_spans_half_to_one_and_a_half_of_the_step(jitter):
    asked = jitter(0.5)
    policy = RetryPolicy(attempts=4, backoff=1.0)
    assert policy.delay(3) == 2.0 and asked == [(0.5, 1.5)]
    jitter(1.5)
    assert policy.delay(3) == 6.0


def test_the_jitter_is_random_within_its_bounds():
    policy = RetryPolicy(attempts=4, backoff=1.0)
    delays = [policy.delay(3) for _ in range(200)]  # the step is 4 s
    assert all(2.0 <= d <= 6.0 for d in delays)
    assert min(delays) < 3.0 and max(delays) > 5.0 and len(set(delays)) > 100


def test_no_wait_is_longer_than_max_backoff(jitter):
    jitter(1.5)
    policy = RetryPolicy(attempts=40, backoff=1.0)
    assert policy.delay(6) == 48.0  # 32 s x 1.5: under the cap
    assert policy.delay(7) == MAX_BACKOFF == 60.0  # 64 s x 1.5: capped
    assert policy.delay(30) == MAX_BACKOFF
    assert policy.delay(1, asked=3600.0) == MAX_BACKOFF  # a Retry-After too


def test_a_retry_after_is_waited_as_asked_without_jitter(monkeypatch):
    def no_jitter(a: float, b: float) -> float:
        raise AssertionError("jitter applied to a Retry-After")
    monkeypatch.setattr(random, "uniform", no_jitter)
    policy = RetryPolicy(attempts=5, backoff=10.0)
    assert policy.delay(1, asked=2.5) == 2.5
    assert policy.delay(4, asked=0.0) == 0.0  # "now" is an answer, not "back off"


@pytest.mark.parametrize("attempts, tries", [(3, "3 attempts"), (1, "1 attempt")])
def test_the_last_attempt_gives_a_named_error(attempts, tries):
    error = RetryPolicy(attempts=attempts, backoff=1.0).exhausted("HF Daily Papers", "HTTP 503")
    assert isinstance(error, SourceUnavailable) and error.attempts == attempts
    assert error.message == f"HF Daily Papers is unavailable after {tries} (HTTP 503); " \
                            "try again later"


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now),
                           usegmt=True)


def test_retry_after_in_seconds_or_as_a_date():
    assert [retry_after_seconds(v) for v in ("120", "1.5", "0", "-5", "", None, "soon")] == [
        120.0, 1.5, 0.0, 0.0, None, None, None]
    assert 28.0 <= retry_after_seconds(http_date(30)) <= 30.0  # type: ignore[operator]
    assert retry_after_seconds(http_date(-3600)) == 0.0  # a moment already past


def test_the_client_follows_the_policy_over_http(settings, fake_arxiv, jitter):
    """503 without Retry-After: backoff (0.01 s, settings); 429 with `Retry-After: 7`: 7 s;
    then the answer. Three attempts, the first included: the third failure is the last."""
    jitter(1.0)
    replies = [Reply(200, b"ok"), Reply(429, b"", {"Retry-After": "7"}), Reply(503, b"down")]
    fake_arxiv.routes["/x"] = lambda req: replies.pop()
    slept: list[float] = []
    with HttpClient(settings, sleep=slept.append) as http:
        assert http.get(f"{fake_arxiv.url}/x", what="T").text == "ok"
        assert slept == [0.01, 7.0]
        fake_arxiv.routes["/x"] = lambda req: Reply(503, b"down")
        with pytest.raises(SourceUnavailable) as failed:
            http.get(f"{fake_arxiv.url}/x", what="T")
    assert slept == [0.01, 7.0, 0.01, 0.02] and len(fake_arxiv.hits("/x")) == 6
    assert failed.value.attempts == settings.http_attempts == 3


def test_the_model_scheduler_backs_off_by_the_same_policy(jitter):
    jitter(1.5)
    scheduler = Scheduler(Window(1, 1), RateLimits(None, None), attempts=3, backoff=0.5)
    policy = RetryPolicy(attempts=3, backoff=0.5)
    assert [scheduler.backoff_for(n) for n in (1, 2, 3, 9)] == [
        policy.delay(n) for n in (1, 2, 3, 9)] == [0.75, 1.5, 3.0, MAX_BACKOFF]
