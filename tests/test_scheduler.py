"""The request scheduler: AIMD window, paced rate limits, Retry-After and backoff."""

from __future__ import annotations

import asyncio
import time

import pytest

from papergist.summarize.scheduler import RateLimits, Scheduler, Throttled, Transient, Window


def run(coro):
    return asyncio.run(coro)


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
        limits = RateLimits(rpm=600, tpm=None)  # one every 0.1 s
        start = time.monotonic()
        times = []
        for _ in range(5):
            await limits.reserve(1)
            times.append(time.monotonic() - start)
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps) >= 0.095
    run(go())


def test_tpm_paces_by_tokens_and_settles_to_actual_use():
    async def go():
        limits = RateLimits(rpm=None, tpm=60_000)  # 1,000 tokens a second
        start = time.monotonic()
        entry = await limits.reserve(200)
        limits.settle(entry, 100)  # it used half: the next may go sooner
        await limits.reserve(100)
        await limits.reserve(100)
        elapsed = time.monotonic() - start
        assert 0.19 <= elapsed < 0.4
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


def _scheduler(start=4, retries=3):
    return Scheduler(Window(start, 16), RateLimits(None, None), retries=retries, backoff=0.01)


def test_throttled_request_waits_retry_after_then_succeeds():
    async def go():
        scheduler = _scheduler()
        calls = []

        async def send():
            calls.append(time.monotonic())
            if len(calls) == 1:
                raise Throttled(0.3)
            return "ok", 10
        assert await scheduler.call(send, 10) == "ok"
        assert calls[1] - calls[0] >= 0.29
        assert scheduler.window.limit < 4 and scheduler.stats.throttled == 1
    run(go())


def test_transient_failures_back_off_then_give_up_and_free_the_slot():
    async def go():
        scheduler = _scheduler(retries=3)
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
        attempts, started = [], time.monotonic()

        async def throttled_once():
            attempts.append(time.monotonic() - started)
            if len(attempts) == 1:
                raise Throttled(0.3)
            return "a", 0

        async def slow():
            await asyncio.sleep(1.0)
            return "b", 0

        async def new():
            attempts.append(("c", time.monotonic() - started))
            return "c", 0
        b = asyncio.create_task(scheduler.call(slow, 1))
        await asyncio.sleep(0.01)
        a = asyncio.create_task(scheduler.call(throttled_once, 1))
        await asyncio.sleep(0.05)
        assert scheduler.window.limit == 1 and scheduler.window.in_flight == 2
        c = asyncio.create_task(scheduler.call(new, 1))
        assert await a == "a" and await c == "c"
        resent, (_, c_started) = attempts[1], attempts[2]
        assert 0.29 <= resent < 0.6  # the resend kept its slot: no wait for the slow one
        assert c_started >= resent  # the new request waited for a free slot
        assert not b.done()
        await b
    run(go())
