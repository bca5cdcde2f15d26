"""A provider's request rate, and Linq's write budget per number.

`RateLimiter` spaces requests so a provider sees at most `max_per_second` on average (a token
bucket with a one-second burst). `WriteBudget` schedules writes against a rolling window per
number — Linq allows 3 contact-card writes (POST+PATCH together) per 10 minutes per number — so
the engine never sends a write the provider would refuse: it asks `next_slot()` and, when the
slot lies ahead, re-queues the operation for then instead of hammering.

Both are created inside the event loop that uses them and take their clock from it.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

from cardkit.engine.retry_policy import wait_scale


class RateLimiter:
    """Average at most `per_second` acquisitions per second, bursting up to one second's worth."""

    def __init__(self, per_second: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second if per_second and per_second > 0 else None
        self._clock = clock
        self._capacity = max(self.per_second or 1.0, 1.0)
        self._tokens = self._capacity
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request may go out."""
        if self.per_second is None:
            return
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self.per_second)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.per_second)


class WriteBudget:
    """At most `writes` writes per `window` seconds per number; remembers when each was sent.

    The engine keeps the window 2 % longer than the provider's (Linq: 612 s for its 600): the
    provider counts from when a call *reached* it, the engine from when it left, and a later call
    may travel faster than the first — on the edge of the window it would meet a 429 and spend a
    request. (Seen as a flaky test: with the window sped up 300×, a few ms of difference did it.)"""

    MARGIN = 0.02

    def __init__(self, writes: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.writes = writes
        self.window = window
        self._clock = clock
        self._sent: dict[str, collections.deque[float]] = {}

    def next_slot(self, number: str) -> float:
        """Seconds from now until `number` may take another write (0 = now)."""
        sent = self._sent.get(number)
        if not sent:
            return 0.0
        now, window = self._clock(), self._scaled_window()
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) < self.writes:
            return 0.0
        return sent[0] + window - now

    def _scaled_window(self) -> float:
        """The window in this clock's seconds: shrunk by `retry_policy.testing(wait_scale=…)`."""
        return self.window * (1 + self.MARGIN) * wait_scale()

    def record(self, number: str) -> None:
        """Count a write to `number` sent now (successful or not: the provider counts attempts)."""
        self._sent.setdefault(number, collections.deque()).append(self._clock())

    def refund(self, number: str) -> None:
        """Take back the last write counted for `number`: the provider answered that it refused
        it (an error reply — never a timeout or a dropped connection, which may have landed).
        Linq spends its budget only on calls that change the card; were a refused call counted
        after all, its 429 says exactly how long to wait, which the engine honours."""
        sent = self._sent.get(number)
        if sent:
            sent.pop()

    def preload(self, number: str, ages: list[float]) -> None:
        """Count writes sent `ages` seconds ago (from the journal of earlier runs)."""
        now = self._clock()
        sent = self._sent.setdefault(number, collections.deque())
        window = self._scaled_window()
        for age in sorted(ages, reverse=True):
            if age < window:
                sent.append(now - age)
