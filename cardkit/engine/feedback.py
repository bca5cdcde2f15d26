"""A report fed back: its journal found, and the whole original run seen by the checks.

A report's Failed sheet read by `read_cards` carries `attrs["cardkit"]["fed_back"]` (the
original sheet's identity and the journal's path: see `cardkit.columns.IDENTITY_KEYS`). Here
the engine finds that journal without being told (`--journal` not needed) and tells
validation which numbers other rows of the original sheet already have applied, so a row that
was a duplicate in the first run stays one when it comes back without its twin.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from cardkit.vocabulary import DONE


def fed_back(cards: Any) -> dict[str, str]:
    """The identity a fed-back report carries ({} for any other sheet)."""
    if not isinstance(cards, pd.DataFrame):
        return {}
    return dict((cards.attrs.get("cardkit") or {}).get("fed_back") or {})


def remembered_journal(cards: Any) -> Path | None:
    """The journal a fed-back report remembers, if it is still there: where it was written, or
    beside the report under the same name (the folder was moved or mailed with it)."""
    identity = fed_back(cards)
    recorded = identity.get("journal")
    if not recorded:
        return None
    candidates = [Path(recorded)]
    if identity.get("report"):
        candidates.append(Path(identity["report"]).parent / Path(recorded).name)
    return next((path for path in candidates if path.is_file()), None)


def done_rows(journal_path: Path, rows: Any) -> dict[str, int]:
    """Number → original row, for every row of the journal's runs that ended done and is not
    among `rows` (the fed-back sheet's own rows): the first such row of each number."""
    from cardkit.engine.journal import Journal

    present = {int(r) for r in rows}
    found: dict[str, int] = {}
    with Journal(journal_path) as journal:
        runs = journal.runs()
        for run_id in runs["run_id"]:
            results = journal.results(run_id)
            done = results[results["status"].isin([str(s) for s in DONE])]
            for row, number in zip(done["row"], done["number"]):
                if int(row) not in present and number:
                    found.setdefault(str(number), int(row))
    return found


def with_original_run(cards: pd.DataFrame, journal_path: str | os.PathLike[str] | None) -> pd.DataFrame:
    """`cards` knowing the original run's done rows (for the duplicate check), when fed back."""
    if journal_path is None or not fed_back(cards) or not Path(journal_path).is_file():
        return cards
    out = cards.copy()
    out.attrs = {"cardkit": {**cards.attrs.get("cardkit", {}),
                             "done_rows": done_rows(Path(journal_path), cards["row"])}}
    return out
