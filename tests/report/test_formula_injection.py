"""Values that start with = + - @ (or tab/CR) never run as formulas in the CSV or XLSX reports."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest

from cardkit.formulas import csv_safe, is_dangerous
from cardkit.reporting import Report

from .conftest import result

PAYLOADS = [
    "=1+2",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,2)",
    "\t=1+2",
    "\r=1+2",
    "=+14155552671",
]
PHONES = ["+14155552671", "+1 (415) 555-2671", "-1", "+44 20 7946 0958", "+1-415-555-2671"]
HARMLESS = ["Ann", "", "a=b", "mail@example.com", "1+1"]


@pytest.mark.parametrize("value", PAYLOADS)
def test_formula_payloads_are_dangerous_and_get_a_quote_in_csv(value):
    """Every OWASP trigger is caught and CSV-escaped with a leading apostrophe."""
    assert is_dangerous(value)
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", PHONES + HARMLESS)
def test_phone_numbers_and_plain_text_are_left_as_written(value):
    """Numbers shaped like phone numbers (no letters, no function) and ordinary text stay readable."""
    assert not is_dangerous(value)
    assert csv_safe(value) == value


def xml_read(values: list[str]) -> list[str]:
    """What an XLSX reader returns: XML parsers turn a bare CR into LF (end-of-line normalisation)."""
    return [v.replace("\r", "\n") for v in values]


def _report_with(values: list[str]) -> Report:
    rows = [
        result(i + 2, "+14155552671", "blooio", "failed", http_status=400, error_code=v, message=v)
        for i, v in enumerate(values)
    ]
    inputs = pd.DataFrame(
        {"Phone": ["+14155552671"] * len(values), "First Name": values}, index=pd.Index(range(2, len(values) + 2), name="row")
    )
    return Report(pd.DataFrame(rows), inputs=inputs)


def test_no_xlsx_cell_is_a_formula_and_values_read_back_exactly(tmp_path):
    """openpyxl finds no formula cell anywhere; payloads carry Excel's quote prefix and read back unchanged."""
    values = PAYLOADS + PHONES + HARMLESS
    path = _report_with(values).to_file(tmp_path / "r.xlsx")[0]
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
    failed = book["Failed"]
    column = {c.value: c.column for c in failed[1]}
    names = [failed.cell(r, column["First Name"]) for r in range(2, failed.max_row + 1)]
    assert [c.value or "" for c in names] == xml_read(values)
    for cell, written in zip(names, values):
        assert cell.quotePrefix == is_dangerous(written)
    phone_cells = [failed.cell(r, column["Phone"]) for r in range(2, failed.max_row + 1)]
    assert {c.data_type for c in phone_cells} == {"s"} and not any(c.quotePrefix for c in phone_cells)


def test_pandas_reads_xlsx_payloads_back_as_the_same_text(tmp_path):
    """What read_cards uses (pandas, dtype=str) gets the user's exact text back from the Failed sheet."""
    values = PAYLOADS + PHONES
    path = _report_with(values).to_file(tmp_path / "r.xlsx")[0]
    back = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False)
    assert back["First Name"].tolist() == xml_read(values)
    assert back["cardkit_message"].tolist() == xml_read(values)


def test_csv_cells_never_start_with_a_trigger_unless_phone_shaped(tmp_path):
    """In both CSV files every cell that starts with a trigger is a phone-shaped number."""
    rep = _report_with(PAYLOADS + PHONES + HARMLESS)
    written = rep.to_file(tmp_path / "r.csv") + rep.to_file(tmp_path / "r.csv", split=True)
    for path in written:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    assert not is_dangerous(cell), f"{path.name}: {cell!r}"
