"""The apply engine: plan and apply cards at the providers, concurrently, resumably.

    results = cardkit.apply(cards, providers="auto")          # sync: scripts and notebooks
    results = await cardkit.apply_async(cards, providers="auto")
    preview = cardkit.plan(cards, providers="auto")            # reads only, never writes
    results = await run_async(cards, RunOptions(...))          # the options as one value

One async core (`run.Run`) with a thin sync face (`bridge.run_sync`); `apply`/`plan` and their
async twins only turn their keyword arguments into a `RunOptions` (`options`). Modules, one
concept each: `options` (what a run is told), `events` (what it tells the faces), `run`
(orchestration), `routing`, `lookups` (current card, owners), `operations` (cards → operations,
photos), `workers` (per-provider pools), `connections` (one connection per worker),
`retry_policy` (the one retry policy, and its `testing()` switch for tests), `limits` (rate,
Linq's budget), `journal` (SQLite, resume), `results` (the results frame), `progress` (the tqdm
bar, an events subscriber), `bridge`, `sharing`, `retry_failed` (re-run a journal's failed rows).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from cardkit.engine.bridge import run_sync
from cardkit.engine.changes import as_text as changes_text
from cardkit.engine.events import Event, Events
from cardkit.engine.journal import Journal
from cardkit.engine.lookups import Owners, owners, owners_async, read_current, read_current_async
from cardkit.engine.options import AccountsSpec, Cancel, JournalSpec, Providers, RunOptions
from cardkit.engine.results import ResultsFrame
from cardkit.engine.retry_failed import retry, retry_async
from cardkit.engine.retry_policy import DEFAULT_MAX_ATTEMPTS, testing
from cardkit.engine.run import Run
from cardkit.engine.sharing import read_chats, share, share_async, share_card, share_card_async
from cardkit.providers.base import DEFAULT_TIMEOUT

__all__ = ["apply", "apply_async", "plan", "plan_async", "run", "run_async", "RunOptions", "Event",
           "Events", "read_current", "read_current_async", "owners", "owners_async", "Owners",
           "share_card", "share_card_async", "share", "share_async", "read_chats", "retry", "retry_async", "Journal", "ResultsFrame",
           "testing", "DEFAULT_MAX_ATTEMPTS", "changes_text"]

P = ParamSpec("P")
T = TypeVar("T")


async def run_async(cards: Any, options: RunOptions | None = None) -> ResultsFrame:
    """Plan or apply `cards` as `options` say (a `RunOptions`; the defaults apply "auto")."""
    return await Run(cards, options).execute()


def run(cards: Any, options: RunOptions | None = None) -> ResultsFrame:
    """Sync `run_async`: works in scripts and inside a running loop (Jupyter).

    Ctrl-C / a kernel interrupt stops the run cleanly and returns the partial results, the rows
    that never ran marked `skipped` ("cancelled before it ran")."""
    one = Run(cards, options)
    return run_sync(one.execute, partial=one.partial_results)


def _faces(build: Callable[P, RunOptions]) -> tuple[Callable[P, Coroutine[Any, Any, ResultsFrame]],
                                                      Callable[P, ResultsFrame]]:
    """The async and the sync function over one options builder: `build(cards, …)`'s keyword
    arguments become a `RunOptions`, handed to `run_async` / `run` with the cards."""
    signature = inspect.signature(build)
    signature = signature.replace(return_annotation="ResultsFrame")

    def split(args: Any, kwargs: Any) -> tuple[Any, RunOptions]:
        bound = signature.bind(*args, **kwargs)
        return bound.arguments["cards"], build(*args, **kwargs)

    @functools.wraps(build)
    async def async_face(*args: P.args, **kwargs: P.kwargs) -> ResultsFrame:
        return await run_async(*split(args, kwargs))

    @functools.wraps(build)
    def sync_face(*args: P.args, **kwargs: P.kwargs) -> ResultsFrame:
        return run(*split(args, kwargs))

    for face in (async_face, sync_face):
        setattr(face, "__signature__", signature)  # noqa: B010 (no type: ignore needed)  for help(): `-> ResultsFrame`, not `-> RunOptions`
    return async_face, sync_face


def _apply_options(cards: Any, providers: Providers = "auto", *, sandbox: Any = None, photo_host: Any = None,
                   photo_base_url: str | None = None,
                   region: str = "US", journal: JournalSpec = None, resume: bool = True,
                   dry_run: bool = False, max_at_once: int | None = None,
                   max_per_second: float | None = None, progress: bool = True, cancel: Cancel | None = None,
                   read_first: bool = True, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                   timeout: float = DEFAULT_TIMEOUT, events: Events | None = None,
                   limit: int | None = None, accounts: AccountsSpec = None) -> RunOptions:
    """Apply every valid card at its provider(s); one results row per card × provider.

    `cards`: a frame from `read_cards`/`validate` (validated here if it isn't) or a file path.
    `providers`: "auto" (route each row to the configured provider owning its number), names
    ("blooio,linq" or a list) or adapter instances; a row's `provider` cell wins.
    `sandbox=True`: run against a fresh in-process sandbox. `photo_host`: where local photos go
    for URL providers (`"s3://BUCKET/PREFIX"` with the `s3` extra, an object with `upload`, or
    the URL of a sandbox media host; default `CARDKIT_PHOTO_HOST`; False for none).
    `photo_base_url`: the public https address of that s3 prefix (a public bucket or CDN; default
    `CARDKIT_PHOTO_BASE_URL`) — without it providers get presigned URLs valid 7 days. `journal`: a path, False for none, None for the default
    (beside the input file; none for the in-process sandbox). `resume`: skip what the journal
    says was applied with the same card. `dry_run`: read and decide, write nothing.
    `max_at_once` / `max_per_second`: requests in flight / per second per provider (default: the
    provider's own limits). `timeout`: seconds one request may take (enforced by the engine).
    `max_attempts`: tries per operation. `read_first=False` trusts the journal and skips reading
    the provider before writing (one request per card; a card already right is written again).
    `cancel`: an event whose `is_set()` stops the run cleanly. `progress`: a progress bar on a
    terminal or in a notebook. `events`: called with each `cardkit.engine.events` event.
    `limit=N`: a trial batch of the first N valid rows (journaled; run again without it to go on).
    `accounts`: an accounts file (TOML) naming several accounts per provider, their secrets in
    environment variables (None: the vendors' own variables, one account per provider).

    The sync `apply` works in scripts and inside a running loop (Jupyter); Ctrl-C / a kernel
    interrupt stops the run cleanly and returns the partial results, the rows that never ran
    marked `skipped` ("cancelled before it ran"). A bad option is an `InputError` naming it.
    """
    return RunOptions(providers=providers, sandbox=sandbox, photo_host=photo_host,
                      photo_base_url=photo_base_url, region=region,
                      journal=journal, resume=resume, dry_run=dry_run, max_at_once=max_at_once,
                      max_per_second=max_per_second, progress=progress, cancel=cancel,
                      read_first=read_first, max_attempts=max_attempts, timeout=timeout, events=events,
                      limit=limit, accounts=accounts)


def _plan_options(cards: Any, providers: Providers = "auto", *, sandbox: Any = None, photo_host: Any = None,
                  photo_base_url: str | None = None,
                  region: str = "US", journal: JournalSpec = None, resume: bool = True,
                  max_at_once: int | None = None, max_per_second: float | None = None,
                  progress: bool = True, cancel: Cancel | None = None, read_first: bool = True,
                  max_attempts: int = DEFAULT_MAX_ATTEMPTS, timeout: float = DEFAULT_TIMEOUT,
                  events: Events | None = None, limit: int | None = None,
                  accounts: AccountsSpec = None) -> RunOptions:
    """What `apply` would do, per card × provider — reads only, never writes.

    Same options as `apply` (without `dry_run`: a plan is one); no journal unless one is given.
    Sync `plan` works in scripts and notebooks alike.
    """
    return _apply_options(cards, providers, sandbox=sandbox, photo_host=photo_host,
                          photo_base_url=photo_base_url, region=region,
                          journal=journal, resume=resume, dry_run=True, max_at_once=max_at_once,
                          max_per_second=max_per_second, progress=progress, cancel=cancel,
                          read_first=read_first, max_attempts=max_attempts, timeout=timeout, events=events,
                          limit=limit, accounts=accounts)


apply_async, apply = _faces(_apply_options)
plan_async, plan = _faces(_plan_options)
for _face, _name in ((apply_async, "apply_async"), (apply, "apply"), (plan_async, "plan_async"), (plan, "plan")):
    _face.__name__ = _face.__qualname__ = _name
del _face, _name
