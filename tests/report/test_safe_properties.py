"""Property tests: whatever text arrives, the CSV cell is safe and the XLSX cell reads back as written."""

from __future__ import annotations

import io

import openpyxl
from hypothesis import given, settings, strategies as st

from cardkit.formulas import FORMULA_TRIGGERS, csv_safe, is_dangerous
from cardkit.reporting.xlsx import _data_cell, ooxml_escape

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
TRIGGERED = st.builds(lambda t, rest: t + rest, st.sampled_from(FORMULA_TRIGGERS), TEXT)
EXCEL_ERRORS = st.sampled_from(["#N/A", "#REF!", "#DIV/0!", "#NULL!", "#NAME?", "#NUM!", "#VALUE!"])


@given(st.one_of(TEXT, TRIGGERED))
def test_a_csv_cell_starting_with_a_trigger_is_always_phone_shaped(value):
    """After csv_safe, a cell either starts with no trigger or is digits and phone punctuation only."""
    safe = csv_safe(value)
    if safe.startswith(FORMULA_TRIGGERS):
        assert set(safe) <= set("+-0123456789 ().")
    assert safe.endswith(value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(TEXT, TRIGGERED, EXCEL_ERRORS), min_size=1, max_size=8))
def test_an_xlsx_cell_is_never_a_formula_and_reads_back_as_written(values):
    """Any text a table cell holds (even `#N/A`) comes back as the same text, never a formula or an error."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("S")
    sheet.append([_data_cell(sheet, v, None) for v in values])
    buffer = io.BytesIO()
    book.save(buffer)
    back = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["S"]
    cells = list(back.iter_rows())[0]
    for cell, value in zip(cells, values):
        assert cell.data_type not in ("f", "e")
        # control characters XML can't hold come back as Excel's _xHHHH_ escapes; CR as LF
        expected = ooxml_escape(value).replace("\r\n", "\n").replace("\r", "\n")
        assert (cell.value or "") == expected
        assert cell.quotePrefix == is_dangerous(value)
