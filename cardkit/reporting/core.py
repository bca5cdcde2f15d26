"""`Report`: what happened in one run, to read in a notebook or a terminal, hand over, or feed back."""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from cardkit.columns import RESULT_COLUMNS
from cardkit.errors import InputError
from cardkit.reporting import summary as fig
from cardkit.reporting.outcome import outcome_frame
from cardkit.reporting.sources import from_cards, read_run

#: Extensions `Report.to_file` understands, and what each writes.
FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".html": "html", ".htm": "html", ".json": "json"}
#: How many failures the terminal text and the notebook view list before "… and N more".
SHOWN_FAILURES = 20


def _version() -> str:
    from cardkit import __version__

    return __version__


def plain(value: Any) -> Any:
    """A JSON-ready value: NaN/NA/NaT become None, timestamps ISO text, numpy scalars Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame as JSON-ready dicts, one per row."""
    columns = list(frame.columns)
    return [dict(zip(columns, map(plain, row))) for row in frame.itertuples(index=False, name=None)]


#: Columns that hold whole numbers; a missing value must not turn `403` into `403.0` in a file.
_WHOLE_NUMBER_COLUMNS = ("row", "http_status", "attempts")


def _whole_numbers(results: pd.DataFrame) -> pd.DataFrame:
    out = results.copy()
    for column in _WHOLE_NUMBER_COLUMNS:
        values = pd.to_numeric(out[column], errors="coerce")
        if values.notna().sum() == out[column].notna().sum() and (values.dropna() % 1 == 0).all():
            out[column] = values.astype("Int64")
    return out


