"""A provider's pool of workers, each owning one connection, fed from one queue.

Measured here (design.md): one shared httpx pool collapses to ≈ 9 % of the ideal rate at 64 in
flight, while workers that each own an `httpx.AsyncClient(max_connections=1)` reach ≈ 80 %. So
each provider gets `max_at_once` workers; each takes an operation from the queue, reads the
current card (where the provider can be read), decides, and writes.

An operation that must wait — backoff, the provider's Retry-After, Linq's per-number write
budget — is put back on the queue at its not-before time (`loop.call_later`), so a worker is
never held by a long wait. Once due, it goes **ahead of** the operations not yet tried: a card
that met a fault early is finished while fresh work still fills the workers, instead of
waiting behind the whole queue and ending the run alone (issue 15: the run's tail). Every request has the engine's own deadline, since the in-process
ASGI transport ignores httpx timeouts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from cardkit.engine import doubt
from cardkit.engine.changes import compact, describe
from cardkit.engine.connections import Connection, ReadDeadline
from cardkit.engine.limits import RateLimiter, WriteBudget
from cardkit.engine.operations import Op
from cardkit.engine.retry_policy import RetryPolicy, call_with_retries
from cardkit.errors import JournalError, Permanent, ProviderError, Transient
from cardkit.names import shorten
from cardkit.providers.base import DEFAULT_TIMEOUT, Change, Current, Provider, ReadsMany
from cardkit.vocabulary import Action, Status

#: What a row's give-up message tells the user to do.
GIVE_UP_REMEDY = "run `cardkit retry JOURNAL` later to try the failed rows again"


def now_iso() -> str:
    """The current UTC time as ISO text (what the journal and results keep)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def iso(moment: float | None) -> str | None:
    """A `time.time()` moment as the same ISO text (None stays None). Operations keep their
    moments as floats — 24 bytes instead of a 75-byte string, twice per card — and the results
    frame converts them in one vectorised step."""
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds")


@dataclass
class Hooks:
    """What a pool reports to the run: journal marks and progress (all synchronous, cheap).

    `retried(op, attempt, why, delay, retry_after)` is called where a retry is decided,
    `waiting(op, delay)` where a write waits for the number's budget (the run's events);
    `before_write(op, change)`, the one async step, gives the card what only a write needs
    (the photo's bytes) and may finish the op instead (a photo that can no longer be prepared)."""

    sending: Callable[[Op], Awaitable[None] | None]   # awaited before the write leaves
    wrote: Callable[[Op], None]
    finished: Callable[[Op], None]
    retried: Callable[[Op, int, str, float, bool], None] | None = None
    waiting: Callable[[Op, float], None] | None = None
    before_write: Callable[[Op, Change], Awaitable[None]] | None = None
    photo_alias: Callable[[Op, str, str], None] | None = None   # (op, digest sent, digest read back)
    refunded: Callable[[Op], None] | None = None   # a counted write was refused: not spent after all


