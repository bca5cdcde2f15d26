"""When to try an operation again, and how long to wait first.

The rules (design.md, providers.md §3.6 and §4):

- `Transient` failures (connection errors, timeouts, 408, 429, 5xx, Linq 2022/4004) are retried
  with jittered exponential backoff, up to `max_attempts` attempts in all;
- a provider's own wait (`Retry-After`) is honoured at whatever length — the engine re-queues the
  operation with a not-before time instead of holding a worker;
- `Permanent` failures (4xx that mean "your request is wrong") are never retried.

`testing()` turns the jittered backoff off (like stamina's testing mode) so tests run fast;
a provider's own Retry-After is still honoured, since that is a rule the tests check.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from typing import Iterator

#: Five attempts: enough to ride out a provider's brief 5xx burst (≈ 0.5+1+2+4 s of backoff),
#: few enough that a broken row fails within seconds instead of holding up the batch.
DEFAULT_MAX_ATTEMPTS = 5

_backoff_enabled = True


@contextlib.contextmanager
def testing(*, backoff: bool = False) -> Iterator[None]:
    """Turn the jittered backoff off (or on) for the duration; restores the old setting."""
    global _backoff_enabled
    before = _backoff_enabled
    _backoff_enabled = backoff
    try:
        yield
    finally:
        _backoff_enabled = before


def set_testing(on: bool) -> None:
    """Turn testing mode (no backoff waits) on or off for the whole process."""
    global _backoff_enabled
    _backoff_enabled = not on


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts an operation gets and how long to wait between them."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial: float = 0.5        # first backoff, seconds
    maximum: float = 30.0       # backoff cap (Linq: "start at 1 second, max 30 seconds")
    jitter: float = 0.25        # up to this fraction is taken off at random

    def delay(self, attempts_done: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt, `attempts_done` ≥ 1 attempts in."""
        if retry_after is not None and retry_after > 0:
            return float(retry_after)
        if not _backoff_enabled:
            return 0.0
        base = min(self.initial * 2 ** max(attempts_done - 1, 0), self.maximum)
        return base * (1 - self.jitter * random.random())

    def exhausted(self, attempts_done: int) -> bool:
        """True when no attempt is left."""
        return attempts_done >= self.max_attempts