class Report:
    """What happened in one run: counts, failures, timings, and the files to hand over.

    Build it with `cardkit.report(results, cards=...)` or `Report.from_journal(path)`.
    `inputs` (the user's columns as written, indexed by the spreadsheet's row number) makes
    the `Failed` sheet and the `-errors.csv` file something the user can fix and feed back.
    """

    def __init__(
        self,
        results: pd.DataFrame,
        *,
        inputs: pd.DataFrame | None = None,
        info: fig.RunInfo | None = None,
    ) -> None:
        if "changes" not in results.columns:     # a frame saved before results had before → after
            results = results.assign(changes=[{}] * len(results))
        missing = [c for c in RESULT_COLUMNS if c not in results.columns]
        if missing:
            raise InputError(
                f"this is not a results frame: it lacks {', '.join(missing)} — pass what "
                "cardkit.apply() or cardkit.plan() returned, or use Report.from_journal(path)"
            )
        self.results = _whole_numbers(results.loc[:, list(RESULT_COLUMNS)].reset_index(drop=True))
        self.inputs = inputs
        info = info or fig.RunInfo()
        started, finished = fig.run_window(self.results)
        ids = fig.run_ids(self.results)
        self.info = replace(
            info,
            run_id=info.run_id or (", ".join(ids) if ids else None),
            cardkit_version=info.cardkit_version or _version(),
            started_at=info.started_at or started,
            finished_at=info.finished_at or finished,
        )

    # ----------------------------------------------------------------- building
    @classmethod
    def from_journal(cls, path: str | Path, run_id: str | None = None) -> Report:
        """The report of a past run (the latest when `run_id` is None) from its journal file."""
        results, inputs, info = read_run(path, run_id)
        return cls(results, inputs=inputs, info=info)

    # ----------------------------------------------------------------- figures
    # figures are computed once: a Report is a snapshot of one results frame
    @cached_property
    def counts(self) -> pd.DataFrame:
        """Provider x status counts, with a `total` column."""
        return fig.counts(self.results)

    @cached_property
    def failures(self) -> pd.DataFrame:
        """The failed, invalid and skipped operations with their messages and provider codes."""
        return fig.failures(self.results)

    @cached_property
    def figures(self) -> fig.Figures:
        return fig.figures(self.results)

    @cached_property
    def interruption(self) -> fig.Interruption | None:
        """How far the run got when it was interrupted (None when it ran to its end)."""
        return fig.interruption(self.results, self.info.journal)

    @property
    def ok(self) -> bool:
        """True when nothing failed, was invalid or was skipped."""
        return self.figures.needs_attention == 0

    def failed_rows(self) -> pd.DataFrame:
        """The error file: input rows as written that need attention, plus `cardkit_*` outcome columns."""
        failed = outcome_frame(self.results, self.inputs, fig.NEEDS_ATTENTION)
        failed["cardkit_sheet"] = self.sheet_identity
        return failed

    @property
    def sheet_identity(self) -> str:
        """Which sheet the rows come from, for the fed-back file's `cardkit_sheet` column:
        the input file's name and the start of its hash ("" when unknown)."""
        info = self.info
        return " ".join(p for p in (info.source or "", f"sha256:{info.sha256[:12]}" if info.sha256 else "") if p)

    def applied_rows(self) -> pd.DataFrame:
        """The success file: input rows as written that are applied or unchanged, plus outcome columns."""
        return outcome_frame(self.results, self.inputs, fig.DONE)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: run metadata, totals and timings, counts by provider x status."""
        counts = self.counts
        return {
            "run": self.info.as_dict(),
            "totals": self.figures.as_dict(),
            "counts": {p: {s: int(n) for s, n in row.items()} for p, row in counts.iterrows()},
            "ok": self.ok,
        }

    @cached_property
    def shown_results(self) -> pd.DataFrame:
        """The results for files and pages: `changes` as text ("first_name: Ana → Anna; …")."""
        from cardkit.engine.changes import as_text

        return self.results.assign(changes=[as_text(c) for c in self.results["changes"]])

    # ----------------------------------------------------------------- views
    def summary_text(self, *, shown_failures: int = SHOWN_FAILURES) -> str:
        """The plain-text summary a terminal shows."""
        from cardkit.reporting.text import summary_text

        return summary_text(self, shown_failures=shown_failures)

    def __str__(self) -> str:
        return self.summary_text()

    def __repr__(self) -> str:
        f = self.figures
        return f"<Report run={self.info.run_id!r} operations={f.operations} done={f.done} needs_attention={f.needs_attention}>"

    def _repr_html_(self) -> str:
        from cardkit.reporting.html import render_fragment

        return render_fragment(self, shown_failures=SHOWN_FAILURES)

    # ----------------------------------------------------------------- files
    def to_file(self, path: str | Path, *, split: bool = False) -> list[Path]:
        """Write the report in the format the extension names; returns the files written.

        `.xlsx` (Summary, Failed, Applied, All), `.html` (one self-contained page), `.json`
        (summary and records), `.csv` (the results frame; with `split=True` instead
        `<name>-success.csv` and `<name>-errors.csv` holding the input columns as written).
        """
        path = Path(path)
        kind = FORMATS.get(path.suffix.lower())
        if kind is None:
            raise InputError(
                f"cannot tell which report to write for '{path.name}': name a file ending in "
                ".xlsx, .csv, .html or .json"
            )
        if split and kind != "csv":
            raise InputError(f"split applies to .csv reports only, not '{path.name}': drop split or name a .csv file")
        if not path.parent.exists():
            raise InputError(f"cannot write '{path}': the folder '{path.parent}' does not exist — create it first")
        return _write_whole(path, lambda target: self._write(kind, target, split))

    def _write(self, kind: str, path: Path, split: bool) -> list[Path]:
        if kind == "csv":
            from cardkit.reporting.csvjson import write_csv

            return write_csv(self, path, split=split)
        writer = {"xlsx": self.to_xlsx, "html": self.to_html, "json": self.to_json}[kind]
        writer(path)
        return [path]

    def to_xlsx(self, path: str | Path) -> Path:
        from cardkit.reporting.xlsx import write_xlsx

        return write_xlsx(self, Path(path))

    def to_html(self, path: str | Path | None = None) -> str:
        """The self-contained HTML page; written to `path` when given."""
        from cardkit.reporting.html import render_document

        page = render_document(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def to_json(self, path: str | Path | None = None) -> str:
        """Summary, failures and every result record as JSON; written to `path` when given.

        The records go through pandas' own JSON writer (C code): a list of dicts per row
        would cost ~40 MiB per 10,000 rows.
        """

        def frame_json(frame: pd.DataFrame) -> str:
            return frame.to_json(orient="records", date_format="iso", date_unit="us", force_ascii=False)

        text = (
            f'{{"summary": {json.dumps(self.summary(), indent=1, ensure_ascii=False)},\n'
            f'"failures": {frame_json(self.failures)},\n"records": {frame_json(self.results)}}}\n'
        )
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _write_whole(path: Path, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Write the file(s) under temporary names in the same folder, then rename each into place:
    a full disk or an interruption never leaves a truncated report under the real name."""
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    hook = sys.unraisablehook
    try:
        try:
            made = write(scratch / path.name)
            final = [path.parent / made_path.name for made_path in made]
            for made_path, target in zip(made, final):
                os.replace(made_path, target)
            return final
        except OSError as exc:
            failure = OSError(exc.errno, exc.strerror)
            # the failed writer's half-written zip closes (and fails again) as `exc` goes: quietly
            sys.unraisablehook = lambda unraisable: None
        gc.collect()
    finally:
        sys.unraisablehook = hook
        shutil.rmtree(scratch, ignore_errors=True)
    raise failure


def report(
    results: pd.DataFrame | None = None,
    *,
    cards: pd.DataFrame | None = None,
    journal: str | Path | None = None,
    run_id: str | None = None,
) -> Report:
    """A `Report` of a results frame, of a journal's run, or of both.

    `cards` (what `read_cards`/`validate` returned) gives the input columns as the user wrote
    them and the input file's name and hash; `journal` gives the same for a past run and,
    without `results`, the results too.
    """
    inputs, info = None, fig.RunInfo()
    if journal is not None:
        journal_results, inputs, info = read_run(journal, run_id)
        if results is None:
            results = journal_results
        else:  # the run's inputs and file, but the given results' own run id and times
            info = replace(info, run_id=None, started_at=None, finished_at=None)
    elif results is None:
        raise InputError("nothing to report: pass a results frame (what cardkit.apply returned) or journal=PATH")
    journal_of_run = (results.attrs.get("cardkit") or {}).get("journal")
    if journal_of_run and not info.journal:
        info = replace(info, journal=str(Path(journal_of_run).resolve()))
    if cards is not None:
        inputs, card_info = from_cards(cards)
        info = replace(info, source=card_info.source or info.source, sha256=card_info.sha256 or info.sha256,
                       folder=card_info.folder or info.folder, photo_root=card_info.photo_root)
    return Report(results, inputs=inputs, info=info)
