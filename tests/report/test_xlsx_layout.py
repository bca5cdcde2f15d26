"""The XLSX report read back with openpyxl as a person would meet it in Excel or LibreOffice.

On a 1366 px laptop the Failed sheet must show who (row, number, names) and why (status,
message, what to do) together: identity first and frozen, outcome beside it, widths that fit,
long text wrapped, printing at the page's width; the user's cells come back as they wrote them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string

import cardkit
from cardkit.sandbox import Sandbox

SAMPLE_PHOTOS = Path(__file__).resolve().parents[2] / "cardkit" / "sample" / "photos"
#: Excel's default column width is 8.43 characters ≈ 64 px, so one unit ≈ 7.6 px.
PX_PER_WIDTH = 7.6
LAPTOP_SHEET_PX = 1366 - 60    # the window less Excel's row headers and scroll bar

SHEET = """Phone,First Name,Last Name,Photo,Sharing,Audience,Name format,Notes
(415) 555-2671,Ana,Ruiz,photos/ana.jpg,yes,contacts only,first & last,a long note that is not the point of this sheet at all
(415) 555-267,Ben,Okafor,photos/ben.png,yes,contacts only,first & last,a digit is missing
202 555 0147,Gus,Lee,photos/gus.jpg,,,,standard plan: 403
+1 312 555 0182,,Sato,photos/ana.jpg,no,always ask,first only,first name missing
"""


@pytest.fixture
def workbook(tmp_path):
    """The sheet applied against the sandbox with a journal, reported to XLSX; (book, journal)."""
    shutil.copytree(SAMPLE_PHOTOS, tmp_path / "photos")
    (tmp_path / "cards.csv").write_text(SHEET, encoding="utf-8")
    journal = tmp_path / "cards.journal.sqlite"
    checked = cardkit.validate(cardkit.read_cards(tmp_path / "cards.csv"))
    results = cardkit.apply(checked, sandbox=Sandbox(), journal=journal, progress=False)
    path = cardkit.report(results, cards=checked).to_file(tmp_path / "report.xlsx")[0]
    return openpyxl.load_workbook(path), journal


def by_header(sheet) -> dict[str, int]:
    return {c.value: c.column for c in sheet[1]}


def test_failed_sheet_puts_who_and_why_together_within_a_laptop_screen(workbook):
    """Row, number, names frozen first; status, message and what to do right after, all within 1366 px."""
    book, _ = workbook
    failed = book["Failed"]
    headers = [c.value for c in failed[1]]
    assert headers[:7] == ["cardkit_row", "Phone", "First Name", "Last Name",
                           "cardkit_status", "cardkit_message", "cardkit_what_to_do"]
    assert failed.freeze_panes == "E2"
    widths = [failed.column_dimensions[failed.cell(1, i).column_letter].width for i in range(1, 8)]
    assert sum(widths) * PX_PER_WIDTH <= LAPTOP_SHEET_PX, widths


def test_failed_sheet_wraps_long_text_and_sizes_columns_to_their_content(workbook):
    """Message and remedy wrap at a readable width; short columns are as wide as their content, not more."""
    book, _ = workbook
    failed = book["Failed"]
    columns = by_header(failed)
    gus = next(r for r in failed.iter_rows(min_row=2) if r[columns["First Name"] - 1].value == "Gus")
    message = gus[columns["cardkit_message"] - 1]
    remedy = gus[columns["cardkit_what_to_do"] - 1]
    assert "403" in message.value and "Dedicated" in remedy.value
    assert message.alignment.wrap_text and remedy.alignment.wrap_text
    width = {h: failed.column_dimensions[failed.cell(1, i).column_letter].width for h, i in columns.items()}
    assert width["cardkit_message"] < len(message.value) and width["cardkit_message"] <= 48
    assert width["First Name"] == len("First Name") + 2            # header is the longest: fits it
    assert width["cardkit_status"] == len("cardkit_status") + 2


def test_failed_sheet_gives_the_users_cells_back_as_written(workbook):
    """Sharing settings come back as 'yes' / 'contacts only' / 'first & last', not true / 0 / 0."""
    book, _ = workbook
    failed = book["Failed"]
    columns = by_header(failed)
    rows = {r[columns["Last Name"] - 1].value: r for r in failed.iter_rows(min_row=2)}
    assert sorted(rows) == ["Lee", "Okafor", "Sato"]
    ben, sato = rows["Okafor"], rows["Sato"]
    assert [ben[columns[h] - 1].value for h in ("Sharing", "Audience", "Name format")] == \
        ["yes", "contacts only", "first & last"]
    assert [sato[columns[h] - 1].value for h in ("Sharing", "Audience", "Name format")] == \
        ["no", "always ask", "first only"]
    assert ben[columns["Phone"] - 1].value == "(415) 555-267"


def test_every_sheet_prints_at_the_page_width(workbook):
    """Print settings fit each sheet to one page wide (any number of pages tall)."""
    book, _ = workbook
    for sheet in book.worksheets:
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0), sheet.title


def test_summary_names_the_journal_and_its_chart_covers_no_text(workbook):
    """The instruction names the journal (found without --journal); the chart is anchored below the last written row."""
    book, journal = workbook
    summary = book["Summary"]
    texts = [c.value for row in summary.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(str(journal) in t and "finds its journal" in t for t in texts)   # no --journal needed
    last_text_row = max(c.row for row in summary.iter_rows() for c in row if c.value not in (None, ""))
    (chart,) = summary._charts
    anchor = chart.anchor._from
    assert anchor.row + 1 > last_text_row              # 0-based anchor row: strictly below the text
    assert column_index_from_string("A") - 1 == anchor.col
