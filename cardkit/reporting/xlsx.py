"""The report as an Excel workbook: Failed, Summary, Applied, All (opens on Summary).

`Failed` holds the user's input columns as written plus `cardkit_*` outcome columns, so it
can be fixed in place and fed straight back to `cardkit apply`. Written with openpyxl in
write-only mode (rows stream to disk, memory stays flat). Every text cell is a string cell,
never a formula; see `safe.py` for the quote-prefix rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from cardkit.reporting.core import plain
from cardkit.reporting.safe import FORMULA_TRIGGERS, is_dangerous
from cardkit.reporting.summary import STATUS_COLOURS, nonzero_columns
from cardkit.reporting.text import fmt_ms, fmt_rate, fmt_seconds, outcome_phrase

if TYPE_CHECKING:
    from cardkit.reporting.core import Report

MAX_WIDTH = 60
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
_STATUS_FILLS = {s: PatternFill("solid", fgColor=light.lstrip("#").upper()) for s, (_, light) in STATUS_COLOURS.items()}
_STATUS_COLUMNS = ("status", "cardkit_status")


def ooxml_escape(text: str) -> str:
    """Control characters XML cannot hold, written the way Excel writes them (`_x0007_`).

    Excel turns them back into the character; a reader must unescape `_xHHHH_` to do the same.
    """
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _cell(sheet, value: Any, *, bold: bool = False, fill: PatternFill | None = None) -> WriteOnlyCell:
    value = plain(value)
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        value = ooxml_escape(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"          # text stays text: openpyxl would make "=…" a formula
        if is_dangerous(value):
            cell.quotePrefix = True   # and stays text when someone edits the cell in Excel
    if bold:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    if fill is not None:
        cell.fill = fill
    return cell


def _data_cell(sheet, value: Any, fill: PatternFill | None) -> Any:
    """A table cell: the bare value when openpyxl will store it as plain text or a number
    (most cells: cheaper), otherwise a styled string cell from `_cell`."""
    value = plain(value)
    if fill is None and (
        not isinstance(value, str)
        or not (value.startswith(FORMULA_TRIGGERS) or value in ERROR_CODES or ILLEGAL_CHARACTERS_RE.search(value))
    ):
        return value
    return _cell(sheet, value, fill=fill)


def _widths(frame: pd.DataFrame) -> list[float]:
    widths = []
    for column in frame.columns:
        sample = frame[column].head(2000).map(lambda v: len(str(v)) if plain(v) is not None else 0)
        longest = max([len(str(column)), *sample.tolist()]) if len(sample) else len(str(column))
        widths.append(min(max(longest + 2, 8), MAX_WIDTH))
    return widths


def _table_sheet(book: Workbook, title: str, frame: pd.DataFrame) -> None:
    """One sheet holding a frame: bold frozen header, filters, readable widths, statuses coloured."""
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for i, width in enumerate(_widths(frame), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    columns = [str(c) for c in frame.columns]
    sheet.append([_cell(sheet, c, bold=True) for c in columns])
    coloured = {i for i, c in enumerate(columns) if c in _STATUS_COLUMNS}
    for row in frame.itertuples(index=False, name=None):
        sheet.append(
            [_data_cell(sheet, v, _STATUS_FILLS.get(v) if i in coloured else None) for i, v in enumerate(row)]
        )
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"


def _summary_sheet(book: Workbook, report: Report) -> None:
    sheet = book.create_sheet("Summary")
    sheet.column_dimensions["A"].width = 22
    for letter in "BCDEFGHI":
        sheet.column_dimensions[letter].width = 13
    info, f = report.info, report.figures
    sheet.append([_cell(sheet, "cardkit report", bold=True)])
    sheet.append([_cell(sheet, outcome_phrase(report))])
    sheet.append([])
    lines = (
        ("run id", info.run_id), ("input file", info.source), ("input sha256", info.sha256),
        ("started", info.started_at), ("finished", info.finished_at), ("cardkit", info.cardkit_version),
        ("cards", f.cards), ("operations", f.operations), ("done", f.done), ("needs attention", f.needs_attention),
        ("retries", f"{f.retries} (on {f.retried_operations} operations)"),
        ("latency median", fmt_ms(f.latency_median_ms)), ("latency p95", fmt_ms(f.latency_p95_ms)),
        ("duration", fmt_seconds(f.duration_s)), ("throughput", fmt_rate(f.throughput_per_s)),
    )
    for label, value in lines:
        sheet.append([_cell(sheet, label, bold=True), _cell(sheet, value)])
    sheet.append([])
    counts = report.counts
    shown = nonzero_columns(counts)
    header_row = 3 + len(lines) + 2   # title, phrase, blank, the figures, blank: the counts table
    sheet.append([_cell(sheet, c, bold=True) for c in ["provider", *shown]])
    for provider in counts.index:
        sheet.append([_cell(sheet, provider), *(_cell(sheet, int(counts.at[provider, c])) for c in shown)])
    sheet.append([])
    sheet.append([_cell(sheet, "Fix the cells on the Failed sheet and run: cardkit apply <this file> --journal <same journal>")])
    if len(counts):
        sheet.add_chart(_outcome_chart(sheet, header_row, len(counts), shown[:-1]), "D3")


def _outcome_chart(sheet, header_row: int, providers: int, statuses: list[str]) -> BarChart:
    """Stacked horizontal bars of the counts table: one bar per provider, a segment per status."""
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
    chart.title = "Outcomes per provider"
    chart.height, chart.width = 7.5, 16
    last = header_row + providers
    for i, status in enumerate(statuses, start=2):
        chart.add_data(Reference(sheet, min_col=i, min_row=header_row, max_row=last), titles_from_data=True)
        chart.series[-1].graphicalProperties.solidFill = STATUS_COLOURS[status][0].lstrip("#").upper()
    chart.set_categories(Reference(sheet, min_col=1, min_row=header_row + 1, max_row=last))
    return chart


def write_table_xlsx(frame: pd.DataFrame, path: Path, title: str = "Sheet1") -> Path:
    """Any frame as a one-sheet workbook under the same rules (no live formula, control
    characters escaped): what `cardkit validate --out x.xlsx` writes."""
    book = Workbook(write_only=True)
    _table_sheet(book, title, frame)
    book.save(path)
    return path


def write_xlsx(report: Report, path: Path) -> Path:
    """Write the workbook.

    `Failed` is the first sheet because a spreadsheet reader takes the first sheet by
    default: `cardkit apply report.xlsx` reads exactly the rows to fix. The workbook opens
    on `Summary`, which is what someone handed the file reads first.
    """
    book = Workbook(write_only=True)
    _table_sheet(book, "Failed", report.failed_rows())
    _summary_sheet(book, report)
    _table_sheet(book, "Applied", report.applied_rows())
    _table_sheet(book, "All", report.shown_results)
    book.active = 1
    book.save(path)
    return path
