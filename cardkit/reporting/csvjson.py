"""The report as CSV: the results frame, or Data-Loader-style success and error files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cardkit.formulas import csv_safe_frame

if TYPE_CHECKING:
    from cardkit.reporting.core import Report


#: UTF-8 with a byte-order mark so Excel shows accents right; RFC 4180 line ends, so a cell
#: holding a bare CR is quoted instead of silently starting a new row.
_CSV_OPTIONS: dict[str, Any] = {"index": False, "encoding": "utf-8-sig", "lineterminator": "\r\n"}


def split_paths(path: Path) -> tuple[Path, Path]:
    """`out/report.csv` → `out/report-success.csv`, `out/report-errors.csv`."""
    return path.with_name(f"{path.stem}-success.csv"), path.with_name(f"{path.stem}-errors.csv")


def write_table_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Any frame as a CSV under the same rules (formula-safe cells and headers, BOM, CRLF)."""
    csv_safe_frame(frame).to_csv(path, **_CSV_OPTIONS)
    return path


def write_csv(report: Report, path: Path, *, split: bool = False) -> list[Path]:
    """Write the results (or, with `split`, the success and error files); returns the files written.

    Every text cell passes the formula-injection rule of `cardkit/formulas.py`.
    """
    if not split:
        return [write_table_csv(report.shown_results, path)]
    success, errors = split_paths(path)
    return [write_table_csv(report.applied_rows(), success), write_table_csv(report.failed_rows(), errors)]
