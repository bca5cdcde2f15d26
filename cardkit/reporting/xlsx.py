"""The report as an Excel workbook: Failed, Summary, Applied, All (opens on Summary).

`Failed` holds the user's input columns as written plus `cardkit_*` outcome columns, so it
can be fixed in place and fed straight back to `cardkit apply` (columns are found by header,
so their order is free). It is laid out to be read on a laptop: the row's identity (row,
number, names) first and frozen, the outcome (status, message, what to do) right beside it,
then the rest; widths fit the content, long text wraps, printing fits the page width.
Written with openpyxl in write-only mode (rows stream to disk, memory stays flat). Every text
cell is a string cell, never a formula; see `cardkit/formulas.py` for the quote-prefix rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cardkit.formulas import FORMULA_TRIGGERS, is_dangerous
from cardkit.reporting.core import plain
from cardkit.reporting.summary import STATUS_COLOURS, nonzero_columns
from cardkit.reporting.text import counted, fmt_ms, fmt_rate, fmt_seconds, human_time, next_step, outcome_phrase

if TYPE_CHECKING:
    from cardkit.reporting.core import Report

MAX_WIDTH = 60
#: Columns of running text: wrapped, at most this wide (Excel's width unit: about one character).
TEXT_WIDTH = 48
_TEXT_COLUMNS = ("message", "cardkit_message", "cardkit_what_to_do", "problems")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
#: The card columns that say who a row is, in the order the Failed sheet shows them first.
_IDENTITY = ("number", "first_name", "last_name", "display_name")
_OUTCOME_FIRST = ("cardkit_status", "cardkit_message", "cardkit_what_to_do")
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
_STATUS_FILLS = {s: PatternFill("solid", fgColor=light.lstrip("#").upper()) for s, (_, light) in STATUS_COLOURS.items()}
_STATUS_COLUMNS = ("status", "cardkit_status")


def ooxml_escape(text: str) -> str:
    """Control characters XML cannot hold, written the way Excel writes them (`_x0007_`).

    Excel turns them back into the character; a reader must unescape `_xHHHH_` to do the same.
    """
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _cell(sheet, value: Any, *, bold: bool = False, fill: PatternFill | None = None,
          align: Alignment | None = None) -> WriteOnlyCell:
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
    if align is not None:
        cell.alignment = align
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
    """Each column as wide as its header and longest cell (first 2,000 rows); text columns wrap
    at `TEXT_WIDTH`, the rest stop at `MAX_WIDTH`."""
    widths = []
    for column in frame.columns:
        sample = frame[column].head(2000).map(lambda v: len(str(v)) if plain(v) is not None else 0)
        longest = max([len(str(column)), *sample.tolist()]) if len(sample) else len(str(column))
        cap = TEXT_WIDTH if str(column) in _TEXT_COLUMNS else MAX_WIDTH
        widths.append(min(max(longest + 2, 8), cap))
    return widths


def failed_layout(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The Failed sheet's columns in reading order, and how many of them (from the left) to freeze.

    `cardkit_row`, the user's number and name columns (found by header, as `read_cards` finds
    them), then status, message, what to do — then every other column as written.
    """
    from cardkit.reading import CARDS_SCHEMA, header_key

    lookup = CARDS_SCHEMA.lookup()
    canonical = {c: lookup.get(header_key(c)) for c in frame.columns if not str(c).startswith("cardkit_")}
    identity = [c for name in _IDENTITY for c, known in canonical.items() if known == name]
    first = [c for c in ("cardkit_row", *identity) if c in frame.columns]
    outcome = [c for c in _OUTCOME_FIRST if c in frame.columns]
    rest = [c for c in frame.columns if c not in first and c not in outcome]
    return frame.loc[:, first + outcome + rest], len(first)


