"""The options of one run, as one frozen, typed value checked once.

    options = RunOptions(providers="auto", sandbox=True, max_at_once=4)
    results = await cardkit.engine.run_async(cards, options)

`cardkit.apply`/`plan` (and their async twins) take the same options as keyword arguments and
build a `RunOptions`; the command line and the notebook forms build one from their own inputs.
Whatever builds it, the checks are these, and a bad value is an `InputError` naming the option.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Union

from cardkit.engine.retry_policy import DEFAULT_MAX_ATTEMPTS
from cardkit.errors import InputError
from cardkit.providers.base import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from cardkit.engine.events import Event
    from cardkit.providers.accounts import Accounts
    from cardkit.providers.base import Provider
    from cardkit.providers.media import PhotoHost
    from cardkit.sandbox import Sandbox

#: "auto", "blooio,linq", a list of names and/or adapters, or one adapter.
Providers = Union[str, Sequence[Union[str, "Provider"]], "Provider", None]
#: a path, False for none, None for the default (beside the input file).
JournalSpec = Union[str, "os.PathLike[str]", bool, None]
#: an accounts file's path, its parsed `Accounts`, or None (the vendors' variables).
AccountsSpec = Union[str, "os.PathLike[str]", "Accounts", None]
#: anything that is called with each `cardkit.engine.events` event.
EventSink = Callable[["Event"], None]


class Cancel(Protocol):
    """What `cancel=` takes: an `asyncio.Event`, a `threading.Event`, or anything with `is_set()`."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """Everything a plan or an apply run is told, besides the cards themselves.

    providers: "auto" (each row to the configured provider owning its number), names
        ("blooio,linq" or a list) or adapter instances; a row's `provider` cell wins.
    sandbox: True for a fresh in-process sandbox, a `Sandbox`, or None for the real providers.
    photo_host: where local photos go for URL providers ("s3://BUCKET/PREFIX" with the `s3`
        extra, an object with `upload`, or the URL of a sandbox media host); None:
        `$CARDKIT_PHOTO_HOST`; False: none.
    photo_base_url: the public https address of that s3 prefix (a public bucket or CDN); None:
        `$CARDKIT_PHOTO_BASE_URL`, else presigned URLs valid 7 days.
    region: the region of numbers written without a +country code.
    journal: a path, False for none, None for the default (beside the input file; none for the
        in-process sandbox and for plans).
    resume: skip what the journal says was applied with the same card.
    dry_run: read and decide, write nothing (what `plan` does).
    max_at_once: requests in flight per provider (default: the provider's own limit).
    max_per_second: requests per second per provider (default: the provider's own limit).
    progress: draw a progress bar (terminal or notebook only).
    cancel: an event whose `is_set()` stops the run cleanly.
    read_first: read the provider before writing; False trusts the journal (one request per
        card; a card already right is written again).
    max_attempts: tries per operation, the first included.
    timeout: seconds one request may take (enforced by the engine).
    events: called with each `cardkit.engine.events` event (started, finished, retried,
        waiting, done), on the run's event loop; keep it quick.
    limit: a trial batch — only the first `limit` valid rows run (the rest are `skipped`,
        saying so); journaled like any run, so running again without it continues.
    accounts: an accounts file (TOML path, or `cardkit.providers.accounts.Accounts`): several
        named accounts per provider, their secrets in the environment variables it names;
        None: the vendors' own variables, one account per provider.
    """

    providers: Providers = "auto"
    sandbox: bool | Sandbox | None = None
    photo_host: PhotoHost | str | bool | None = None
    photo_base_url: str | None = None
    region: str = "US"
    journal: JournalSpec = None
    resume: bool = True
    dry_run: bool = False
    max_at_once: int | None = None
    max_per_second: float | None = None
    progress: bool = True
    cancel: Cancel | None = None
    read_first: bool = True
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout: float = DEFAULT_TIMEOUT
    events: EventSink | None = None
    limit: int | None = None
    accounts: AccountsSpec = None

    def __post_init__(self) -> None:
        _whole_at_least("limit", self.limit, 1, optional=True)
        _whole_at_least("max_at_once", self.max_at_once, 1, optional=True)
        _whole_at_least("max_attempts", self.max_attempts, 1)
        _positive("max_per_second", self.max_per_second, optional=True)
        _positive("timeout", self.timeout)
        if not isinstance(self.region, str) or not self.region.strip():
            raise InputError(f"region={self.region!r}: give a two-letter country code such as US, GB or DE")
        if self.cancel is not None and not callable(getattr(self.cancel, "is_set", None)):
            raise InputError(f"cancel={self.cancel!r}: give an asyncio.Event or threading.Event "
                             "(anything with is_set())")
        if self.events is not None and not callable(self.events):
            raise InputError(f"events={self.events!r}: give a function that takes one event")
        if not isinstance(self.journal, (str, os.PathLike, bool, type(None))):
            raise InputError(f"journal={self.journal!r}: give a path, False for none, or None for the default")
        if self.accounts is not None:
            from cardkit.providers.accounts import read_accounts

            read_accounts(self.accounts)       # a bad file fails here, naming what is wrong

    @property
    def write(self) -> bool:
        """True for an apply that writes, False for a plan or a dry run."""
        return not self.dry_run

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with some options changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def recorded(self) -> dict[str, Any]:
        """The options a journal keeps with the run (no objects, no secrets)."""
        recorded = {"region": self.region, "read_first": self.read_first, "max_at_once": self.max_at_once,
                     "max_per_second": self.max_per_second, "max_attempts": self.max_attempts,
                     "limit": self.limit}
        if isinstance(self.accounts, (str, os.PathLike)):
            recorded["accounts"] = os.fspath(self.accounts)     # a path; the file names variables only
        return recorded


def _whole_at_least(name: str, value: Any, least: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InputError(f"{name}={value!r}: give a whole number of at least {least}"
                         + (" (or None for the default)" if optional else ""))


def _positive(name: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value <= 0):
        raise InputError(f"{name}={value!r}: give a positive number of seconds" if name == "timeout"
                         else f"{name}={value!r}: give a positive number" + (" (or None for the default)"
                                                                             if optional else ""))
