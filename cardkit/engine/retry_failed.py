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
from cardkit.engine.options import RunOptions
from cardkit.engine.results import ResultsFrame
from cardkit.engine.run import Run
from cardkit.errors import JournalError


def _retry_run(journal_path: str | os.PathLike[str], providers: Any, run_id: str | None,
               options: RunOptions | None, more: dict[str, Any]) -> Run:
    with Journal(journal_path) as journal:
        run_id = run_id or journal.latest_run()
        info = journal.run_info(run_id)
        if info["kind"] != "cards":
            raise JournalError(
                f"run {run_id} in {str(journal_path)!r} is a {info['kind']} run: run its sheet again "
                "with the same journal (resume skips what was applied) — retry re-runs cards runs")
        cards = journal.cards(run_id, only_unfinished=True)
        # what the user wrote (their headers, their extra columns), kept run after run
        written = journal.inputs(run_id)
    cards["valid"] = True
    cards["problems"] = ""
    cards.attrs["cardkit"] = {"source": info.get("source"), "sha256": info.get("sha256")}
    if providers is None:
        providers = ",".join(info["providers"]) or "auto"
    if options is None:       # the retried run's region unless one is given
        options = RunOptions(**{**more, "region": more.get("region") or info["options"].get("region", "US")})
    elif more:
        options = options.replace(**more)
    recorded = info["options"].get("accounts")
    if options.accounts is None and recorded:     # the retried run's accounts file (it names variables only)
        options = options.replace(accounts=recorded)
    return Run(cards, options.replace(providers=providers, journal=journal_path), as_written=written)


async def retry_async(journal_path: str | os.PathLike[str], providers: Any = None, *,
                      run_id: str | None = None, options: RunOptions | None = None,
                      **more: Any) -> ResultsFrame:
    """Re-run the failed and unprocessed operations of a past run (latest by default).

    Takes `apply`'s options as a `RunOptions` (`options=`) and/or as keywords (`sandbox=`,
    `photo_host=`, `max_at_once=`, …), the journal aside — it is this one; the region defaults
    to the retried run's. The results are a new run in the same journal."""
    return await _retry_run(journal_path, providers, run_id, options, more).execute()


def retry(journal_path: str | os.PathLike[str], providers: Any = None, *,
          run_id: str | None = None, options: RunOptions | None = None, **more: Any) -> ResultsFrame:
    """Sync `retry_async` (scripts and notebooks alike)."""
    run = _retry_run(journal_path, providers, run_id, options, more)
    return run_sync(run.execute, partial=run.partial_results)
