"""What a run tells the faces while it goes: typed events for progress bars, forms and logs.

    def show(event: cardkit.engine.events.Event) -> None:
        if isinstance(event, Finished):
            print(event.result["row"], event.status, event.result["message"])

    cardkit.apply(cards, events=show)

Like stamina's hooks and httpx's event hooks: a plain callable, called on the run's own event
loop, synchronously and in order. It must be quick (it runs between requests) and must not
raise: an exception from it stops the run like any bug would. The tqdm bar
(`cardkit.engine.progress`) and the notebook forms are subscribers like any other.

A run emits `Started` once, then `Finished` for every operation (those decided before any
request — invalid rows, resumed rows — right after `Started`), `Retried` and `Waiting` while
operations wait, and `Done` once at the end, however it ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cardkit.vocabulary import Status

#: why an operation waits: the provider's Retry-After, Linq's per-number write budget, or backoff
WaitReason = Literal["retry-after", "budget", "backoff"]


@dataclass(frozen=True)
class Started:
    """The run begins sending: `total` operations, `pending` of them still to do."""

    run_id: str
    kind: str                      # "cards" or another batch kind ("contacts")
    write: bool                    # False for a plan or a dry run
    total: int
    pending: int
    providers: tuple[str, ...]


@dataclass(frozen=True)
class Finished:
    """One operation ended; `result` is its row of the results frame (`RESULT_COLUMNS`)."""

    result: Mapping[str, Any]

    @property
    def status(self) -> Status:
        return Status(self.result["status"])


@dataclass(frozen=True)
class Retried:
    """An attempt failed with something temporary; the operation is tried again at `next_at`."""

    row: int
    number: str
    provider: str
    attempt: int                   # attempts made so far
    why: str                       # the failure, as the results' message would say it
    next_at: dt.datetime           # UTC
    http_status: int | None = None
    error_code: str = ""


@dataclass(frozen=True)
class Waiting:
    """An operation is put aside until `until` (UTC) without holding a worker."""

    row: int
    number: str
    provider: str
    until: dt.datetime
    reason: WaitReason
    message: str


@dataclass(frozen=True)
class Done:
    """The run ended: how many operations ended in each status; `cancelled` if it was stopped.

    `results` is the run's results frame (partial when cancelled): a face whose task was
    cancelled outright still gets what the run did."""

    run_id: str
    counts: Mapping[str, int] = field(default_factory=dict)
    cancelled: bool = False
    results: Any = field(default=None, repr=False)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


Event = Started | Finished | Retried | Waiting | Done
#: the type of `events=`
Events = Callable[[Event], None]


def fan_out(sinks: Iterable[Events | None]) -> Events | None:
    """One callable that passes each event to every given sink (None when there is none)."""
    chosen = [sink for sink in sinks if sink is not None]
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]

    def emit(event: Event) -> None:
        for sink in chosen:
            sink(event)

    return emit


def after(seconds: float) -> dt.datetime:
    """The UTC time `seconds` from now (when a wait ends)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=max(seconds, 0.0))
