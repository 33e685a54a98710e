"""An asyncio event loop on a fake clock: `asyncio.sleep`, `wait_for` and `call_later`
take no wall time, and `loop.time()` reads exactly the seconds they waited.

When nothing is ready, the loop jumps its clock to the next timer instead of blocking,
so timing is exact and independent of the machine's load. Pass `clock=loop.time` to
the code under test (`Scheduler`, `RateLimits`). Only for code that waits on timers,
not on sockets or threads.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Awaitable, TypeVar

T = TypeVar("T")
START = 1000.0  # like a monotonic clock: not zero


class _Selector(selectors.DefaultSelector):  # type: ignore[misc, valid-type]
    def __init__(self, loop: "VirtualTimeLoop") -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None):  # noqa: ANN201 (the stdlib's type)
        events = super().select(0)
        if not events and timeout:
            self._loop.now += timeout  # the next timer is due: go there at once
        elif not events and timeout is None:
            events = super().select(None)  # nothing scheduled: only I/O can wake us
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is virtual."""

    def __init__(self) -> None:
        self.now = START
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self.now


def run(coro: Awaitable[T]) -> T:
    """`asyncio.run` on a virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
