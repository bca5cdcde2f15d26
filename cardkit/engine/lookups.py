"""Reads that are not a run: the current card of a number, and who owns which number.

    cardkit.read_current("+14155552671", "blooio", sandbox=box)   # -> Current
    cardkit.owners(["+14155552671"], "auto", sandbox=box)         # -> Owners

Both go through the engine's own connections (credentials, sandbox transport, deadline,
rate limit) and retry policy, exactly as a run would; the run's routing uses `discover`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cardkit.engine import routing
from cardkit.engine.bridge import run_sync
from cardkit.engine.connections import Connection
from cardkit.engine.limits import RateLimiter
from cardkit.engine.options import Providers
from cardkit.engine.retry_policy import DEFAULT_MAX_ATTEMPTS, RetryPolicy, call_with_retries
from cardkit.errors import InputError
from cardkit.providers.base import DEFAULT_TIMEOUT, Current, Provider

T = TypeVar("T")


@dataclass(frozen=True)
class Owners:
    """Which configured provider owns each number asked about.

    `numbers`: each number → the providers whose listing has it (empty: nobody's);
    `unlisted`: provider → why its numbers could not be listed (its answer is unknown)."""

    numbers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unlisted: Mapping[str, str] = field(default_factory=dict)

    def of(self, number: str) -> tuple[str, ...]:
        """The providers owning `number` (empty when none does, or it was not asked about)."""
        return self.numbers.get(number.strip(), ())


def connect(provider: Provider, setup: routing.Setup, *, timeout: float = DEFAULT_TIMEOUT,
            limiter: RateLimiter | None = None) -> Connection:
    """A connection like a worker's, for one-off calls."""
    return Connection(provider, transport=setup.transport,
                      limiter=limiter or RateLimiter(provider.limits.max_per_second), deadline=timeout)


async def discover(setup: routing.Setup, connection: Callable[[str], Connection], policy: RetryPolicy) -> None:
    """Ask every provider of `setup` for its numbers; record owners and why a listing failed."""

    async def listing(name: str) -> Any:
        opened = connection(name)
        try:
            return await call_with_retries(lambda: setup.providers[name].list_numbers(opened.send), policy)
        finally:
            await opened.aclose()

    names = list(setup.providers)
    found = await asyncio.gather(*(listing(n) for n in names))
    listings: dict[str, list[str]] = {}
    for name, tried in zip(names, found):
        if tried.failure is not None:
            setup.unlisted[name] = tried.message
        else:
            listings[name] = tried.value
    routing.record_owners(setup, listings)


async def owners_async(numbers: Iterable[str], providers: Providers = "auto", *, sandbox: Any = None,
                       max_attempts: int = DEFAULT_MAX_ATTEMPTS, timeout: float = DEFAULT_TIMEOUT,
                       accounts: Any = None) -> Owners:
    """Which of `providers` (default: every configured one) owns each of `numbers` (E.164).
    With `accounts` (an accounts file) the answers name accounts."""
    setup = routing.setup(providers, sandbox=sandbox, photo_host=False, accounts=accounts)
    await discover(setup, lambda name: connect(setup.providers[name], setup, timeout=timeout),
                   RetryPolicy(max_attempts=max_attempts))
    asked = [str(n).strip() for n in numbers]
    return Owners({n: tuple(setup.owners.get(n, ())) for n in asked}, dict(setup.unlisted))


def owners(numbers: Iterable[str], providers: Providers = "auto", *, sandbox: Any = None,
           max_attempts: int = DEFAULT_MAX_ATTEMPTS, timeout: float = DEFAULT_TIMEOUT,
           accounts: Any = None) -> Owners:
    """Sync `owners_async` (scripts and notebooks alike)."""
    return _sync(lambda: owners_async(numbers, providers, sandbox=sandbox, max_attempts=max_attempts,
                                      timeout=timeout, accounts=accounts))


async def read_current_async(number: str, provider: str | Provider, *, sandbox: Any = None,
                             max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                             timeout: float = DEFAULT_TIMEOUT) -> Current:
    """The card `provider` has now for `number` (E.164): one read, no write.

    `Current.known` is False where the provider can't be read (e.g. Blooio's "coming soon").
    The last failure is raised as the `ProviderError` it is (its message says what to do)
    once the retry policy gives up."""
    setup = routing.setup(provider, sandbox=sandbox, photo_host=False)
    if len(setup.providers) != 1:
        raise InputError(f"read_current needs exactly one provider, got {', '.join(setup.providers) or 'none'}")
    (adapter,) = setup.providers.values()
    connection = connect(adapter, setup, timeout=timeout)
    try:
        tried = await call_with_retries(lambda: adapter.read(connection.send, number.strip()),
                                        RetryPolicy(max_attempts=max_attempts))
    finally:
        await connection.aclose()
    if tried.failure is not None:
        raise tried.failure
    assert tried.value is not None
    return tried.value


def read_current(number: str, provider: str | Provider, *, sandbox: Any = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, timeout: float = DEFAULT_TIMEOUT) -> Current:
    """Sync `read_current_async` (scripts and notebooks alike)."""
    return _sync(lambda: read_current_async(number, provider, sandbox=sandbox, max_attempts=max_attempts,
                                            timeout=timeout))


def _sync(main: Callable[[], Awaitable[T]]) -> T:
    def interrupted() -> T:
        raise KeyboardInterrupt

    return run_sync(main, partial=interrupted)
