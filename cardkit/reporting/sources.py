"""Where a report's inputs and run metadata come from: a cards frame, or a past run's journal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cardkit.errors import InputError
from cardkit.reporting.summary import RunInfo


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
    # cells as the user wrote them (photo paths stay relative to the sheet's folder, which the
    # report records: a fed-back report resolves them there, wherever the report now lives)
    meta = cards.attrs.get("cardkit") or {}
    source = meta.get("source")
    info = RunInfo(source=Path(source).name if source else None, sha256=meta.get("sha256"),
                   folder=meta.get("base_dir"), photo_root=meta.get("photo_root"))
    return inputs_by_row(as_written(cards), cards["row"]), info


def _text_or_none(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def existing_journal(path: str | Path) -> Path:
    """The path of a journal that exists (opening a missing one would create an empty file)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"no journal at '{path}': pass the journal a run wrote — NAME.journal.sqlite beside "
            "the input file, or the --journal PATH given to cardkit apply"
        )
    return path


def read_run(path: str | Path, run_id: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, RunInfo]:
    """Results, inputs as written (indexed by row) and metadata of a journal's run (latest by default)."""
    path = existing_journal(path)
    from cardkit.engine.journal import Journal

    with Journal(path, readonly=True) as journal:
        run_id = run_id or journal.latest_run()
        run = journal.run_info(run_id)
        results = journal.results(run_id)
        written = journal.inputs(run_id)
    source = _text_or_none(run.get("source"))
    info = RunInfo(
        run_id=str(run_id),
        cardkit_version=_text_or_none(run.get("cardkit_version")),
        source=Path(source).name if source else None,
        sha256=_text_or_none(run.get("sha256")),
        started_at=_text_or_none(run.get("started_at")),
        finished_at=_text_or_none(run.get("finished_at")),
        journal=str(Path(path).resolve()),
        folder=str(Path(source).resolve().parent) if source else None,
    )
    return results, inputs_by_row(written.drop(columns="row"), written["row"]), info


def list_runs(path: str | Path) -> pd.DataFrame:
    """Every run of a journal, oldest first, with its input file and outcome counts."""
    from cardkit.engine.journal import Journal
    from cardkit.reporting.summary import DONE, NEEDS_ATTENTION

    with Journal(existing_journal(path), readonly=True) as journal:
        runs = journal.runs()
        outcomes = [journal.results(run_id)["status"] for run_id in runs["run_id"]]
    return pd.DataFrame({
        "run_id": runs["run_id"],
        "started_at": runs["started_at"],
        "input": [Path(s).name if isinstance(s, str) and s else "" for s in runs["source"]],
        "dry_run": runs["dry_run"],
        "operations": [len(s) for s in outcomes],
        "done": [int(s.isin(DONE).sum()) for s in outcomes],
        "needs_attention": [int(s.isin(NEEDS_ATTENTION).sum()) for s in outcomes],
    })
