"""The request scheduler: AIMD window, paced rate limits, Retry-After and backoff."""

from __future__ import annotations

import asyncio

import pytest

from papergist.summarize.llm import _duration, read_quota
from papergist.summarize.scheduler import (Quota, RateLimits, Scheduler, Throttled, Transient,
                                           Window)
from virtual_time import run  # every test on a fake clock: exact times, no real waiting


def now() -> float:
    """The fake clock of the running loop (what `clock=` is given)."""
    return asyncio.get_running_loop().time()


def test_window_halves_once_per_window_and_grows_additively():
    async def go():
        window = Window(start=8, maximum=10)
        await window.acquire()
        epoch = window.epoch
        window.throttled(epoch)
        assert window.limit == 4 and window.decreases == 1
        window.throttled(epoch)  # sent before the decrease: no news
        assert window.limit == 4
        for _ in range(4):
            await window.succeeded()
        assert 4.9 < window.limit < 5.0  # about one more slot per window of successes
        for _ in range(200):
            await window.succeeded()
        assert window.limit == 10
    run(go())


def test_window_blocks_at_its_limit():
    async def go():
        window = Window(start=2, maximum=2)
        await window.acquire()
        await window.acquire()
        third = asyncio.create_task(window.acquire())
        await asyncio.sleep(0.05)
        assert not third.done()
        await window.release()
        await asyncio.wait_for(third, 1)
        assert window.in_flight == 2 and window.peak_in_flight == 2
    run(go())


def test_rpm_spreads_requests_evenly():
    async def go():
        limits = RateLimits(rpm=600, tpm=None, clock=now)  # one every 0.1 s
        start = now()
        times = []
        for _ in range(5):
            await limits.reserve(1)
            times.append(now() - start)
        assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    run(go())


def test_tpm_paces_by_tokens_and_settles_to_actual_use():
    async def go():
        limits = RateLimits(rpm=None, tpm=60_000, clock=now)  # 1,000 tokens a second
        start = now()
        entry = await limits.reserve(200)
        limits.settle(entry, 100)  # it used half: the next may go sooner
        await limits.reserve(100)
        assert now() - start == pytest.approx(0.1)  # after the 100 used, not the 200 asked
        await limits.reserve(100)
        assert now() - start == pytest.approx(0.2)
    run(go())


def test_tpm_sliding_window_never_exceeds_the_limit():
    async def go():
        now = [0.0]
        limits = RateLimits(rpm=None, tpm=1000, clock=lambda: now[0])
        limits._next = 0.0
        await limits.reserve(600)
        limits._next = 0.0  # pretend the smoothing allowed it: the log must still hold
        delay = limits._delay(600, now[0] + 1)
        assert delay == pytest.approx(59.0)
    run(go())


def _scheduler(start=4, attempts=3):
    return Scheduler(Window(start, 16), RateLimits(None, None, clock=now), attempts=attempts,
                     backoff=0.01, clock=now)


def test_throttled_request_waits_retry_after_then_succeeds():
    async def go():
        scheduler = _scheduler()
        calls = []

        async def send():
            calls.append(now())
            if len(calls) == 1:
                raise Throttled(0.3)
            return "ok", 10
        assert await scheduler.call(send, 10) == "ok"
        assert calls[1] - calls[0] == pytest.approx(0.3)
        # an isolated 429 that says when to come back pauses, it does not shrink
        assert scheduler.window.limit > 4 and scheduler.stats.throttled == 1
        assert scheduler.window.decreases == 0
    run(go())


def test_an_isolated_429_delays_only_its_own_request():
    async def go():
        scheduler = _scheduler(start=4)
        started, seen = now(), []

        async def throttled_once():
            seen.append(("a", now() - started))
            if len(seen) == 1:
                raise Throttled(0.5)
            return "a", 0

        async def other():
            seen.append(("b", now() - started))
            return "b", 0
        a = asyncio.create_task(scheduler.call(throttled_once, 1))
        await asyncio.sleep(0.05)
        assert await scheduler.call(other, 1) == "b"
        assert await a == "a"
        assert [who for who, _ in seen] == ["a", "b", "a"]
        (_, first), (_, b_sent), (_, resent) = seen
        assert (first, b_sent, resent) == pytest.approx((0.0, 0.05, 0.5))  # b did not wait
        # for a's Retry-After; a waited exactly that
        assert scheduler.window.decreases == 0 and scheduler.resume_at == 0.0
    run(go())


def test_throttling_that_persists_shrinks_the_window():
    async def go():
        scheduler = _scheduler(start=8)
        answers = [Throttled(0.01), Throttled(0.01), None]

        async def send():
            answer = answers.pop(0)
            if answer is not None:
                raise answer
            return "ok", 1
        assert await scheduler.call(send, 1) == "ok"  # throttled again after its wait
        assert scheduler.window.decreases == 1 and 4 <= scheduler.window.limit < 5
    run(go())


