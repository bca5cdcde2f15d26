"""The one retry policy: whether to try an operation again, how long to wait first, when to give up.

Every kind of operation asks it — card operations in the worker pools, number discovery,
card sharing — so every message about retries reads the same:
"retrying after attempt N: <what happened>" and "gave up after N attempts: <what happened> — <what
to do>". The rules (design.md, providers.md §3.6 and §4):

- a `Transient` failure (connection errors, timeouts, 408, 429, 5xx, Linq 2022/4004 — as
  `cardkit.providers.replies.classify` decides) is retried with jittered exponential backoff,
  up to `max_attempts` attempts in all;
- a provider's own wait (`Retry-After`, or a documented least wait) is honoured at whatever
  length — the pool re-queues the operation with a not-before time instead of holding a worker;
- a `Permanent` failure is never retried.

How the wait is spent is the caller's: the pool re-queues (`Pool._retry_or_give_up`), one-off
calls sleep (`call_with_retries`). `testing()` turns waiting off (like stamina's testing mode)
so tests run fast, or scales it down so a test can still watch a long Retry-After being honoured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from cardkit.errors import ProviderError, Transient

#: Five attempts: enough to ride out a provider's brief 5xx burst (≈ 0.1+0.5+1+2 s of backoff),
#: few enough that a broken row fails within seconds instead of holding up the batch.
DEFAULT_MAX_ATTEMPTS = 5

_log = logging.getLogger("cardkit.retries")
_wait_scale = 1.0
T = TypeVar("T")


@contextlib.contextmanager
def testing(*, wait_scale: float = 0.0) -> Iterator[None]:
    """Testing mode: every wait (backoff, the provider's Retry-After, and Linq's write-budget
    window) is multiplied by `wait_scale` — 0 (default) turns waiting off; 0.01 keeps the order
    of waits but makes a 10-minute Retry-After or budget window last 6 s (pair it with a sandbox
    whose clock runs as much faster). Restores the old setting afterwards."""
    global _wait_scale
    before = _wait_scale
    _wait_scale = wait_scale
    try:
        yield
    finally:
        _wait_scale = before


def wait_scale() -> float:
    """The factor every wait is multiplied by: 1 normally, less inside `testing()`."""
    return _wait_scale


@dataclass(frozen=True)
class Decision:
    """What the policy decided after a failed attempt."""

    retry: bool
    delay: float          # seconds before the next attempt (0 when giving up)
    message: str          # "retrying after attempt N: …" or "gave up after N attempts: …"


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts an operation gets and how long to wait between them."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial: float = 0.25       # the backoff's base, seconds: the n-th retry waits initial × 2^(n-1) …
    maximum: float = 30.0       # … up to this cap (Linq: "start at 1 second, max 30 seconds")
    jitter: float = 0.25        # up to this fraction is taken off at random
    first: float = 0.1          # … except the first retry, which waits only this long

    def delay(self, attempts_done: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt, `attempts_done` ≥ 1 attempts in; the
        provider's own wait (`retry_after`, or a documented least wait) when it gave one.

        Most faults come alone (a dropped connection, one 502), so the first retry goes out
        almost at once — measured on the goodput benchmark, a 0.5 s first step put every
        faulted card behind by half a second and lengthened the run's tail; the steps after
        it (0.5, 1, 2 … s) are the exponential backoff for a provider in trouble — halved from
        1, 2, 4 s after paired goodput runs (Blooio half's last card 9.4–9.8 s against 9.9–10.5 s)."""
        if retry_after is not None and retry_after > 0:
            return float(retry_after) * _wait_scale
        if attempts_done <= 1:
            base = min(self.first, self.maximum)
        else:
            base = min(self.initial * 2 ** (attempts_done - 1), self.maximum)
        return base * (1 - self.jitter * random.random()) * _wait_scale

    def exhausted(self, attempts_done: int) -> bool:
        """True when no attempt is left."""
        return attempts_done >= self.max_attempts

    def after(self, failure: ProviderError, attempts_done: int, *, remedy: str = "") -> Decision:
        """The decision after attempt `attempts_done` ended in `failure` — the one place that
        decides retry or give up, and words it. `remedy` ends a give-up message (what to do)."""
        if isinstance(failure, Transient) and not self.exhausted(attempts_done):
            decision = Decision(True, self.delay(attempts_done, failure.retry_after),
                                f"retrying after attempt {attempts_done}: {failure.message}")
        elif isinstance(failure, Transient):
            tries = "attempt" if attempts_done == 1 else "attempts"
            decision = Decision(False, 0.0, f"gave up after {attempts_done} {tries}: {failure.message}"
                                + (f" — {remedy}" if remedy else ""))
        else:
            decision = Decision(False, 0.0, failure.message)
        _log.info("%s", decision.message)
        return decision


@dataclass(frozen=True)
class Tried(Generic[T]):
    """How a call under the policy ended: its value, or the last failure and the final message."""

    value: T | None
    failure: ProviderError | None
    attempts: int
    message: str = ""


async def call_with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy, *,
                            remedy: str = "") -> Tried[T]:
    """Call until it succeeds or the policy gives up, sleeping between attempts.

    For one-off calls outside the worker pools (number discovery, sharing a card), which have
    no queue to come back to. A `ProviderError` never escapes: it ends in the `Tried`."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return Tried(await call(), None, attempts)
        except ProviderError as failure:
            decision = policy.after(failure, attempts, remedy=remedy)
            if not decision.retry:
                return Tried(None, failure, attempts, decision.message)
            await asyncio.sleep(decision.delay)