def _table_sheet(book: Workbook, title: str, frame: pd.DataFrame, *, frozen_columns: int = 0) -> None:
    """One sheet holding a frame: bold frozen header (and `frozen_columns`), filters, widths that
    fit, running text wrapped, statuses coloured, printed landscape to the page's width."""
    sheet = book.create_sheet(title)
    sheet.freeze_panes = f"{get_column_letter(frozen_columns + 1)}2"
    for i, width in enumerate(_widths(frame), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    columns = [str(c) for c in frame.columns]
    sheet.append([_cell(sheet, c, bold=True) for c in columns])
    coloured = {i for i, c in enumerate(columns) if c in _STATUS_COLUMNS}
    wrapped = {i for i, c in enumerate(columns) if c in _TEXT_COLUMNS}
    for row in frame.itertuples(index=False, name=None):
        cells = [_data_cell(sheet, v, _STATUS_FILLS.get(v) if i in coloured else None) for i, v in enumerate(row)]
        for i in wrapped:
            if plain(row[i]) not in (None, ""):
                cells[i] = _cell(sheet, row[i], align=_WRAP)
        sheet.append(cells)
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"


def _summary_sheet(book: Workbook, report: Report) -> None:
    """Words in columns A–B, the counts table below them, the chart under everything (never over text)."""
    sheet = book.create_sheet("Summary")
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 16
    for letter in "CDEFGHI":
        sheet.column_dimensions[letter].width = 13
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    info, f = report.info, report.figures
    totals = report.counts.sum() if len(report.counts) else pd.Series(dtype="int64")
    sheet.append([_cell(sheet, "cardkit report", bold=True)])
    stopped = report.interruption
    heading = [outcome_phrase(report)]
    if stopped is not None:
        heading = [stopped.headline(), stopped.how_to_continue(), *heading]
    for line in heading:
        sheet.append([_cell(sheet, line)])
    sheet.append([_cell(sheet, next_step(report))])
    sheet.append([])
    lines = (
        ("run id", info.run_id), ("input file", info.source), ("input sha256", info.sha256),
        ("journal", info.journal or "none (this run kept none)"),
        ("started", human_time(info.started_at)), ("finished", human_time(info.finished_at)),
        ("cardkit", info.cardkit_version),
        ("cards", f.cards), ("operations", f.operations),
        ("applied", int(totals.get("applied", 0))), ("unchanged", int(totals.get("unchanged", 0))),
        ("needs attention", f.needs_attention),
        ("retries", f"{f.retries} (on {counted(f.retried_operations, 'operation')})"),
        ("latency median", fmt_ms(f.latency_median_ms)), ("latency p95", fmt_ms(f.latency_p95_ms)),
        ("duration", fmt_seconds(f.duration_s)), ("throughput", fmt_rate(f.throughput_per_s)),
    )
    for label, value in lines:
        sheet.append([_cell(sheet, label, bold=True), _cell(sheet, value)])
    sheet.append([])
    counts = report.counts
    shown = nonzero_columns(counts)
    header_row = 1 + len(heading) + 2 + len(lines) + 2   # title, heading, next step, blank, figures, blank
    sheet.append([_cell(sheet, c, bold=True) for c in ["provider", *shown]])
    for provider in counts.index:
        sheet.append([_cell(sheet, provider), *(_cell(sheet, int(counts.at[provider, c])) for c in shown)])
    if len(counts):
        below = header_row + len(counts) + 2
        sheet.add_chart(_outcome_chart(sheet, header_row, len(counts), shown[:-1]), f"A{below}")


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


def _identity_sheet(book: Workbook, report: Report) -> None:
    """The hidden sheet a fed-back report is recognised by: the original sheet's name, hash and
    folder, its photo folder, the journal and the run (read back by `cardkit.reading`)."""
    from cardkit.columns import IDENTITY_KEYS, IDENTITY_SHEET

    sheet = book.create_sheet(IDENTITY_SHEET)
    sheet.sheet_state = "hidden"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0   # printed like the others if shown
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    info = report.info.as_dict()
    sheet.append([_cell(sheet, "key"), _cell(sheet, "value")])
    for key in IDENTITY_KEYS:
        sheet.append([_cell(sheet, key), _cell(sheet, info.get(key) or "")])


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
    failed, frozen = failed_layout(report.failed_rows())
    _table_sheet(book, "Failed", failed, frozen_columns=frozen)
    _summary_sheet(book, report)
    _table_sheet(book, "Applied", report.applied_rows())
    _table_sheet(book, "All", report.shown_results)
    _identity_sheet(book, report)
    book.active = 1
    book.save(path)
    return path