def test_a_429_without_retry_after_shrinks_at_once():
    async def go():
        scheduler = _scheduler(start=8)
        answers = [Throttled(None), None]

        async def send():
            answer = answers.pop(0)
            if answer is not None:
                raise answer
            return "ok", 1
        assert await scheduler.call(send, 1) == "ok"
        assert scheduler.window.decreases == 1
    run(go())


def test_rate_limit_headers_teach_per_minute_limits_and_pause_when_exhausted():
    now = [100.0]
    scheduler = Scheduler(Window(4, 16), RateLimits(None, None), clock=lambda: now[0])
    scheduler.learn(Quota(limit_requests=500, remaining_requests=499, reset_requests=0.12,
                          limit_tokens=30_000, remaining_tokens=29_000, reset_tokens=2.0))
    assert (scheduler.limits.rpm, scheduler.limits.tpm) == (500, 30_000)
    assert scheduler.learned == ["500 requests/min", "30,000 tokens/min"]
    assert scheduler.resume_at == 0.0
    scheduler.learn(Quota(limit_requests=500, remaining_requests=0, reset_requests=7.5))
    assert scheduler.resume_at == 107.5 and len(scheduler.learned) == 2


def test_daily_limits_and_limits_the_user_gave_are_not_replaced():
    scheduler = Scheduler(Window(4, 16), RateLimits(60, None), clock=lambda: 0.0)
    scheduler.learn(Quota(limit_requests=1000, reset_requests=30.0,  # the user's 60 stays
                          limit_tokens=500_000, reset_tokens=3 * 3600.0))  # a daily limit
    assert (scheduler.limits.rpm, scheduler.limits.tpm) == (60, None)
    assert scheduler.learned == []


@pytest.mark.parametrize("text, seconds", [("1s", 1.0), ("6m0s", 360.0), ("59.12s", 59.12),
                                           ("120ms", 0.12), ("2", 2.0), ("1h2m", 3720.0),
                                           ("soon", None), ("", None), ("1s later", None)])
def test_reset_durations(text, seconds):
    assert _duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_quota_headers_are_read_leniently():
    quota = read_quota({"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests":
                        "many", "x-ratelimit-reset-tokens": "1m"})
    assert quota == Quota(limit_requests=60, reset_tokens=60.0)
    assert read_quota({}).empty


def test_transient_failures_back_off_then_give_up_and_free_the_slot():
    async def go():
        scheduler = _scheduler(attempts=3)
        seen_in_flight = []

        async def send():
            seen_in_flight.append(scheduler.window.in_flight)
            raise Transient("HTTP 503")
        with pytest.raises(Transient):
            await scheduler.call(send, 1)
        assert seen_in_flight == [1, 1, 1] and scheduler.window.in_flight == 0
    run(go())


def test_a_narrower_window_holds_back_new_requests_not_resends():
    async def go():
        scheduler = _scheduler(start=2)
        attempts, started = [], now()

        async def throttled_twice():  # the second 429 after its wait: throttling persists
            attempts.append(now() - started)
            if len(attempts) <= 2:
                raise Throttled(0.15)
            return "a", 0

        async def slow():
            await asyncio.sleep(1.0)
            return "b", 0

        async def new():
            attempts.append(("c", now() - started))
            return "c", 0
        b = asyncio.create_task(scheduler.call(slow, 1))
        await asyncio.sleep(0.01)
        a = asyncio.create_task(scheduler.call(throttled_twice, 1))
        await asyncio.sleep(0.05)
        assert scheduler.window.limit == 2 and scheduler.window.decreases == 0  # isolated
        c = asyncio.create_task(scheduler.call(new, 1))
        await asyncio.sleep(0.15)
        assert scheduler.window.limit == 1 and scheduler.window.in_flight == 2
        assert await a == "a" and await c == "c"
        first, again, resent, (_, c_started) = attempts
        assert (first, again) == (pytest.approx(0.01), pytest.approx(0.16))
        assert resent == pytest.approx(0.31)  # the resend kept its slot: no wait for the slow one
        assert c_started == pytest.approx(resent)  # the new request waited for a free slot
        assert not b.done()
        await b
        assert now() - started == pytest.approx(1.0)  # the slow one took its own second
    run(go())


def test_the_fake_clock_reads_exactly_what_was_waited_and_takes_no_wall_time():
    import time

    async def go():
        start, wall = now(), time.perf_counter()
        await asyncio.gather(asyncio.sleep(3600), asyncio.sleep(0.25))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10), 2)
        return now() - start, time.perf_counter() - wall
    waited, wall = run(go())
    assert waited == pytest.approx(3602.0) and wall < 1.0
