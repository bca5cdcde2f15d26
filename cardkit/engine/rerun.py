"""Run again the operations of a past run that did not end applied, unchanged or invalid.

    cardkit.engine.retry("cards.journal.sqlite")       # the latest run in that journal

The cards are taken from the journal as that run validated them (same rows, same providers),
so a retry needs neither the original file nor its photos to have stayed unchanged — but
local photos are read again from their paths, and URL providers need the photo host again.
"""

from __future__ import annotations

import os
from typing import Any

from cardkit.engine.bridge import run_sync
from cardkit.engine.journal import Journal
from cardkit.engine.results import ResultsFrame
from cardkit.engine.run import Run
from cardkit.errors import JournalError


def _retry_run(journal_path: str | os.PathLike[str], providers: Any, run_id: str | None,
               options: dict[str, Any]) -> Run:
    with Journal(journal_path) as journal:
        run_id = run_id or journal.latest_run()
        info = journal.run_info(run_id)
        if info["kind"] != "cards":
            raise JournalError(
                f"run {run_id} in {str(journal_path)!r} is a {info['kind']} run: run its sheet again "
                "with the same journal (resume skips what was applied) — retry re-runs cards runs")
        cards = journal.cards(run_id, only_unfinished=True)
    cards["valid"] = True
    cards["problems"] = ""
    cards.attrs["cardkit"] = {"source": info.get("source"), "sha256": info.get("sha256")}
    if providers is None:
        providers = ",".join(info["providers"]) or "auto"
    options.setdefault("region", info["options"].get("region", "US"))
    return Run(cards, providers, write=not options.pop("dry_run", False), journal=journal_path, **options)


async def retry_async(journal_path: str | os.PathLike[str], providers: Any = None, *,
                      run_id: str | None = None, **options: Any) -> ResultsFrame:
    """Re-run the failed and unprocessed operations of a past run (latest by default).

    Takes `apply`'s options (`sandbox=`, `photo_host=`, `max_at_once=`, …); the results are
    a new run in the same journal."""
    return await _retry_run(journal_path, providers, run_id, options).execute()


def retry(journal_path: str | os.PathLike[str], providers: Any = None, *,
          run_id: str | None = None, **options: Any) -> ResultsFrame:
    """Sync `retry_async` (scripts and notebooks alike)."""
    run = _retry_run(journal_path, providers, run_id, options)
    return run_sync(run.execute, partial=run.partial_results)
