"""`cardkit.pull`: start from what is live — every number the accounts hold, as a sheet.

    cards = cardkit.pull(sandbox=box, out="live.xlsx")   # writes live.xlsx and photos/ beside it
    cards = cardkit.pull()                                # the frame only (photos marked [keep])

The reading is the engine's (`cardkit.engine.pull`); this face writes the sheet with the
reports' formula-safe writers, so a name that looks like a formula stays text. Feed the file
back to `cardkit plan`: every row is `unchanged` until a cell is edited.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from cardkit.engine.bridge import run_sync
from cardkit.engine.pull import pull_async as _pull_frame
from cardkit.engine.retry_policy import DEFAULT_MAX_ATTEMPTS
from cardkit.errors import InputError
from cardkit.providers.base import DEFAULT_TIMEOUT

SHEET_SUFFIXES = (".xlsx", ".csv")


async def pull_async(providers: Any = "auto", *, accounts: Any = None, sandbox: Any = None, out: str | os.PathLike[str] | None = None,
                     numbers: Iterable[str] | None = None, max_at_once: int | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                     timeout: float = DEFAULT_TIMEOUT, progress: bool = True,
                     events: Callable[[Any], None] | None = None) -> pd.DataFrame:
    """Every number `providers` hold with its current card; written to `out` (.xlsx/.csv) when
    given, Blooio's photos as `photos/<number>.jpg` beside it. `numbers` (E.164): only these."""
    path = _sheet_path(out) if out is not None else None
    frame = await _pull_frame(providers, accounts=accounts, sandbox=sandbox, photo_folder=path.parent if path else None,
                              numbers=numbers, max_at_once=max_at_once, max_attempts=max_attempts, timeout=timeout,
                              progress=progress, events=events)
    if path is not None:
        write_sheet(frame, path)
        frame.attrs["cardkit"]["source"] = str(path)
    return frame


def pull(providers: Any = "auto", *, accounts: Any = None, sandbox: Any = None, out: str | os.PathLike[str] | None = None,
         numbers: Iterable[str] | None = None, max_at_once: int | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
         timeout: float = DEFAULT_TIMEOUT, progress: bool = True,
         events: Callable[[Any], None] | None = None) -> pd.DataFrame:
    """Sync `pull_async` (scripts and notebooks alike)."""
    def interrupted() -> pd.DataFrame:
        raise KeyboardInterrupt

    return run_sync(lambda: pull_async(providers, accounts=accounts, sandbox=sandbox, out=out, numbers=numbers, max_at_once=max_at_once,
                                       max_attempts=max_attempts, timeout=timeout, progress=progress,
                                       events=events), partial=interrupted)


def write_sheet(frame: pd.DataFrame, path: Path) -> Path:
    """The pulled frame as a sheet cardkit reads back (formula-safe; every cell text)."""
    from cardkit.reporting.csvjson import write_table_csv
    from cardkit.reporting.xlsx import write_table_xlsx

    try:
        if path.suffix.lower() == ".csv":
            return write_table_csv(frame, path)
        return write_table_xlsx(frame, path, title="Cards")
    except OSError as exc:
        raise InputError(f"cannot write {str(path)!r}: {exc.strerror or exc} — choose another path") from None


def _sheet_path(out: str | os.PathLike[str]) -> Path:
    path = Path(out)
    if path.suffix.lower() not in SHEET_SUFFIXES:
        raise InputError(f"out={str(out)!r}: name a .xlsx or .csv file (the pulled sheet)")
    if not path.parent.exists():
        raise InputError(f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist — create it first")
    return path.resolve()
