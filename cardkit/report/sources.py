"""Where a report's inputs and run metadata come from: a cards frame, or a past run's journal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cardkit.errors import InputError, JournalError
from cardkit.report.summary import RunInfo


def inputs_by_row(written: pd.DataFrame, rows) -> pd.DataFrame:
    """The user's columns as written, indexed by the spreadsheet's row number."""
    frame = written.reset_index(drop=True).copy()
    frame.index = pd.Index(pd.Series(rows).astype("int64").to_numpy(), name="row")
    return frame


def from_cards(cards: pd.DataFrame) -> tuple[pd.DataFrame, RunInfo]:
    """The input columns as the user wrote them, and the input file's name and hash."""
    from cardkit.reading import as_written

    if "row" not in cards.columns:
        raise InputError("cards= needs the frame read_cards() or validate() returned (it has a 'row' column)")
    meta = cards.attrs.get("cardkit") or {}
    source = meta.get("source")
    info = RunInfo(source=Path(source).name if source else None, sha256=meta.get("sha256"))
    return inputs_by_row(as_written(cards), cards["row"]), info


def _text_or_none(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def read_run(path: str | Path, run_id: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, RunInfo]:
    """Results, inputs as written (indexed by row) and metadata of a journal's run (latest by default)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"no journal at '{path}': pass the journal file a run wrote "
            "(the one cardkit apply --journal PATH wrote)"
        )
    from cardkit.engine.journal import Journal

    journal = Journal(path)
    try:
        runs = journal.runs()
        if runs.empty:
            raise JournalError(f"the journal '{path.name}' holds no run yet: run cardkit apply with it first")
        known = [str(r) for r in runs["run_id"]]
        if run_id is not None and str(run_id) not in known:
            raise InputError(
                f"the journal '{path.name}' has no run '{run_id}': its runs are {', '.join(known[-5:])}"
            )
        results = journal.results(run_id)
        chosen = run_id if run_id is not None else (results["run_id"].iloc[0] if len(results) else known[-1])
        inputs = journal.inputs(chosen)
    finally:
        close = getattr(journal, "close", None)
        if close:
            close()
    run = runs[runs["run_id"].astype(str) == str(chosen)].iloc[-1]
    source = _text_or_none(run.get("source"))
    info = RunInfo(
        run_id=str(chosen),
        cardkit_version=_text_or_none(run.get("cardkit_version")),
        source=Path(source).name if source else None,
        sha256=_text_or_none(run.get("sha256")),
        started_at=_text_or_none(run.get("started_at")),
        finished_at=_text_or_none(run.get("finished_at")),
    )
    if "row" in inputs.columns and inputs.index.name != "row":
        inputs = inputs_by_row(inputs.drop(columns="row"), inputs["row"])
    return results, inputs, info