class Pool:
    """`size` workers for one provider. `put()` operations; `join()` waits for all to finish."""

    def __init__(self, provider: Provider, *, size: int, transport: httpx.AsyncBaseTransport | None,
                 per_second: float | None, policy: RetryPolicy, hooks: Hooks, write: bool,
                 read_first: bool = True, budget: WriteBudget | None = None,
                 deadline: float = DEFAULT_TIMEOUT, remedy: str = GIVE_UP_REMEDY) -> None:
        self.provider = provider
        self.size = max(1, size)
        self._transport = transport
        self._limiter = RateLimiter(per_second)
        self._policy = policy
        self._hooks = hooks
        self._write = write
        self._read_first = read_first
        self.budget = budget
        self._deadline = deadline
        self._remedy = remedy
        self._read_deadline = ReadDeadline(deadline)
        self._numbers: set[str] = set()                   # what the listing read is asked for
        self._lists = isinstance(provider, ReadsMany)      # (only then are they collected)
        self._listing: asyncio.Task[dict[str, Current] | None] | None = None
        self._listing_due = 0.0                            # loop time workers stop waiting for it
        # (0 for a retry that is due, 1 for a first try; order of arrival; the op)
        self._queue: asyncio.PriorityQueue[tuple[int, int, Op]] = asyncio.PriorityQueue()
        self._arrivals = itertools.count()
        self.crashed: Exception | None = None
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._spares: list[Connection] = []                # idle connections for hedged reads
        self._spares_made = 0

    def connection(self, *, learning: bool = False) -> Connection:
        """A connection like the workers' (for discovery and one-off calls: every request gets
        the full deadline); `learning`: the workers' own, whose card reads get the pool's
        shorter, learned `ReadDeadline`."""
        return Connection(self.provider, transport=self._transport, limiter=self._limiter,
                          deadline=self._deadline, read_deadline=self._read_deadline if learning else None)

    def start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._work()) for _ in range(self.size)]

    def put(self, op: Op, delay: float = 0.0) -> None:
        """Queue an operation now, or after `delay` seconds (without holding a worker)."""
        self._outstanding += 1
        self._idle.clear()
        if self._lists:
            self._numbers.add(op.number)
        self._requeue(op, delay)

    def _requeue(self, op: Op, delay: float) -> None:
        if delay <= 0:
            self._enqueue(op)
            return
        handle: asyncio.TimerHandle

        def due() -> None:
            self._timers.discard(handle)
            self._enqueue(op)

        handle = asyncio.get_running_loop().call_later(delay, due)
        self._timers.add(handle)

    def _enqueue(self, op: Op) -> None:
        """Due now: a retry before the first tries, each kind in order of arrival."""
        self._queue.put_nowait((0 if op.attempts else 1, next(self._arrivals), op))

    async def join(self) -> None:
        await self._idle.wait()

    async def stop(self) -> None:
        """Cancel the workers and timers; operations still queued stay unfinished."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._listing is not None:
            self._listing.cancel()
            await asyncio.gather(self._listing, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        spares, self._spares = self._spares, []
        for spare in spares:
            await spare.aclose()

    async def _work(self) -> None:
        connection = self.connection(learning=True)
        try:
            while True:
                _, _, op = await self._queue.get()
                delay = await self._attempt(op, connection)
                if op.status:
                    self._hooks.finished(op)
                    # not needed any more (the journal has the before-state): 100,000 of them add up
                    op.current = op.card = op.before = None
                    self._outstanding -= 1
                    if self._outstanding == 0:
                        self._idle.set()
                else:
                    self._requeue(op, delay)
        except Exception as exc:      # e.g. the journal can't be written: stop the run, say why
            self.crashed = exc
            self._idle.set()
        finally:
            await connection.aclose()

    async def _attempt(self, op: Op, connection: Connection) -> float:
        """One try of an operation: read, decide, write. Finishes the op, or returns how many
        seconds to wait before the next try."""
        provider, card = self.provider, op.card
        assert card is not None
        started = time.perf_counter()
        if op.started_at is None:
            op.started_at = time.time()
        if self._write and self.budget is not None:
            wait = self.budget.next_slot(op.number)
            if wait > 0:          # the write would exceed the number's budget: come back then
                op.message = (f"waiting {wait:.0f} s for {provider.name}'s budget of "
                              f"{self.budget.writes} writes per {self.budget.window:g} s for this number")
                if self._hooks.waiting is not None:
                    self._hooks.waiting(op, wait)
                return wait
        op.attempts += 1
        counted = False                       # this attempt took a slot of the write budget
        try:
            if op.current is not None and not op.in_doubt_run:
                current = op.current          # the last write failed before it changed anything
            elif self._read_first or op.in_doubt_run:
                current = await self._read(op, connection)
            else:
                current = Current(known=False)
            op.current = current
            change = provider.change(card, current)
            if (op.in_doubt_run and self._write and change.action not in ("unchanged", "unsupported")
                    and not getattr(provider, "guards_repeats", False)):
                # (a target that guards repeats itself — shares: Idempotency-Key, Linq's limit —
                # sends again and lets the provider refuse a second copy)
                found = doubt.verdict(change, current, op.before)
                if found == doubt.LANDED:
                    op.finish("unchanged", doubt.landed_message(provider.name, op.in_doubt_run),
                              action="unchanged")
                    return 0.0
                op.repeated = found == doubt.UNKNOWN
            if (op.guard is not None and change.action not in ("unchanged", "unsupported")
                    and (why := op.guard(current))):
                op.finish(Status.SKIPPED, why, action=Action.NONE)
                return 0.0
            if change.action in ("unchanged", "unsupported") or not self._write:
                if change.action not in ("unchanged", "unsupported"):
                    op.changes = compact(describe(card, current, change.fields))
                self._finish_decided(op, change)
                return 0.0
            op.action = change.action         # what was attempted, should the write fail
            if op.before is None:
                op.before = current           # the card before our first write (journal, undo)
            if self._hooks.before_write is not None:
                await self._hooks.before_write(op, change)
                if op.status:
                    return 0.0
                card = op.card
                assert card is not None
            if self.budget is not None:
                self.budget.record(op.number)
                counted = True
                self._hooks.wrote(op)
            if not op.sent:
                op.sent = True
                durable = self._hooks.sending(op)
                if durable is not None:
                    await durable             # the journal holds the mark before the write leaves
            done = await provider.write(connection.send, card, current)
            if done.action in ("unchanged", "unsupported"):
                self._finish_decided(op, done)
            else:
                op.changes = compact(describe(card, current, done.fields))
                digest = getattr(card, "photo_digest", "")
                if "photo" in done.fields and provider.photo_transport == "bytes" and digest:
                    await self._read_photo_back(op, connection, digest)
                cannot = getattr(card, "cannot", "")
                message = _outcome_message(done.action, done.fields, done.reason, planned=False)
                op.finish(Status.PARTIAL if done.refused or cannot else Status.APPLIED,
                          f"{message}; {cannot}" if cannot else message,
                          action=done.action, fields=done.fields)
            if op.repeated and op.status == "applied":
                op.message += " — " + doubt.repeat_note(provider.name, op.in_doubt_run)
            return 0.0
        except Permanent as failure:
            self._refund_refused(op, failure, counted)
            op.finish("failed", failure.message, failure=failure, action=op.action)
            return 0.0
        except Transient as failure:
            self._refund_refused(op, failure, counted)
            return self._retry_or_give_up(op, failure)
        except JournalError:                     # nothing may be sent unjournaled: stop the run
            raise
        except ProviderError as failure:       # neither kind: not worth repeating
            op.finish("failed", failure.message, failure=failure, action=op.action)
            return 0.0
        except Exception as exc:                  # an adapter's bug must not hang the run
            op.finish("failed", f"unexpected {type(exc).__name__} in the {provider.name} adapter "
                      f"({_short(exc)}) — this is a cardkit bug, please report it; the other rows "
                      "went on", action=op.action)
            return 0.0
        finally:
            op.elapsed_ms += (time.perf_counter() - started) * 1000

    def _refund_refused(self, op: Op, failure: ProviderError, counted: bool) -> None:
        """A write the provider answered with an error (4xx or 5xx, never a timeout or a drop,
        which may have landed) was refused, not spent: give its budget slot back — else a row
        refused with 403 three times waits out Linq's whole 10-minute window on the fourth try."""
        if counted and self.budget is not None and (failure.http_status or 0) >= 400 and not failure.wrote_maybe:
            self.budget.refund(op.number)
            if self._hooks.refunded is not None:
                self._hooks.refunded(op)

    async def _read_photo_back(self, op: Op, connection: Connection, sent: str) -> None:
        """Read a photo just sent as bytes back once: a provider that re-encodes it returns other
        bytes, and remembering that pair keeps later runs from sending the photo again."""
        if self._hooks.photo_alias is None:
            return
        try:
            now = await self.provider.read(connection.send, op.number)
        except ProviderError:
            return                  # the write stands; only the remembering is lost
        returned = str(now.fields.get("photo") or "") if now.known else ""
        if returned and returned != sent:
            self._hooks.photo_alias(op, sent, returned)

    async def _read(self, op: Op, connection: Connection) -> Current:
        """The op's current card: from the pool's one listing request where the provider has
        one (`ReadsMany`) and the card is not in doubt, else one read of its number.

        The listing runs once, in the background; workers wait for it until one read deadline
        after it began, then read their numbers themselves until it is back, so a slow listing
        idles no one for long."""
        if not op.in_doubt_run and self._lists:
            loop = asyncio.get_running_loop()
            if self._listing is None:
                self._listing = asyncio.ensure_future(self._list_all())
                self._listing_due = loop.time() + self._read_deadline.seconds()
            if not self._listing.done() and loop.time() < self._listing_due:
                await asyncio.wait([self._listing], timeout=self._listing_due - loop.time())
            if self._listing.done() and not self._listing.cancelled():
                listed = self._listing.result()
                current = listed.pop(op.number, None) if listed is not None else None
                if current is not None:
                    return current
        return await self._read_number(op.number, connection)

    #: At most this share of the workers' count reads a hedge at once (at least one).
    HEDGE_SHARE = 8

    async def _read_number(self, number: str, connection: Connection) -> Current:
        """One read of `number` — hedged: a read still unanswered after the recent reads' p95
        gets a second copy on a spare connection, and the first answer wins (a read changes
        nothing, so two copies are harmless; "The Tail at Scale"). Without a spare free, or
        before enough reads were seen to know the p95, the read simply runs to its deadline."""
        after = self._read_deadline.hedge_after()
        if after is None:
            return await self.provider.read(connection.send, number)
        tasks = [asyncio.ensure_future(self.provider.read(connection.send, number))]
        spare = None
        try:
            done, _ = await asyncio.wait(tasks, timeout=after)
            if not done:
                spare = self._take_spare()
                if spare is not None:
                    tasks.append(asyncio.ensure_future(self.provider.read(spare.send, number)))
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            winner = next((t for t in tasks if t in done and t.exception() is None), next(iter(done)))
            return winner.result()
        finally:
            late = [t for t in tasks if not t.done()]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)   # the connection is free again
            for task in tasks:
                if task.done() and not task.cancelled():
                    task.exception()           # the loser's failure: seen, not logged as lost
            if spare is not None:
                self._spares.append(spare)

    def _take_spare(self) -> Connection | None:
        """An idle spare connection for a hedge, opening one while fewer than the limit exist."""
        if self._spares:
            return self._spares.pop()
        if self._spares_made >= max(1, self.size // self.HEDGE_SHARE):
            return None
        self._spares_made += 1
        return self.connection(learning=True)

    async def _list_all(self) -> dict[str, Current] | None:
        """Every queued number's card with one listing request (None when it fails)."""
        assert isinstance(self.provider, ReadsMany)
        provider, connection = self.provider, self.connection()
        try:
            tried = await call_with_retries(lambda: provider.read_many(connection.send, list(self._numbers)),
                                            self._policy)
        except Exception:          # an adapter's bug: fall back to reading number by number
            return None
        finally:
            await connection.aclose()
        return tried.value

    def _retry_or_give_up(self, op: Op, failure: Transient) -> float:
        """The one place a pool decides, after a temporary failure, whether an operation goes
        back on the queue (returns the seconds until it is due) or ends `failed` (returns 0)."""
        if failure.wrote_maybe:
            op.in_doubt_run = op.in_doubt_run or "this run"   # read back before re-sending
            op.current = None
        decision = self._policy.after(failure, op.attempts, remedy=self._remedy)
        if not decision.retry:
            op.finish("failed", decision.message, failure=failure)
            return 0.0
        op.http_status, op.error_code = failure.http_status, failure.error_code or ""
        op.message = decision.message
        if self._hooks.retried is not None:
            self._hooks.retried(op, op.attempts, failure.message, decision.delay, bool(failure.retry_after))
        return decision.delay

    def _finish_decided(self, op: Op, change: Change) -> None:
        """Finish an op whose outcome was decided without a write (or plan-only)."""
        cannot = getattr(op.card, "cannot", "")
        if change.action == "unchanged" and (change.refused or cannot):
            op.finish(Status.PARTIAL, "; ".join(t for t in (change.reason, cannot) if t),
                      action=Action.UNCHANGED)
        elif change.action == "unchanged":
            op.finish("unchanged", _unchanged_message(op), action="unchanged")
        elif change.action == "unsupported":
            op.finish("invalid", change.reason or f"{self.provider.name} can't take this card",
                      action="unsupported", fields=change.fields)
        else:
            message = _outcome_message(change.action, change.fields, change.reason, planned=True)
            op.finish("planned", f"{message}; {cannot}" if cannot else message,
                      action=change.action, fields=change.fields)


def _short(exc: BaseException) -> str:
    return shorten(" ".join(str(exc).split()) or "no message", 200)


def _unchanged_message(op: Op) -> str:
    if op.in_doubt_run == "this run":
        return "the write that timed out had landed (confirmed by reading it back): not sent again"
    if op.in_doubt_run:
        return (f"the write run {op.in_doubt_run} left unconfirmed had landed (confirmed by reading "
                "it back): not sent again")
    return "the provider already has this card: nothing sent"


_DONE = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "share": "shared"}


@functools.lru_cache(maxsize=256)   # one string shared by the many rows that read alike
def _outcome_message(action: str, fields: tuple[str, ...], reason: str, *, planned: bool) -> str:
    """`updated: first_name, photo` — or, for a plan, `would update: first_name, photo`."""
    what = (f"would {action}" if planned else _DONE[action]) if action in _DONE else action
    text = f"{what}: {', '.join(fields)}" if fields else what
    return f"{text} ({reason})" if reason else text
