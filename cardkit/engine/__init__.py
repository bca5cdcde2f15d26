"""The apply engine: plan and apply cards at the providers, concurrently, resumably.

    results = cardkit.apply(cards, providers="auto")          # sync: scripts and notebooks
    results = await cardkit.apply_async(cards, providers="auto")
    preview = cardkit.plan(cards, providers="auto")            # reads only, never writes

One async core (`run.Run`) with a thin sync face (`bridge.run_sync`). Modules, one concept each:
`run` (orchestration), `routing`, `operations` (cards → operations, photos), `workers`
(per-provider pools), `connections` (one connection per worker), `retry_policy` (the one retry
policy, and its `testing()` switch for tests), `limits` (rate, Linq's budget), `journal` (SQLite,
resume), `results` (the results frame), `progress`, `bridge`, `sharing`.
"""

from __future__ import annotations

import inspect
from typing import Any

from cardkit.engine.bridge import run_sync
from cardkit.engine.journal import Journal
from cardkit.engine.rerun import retry, retry_async
from cardkit.engine.results import ResultsFrame
from cardkit.engine.retry_policy import DEFAULT_MAX_ATTEMPTS, testing
from cardkit.engine.run import Run
from cardkit.engine.sharing import share_card, share_card_async
from cardkit.providers.base import DEFAULT_TIMEOUT

__all__ = ["apply", "apply_async", "plan", "plan_async", "share_card", "share_card_async",
           "retry", "retry_async", "Journal", "ResultsFrame", "testing", "DEFAULT_MAX_ATTEMPTS"]


async def apply_async(cards: Any, providers: Any = "auto", *, sandbox: Any = None, photo_host: Any = None,
                      region: str = "US", journal: Any = None, resume: bool = True,
                      dry_run: bool = False, max_at_once: int | None = None,
                      max_per_second: float | None = None, progress: bool = True, cancel: Any = None,
                      read_first: bool = True, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                      timeout: float = DEFAULT_TIMEOUT) -> ResultsFrame:
    """Apply every valid card at its provider(s); one results row per card × provider.

    `cards`: a frame from `read_cards`/`validate` (validated here if it isn't) or a file path.
    `providers`: "auto" (route each row to the configured provider owning its number), names
    ("blooio,linq" or a list) or adapter instances; a row's `provider` cell wins.
    `sandbox=True`: run against a fresh in-process sandbox. `photo_host`: where local photos go
    for URL providers (an object with `upload`, or the URL of a sandbox media host; default
    `CARDKIT_PHOTO_HOST`; False for none). `journal`: a path, False for none, None for the default
    (beside the input file; none for the in-process sandbox). `resume`: skip what the journal
    says was applied with the same card. `dry_run`: read and decide, write nothing.
    `timeout`: seconds one request may take (enforced by the engine). `max_attempts`: tries
    per operation. `read_first=False` trusts the journal and skips reading the provider before
    writing (one request per card; a card already right is written again). `cancel`: an event
    whose `is_set()` stops the run cleanly.
    """
    run = Run(cards, providers, write=not dry_run, sandbox=sandbox, photo_host=photo_host, region=region,
              journal=journal, resume=resume, max_at_once=max_at_once, max_per_second=max_per_second,
              progress=progress, cancel=cancel, read_first=read_first, max_attempts=max_attempts,
              timeout=timeout)
    return await run.execute()


def apply(cards: Any, providers: Any = "auto", **options: Any) -> ResultsFrame:
    """Sync `apply_async`: works in scripts and inside a running loop (Jupyter).

    Ctrl-C / a kernel interrupt stops the run cleanly and returns the partial results, the rows
    that never ran marked `skipped` ("cancelled before it ran")."""
    run = Run(cards, providers, write=not options.pop("dry_run", False), **options)
    return run_sync(run.execute, partial=run.partial_results)


apply.__signature__ = inspect.signature(apply_async)  # type: ignore[attr-defined]  # for help()


async def plan_async(cards: Any, providers: Any = "auto", **options: Any) -> ResultsFrame:
    """What `apply` would do, per card × provider — reads only, never writes.

    Same options as `apply_async` (without `dry_run`); no journal unless one is given."""
    options.pop("dry_run", None)
    return await Run(cards, providers, write=False, **options).execute()


def plan(cards: Any, providers: Any = "auto", **options: Any) -> ResultsFrame:
    """Sync `plan_async` (scripts and notebooks alike)."""
    options.pop("dry_run", None)
    run = Run(cards, providers, write=False, **options)
    return run_sync(run.execute, partial=run.partial_results)
