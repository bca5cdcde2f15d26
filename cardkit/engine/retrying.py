"""When to try an operation again, and how long to wait first.

The rules (design.md, providers.md §3.6 and §4):

- `Transient` failures (connection errors, timeouts, 408, 429, 5xx, Linq 2022/4004) are retried
  with jittered exponential backoff, up to `max_attempts` attempts in all;
- a provider's own wait (`Retry-After`) is honoured at whatever length — the engine re-queues the
  operation with a not-before time instead of holding a worker;
- `Permanent` failures (4xx that mean "your request is wrong") are never retried.

`testing()` turns waiting off (like stamina's testing mode) so tests run fast, or scales it
down so a test can still watch a long Retry-After being honoured without holding a worker.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

#: Five attempts: enough to ride out a provider's brief 5xx burst (≈ 0.5+1+2+4 s of backoff),
#: few enough that a broken row fails within seconds instead of holding up the batch.
DEFAULT_MAX_ATTEMPTS = 5

_wait_scale = 1.0


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
class RetryPolicy:
    """How many attempts an operation gets and how long to wait between them."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial: float = 0.5        # first backoff, seconds
    maximum: float = 30.0       # backoff cap (Linq: "start at 1 second, max 30 seconds")
    jitter: float = 0.25        # up to this fraction is taken off at random

    def delay(self, attempts_done: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt, `attempts_done` ≥ 1 attempts in."""
        if retry_after is not None and retry_after > 0:
            return float(retry_after) * _wait_scale
        base = min(self.initial * 2 ** max(attempts_done - 1, 0), self.maximum)
        return base * (1 - self.jitter * random.random()) * _wait_scale

    def exhausted(self, attempts_done: int) -> bool:
        """True when no attempt is left."""
        return attempts_done >= self.max_attempts

