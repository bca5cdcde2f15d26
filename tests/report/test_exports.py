"""Every export read back (openpyxl, pandas, json, html.parser) and compared with the results."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import openpyxl
import pandas as pd
import pytest

from cardkit.columns import RESULT_COLUMNS
from cardkit.errors import InputError
from cardkit.reporting import OUTCOME_COLUMNS
from cardkit.reporting.text import shown

from .conftest import HOSTILE_MESSAGE


def as_text(frame: pd.DataFrame) -> list[list[str]]:
    """A frame's cells as people read them, for comparing what was written with what came back."""
    return [[shown(v) for v in row] for row in frame.astype(object).itertuples(index=False, name=None)]


def sheet_rows(sheet) -> list[list[str]]:
    return [[shown(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def test_xlsx_has_the_four_sheets_and_opens_on_summary(rep, tmp_path):
    """The workbook holds Failed (first, for feeding back), Summary, Applied, All and opens on Summary."""
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Failed", "Summary", "Applied", "All", "cardkit run"]
    assert book["cardkit run"].sheet_state == "hidden"     # the identity a fed-back report keeps
    assert book.active.title == "Summary"


def test_xlsx_all_sheet_equals_the_results(rep, results, tmp_path):
    """The All sheet read back is the results frame, cell for cell."""
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    rows = sheet_rows(openpyxl.load_workbook(path)["All"])
    assert rows[0] == list(RESULT_COLUMNS)
    assert rows[1:] == as_text(results)


def test_xlsx_failed_sheet_holds_input_columns_as_written_plus_outcome(rep, tmp_path):
    """Failed: row, number and name first, the outcome beside them, then the rest; cells as written."""
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    rows = sheet_rows(openpyxl.load_workbook(path)["Failed"])
    assert rows[0] == ["cardkit_row", "Phone", "First Name", "cardkit_status", "cardkit_message",
                       "cardkit_what_to_do", "Notes", "cardkit_provider", "cardkit_error_code", "cardkit_sheet"]
    assert sorted(rows[0]) == sorted(["Phone", "First Name", "Notes", *OUTCOME_COLUMNS, "cardkit_sheet"])
    by_row = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert sorted(by_row) == ["3", "4", "5", "7"]
    bob = by_row["3"]
    assert (bob["Phone"], bob["First Name"], bob["Notes"]) == ("+1 202 555 0147", "@Bob", "=1+2")
    assert (bob["cardkit_provider"], bob["cardkit_status"], bob["cardkit_error_code"]) == ("blooio", "failed", "forbidden")
    assert bob["cardkit_message"] == HOSTILE_MESSAGE
    assert by_row["4"]["cardkit_status"] == "invalid"
    assert by_row["4"]["cardkit_message"] == "Phone: '555' is not a complete number for region US"
    assert by_row["4"]["cardkit_what_to_do"] == "add the area code"
    assert bob["cardkit_sheet"] == "cards.csv sha256:abababababab"   # the original sheet, for feeding back
    # row 5 applied at linq and failed at sendblue: only the failure is on this sheet
    five = by_row["5"]
    assert (five["cardkit_provider"], five["cardkit_status"], five["cardkit_error_code"]) == ("sendblue", "failed", "E500")


def test_xlsx_applied_sheet_holds_done_rows(rep, tmp_path):
    """Applied: rows applied or unchanged, with the provider that did it."""
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    rows = sheet_rows(openpyxl.load_workbook(path)["Applied"])
    assert [(r[0], r[4], r[5]) for r in rows[1:]] == [
        ("(415) 555-2671", "blooio", "applied"),
        ("+14085550111", "linq", "applied"),
        ("+1 (312) 555-0182", "sendblue", "unchanged"),
    ]


def test_xlsx_sheets_have_frozen_headers_filters_widths_and_coloured_statuses(rep, tmp_path):
    """Table sheets freeze the header, filter every column, size columns and colour the status cells."""
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    book = openpyxl.load_workbook(path)
    for name, frozen in (("Failed", "D2"), ("Applied", "A2"), ("All", "A2")):
        sheet = book[name]
        assert sheet.freeze_panes == frozen
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(sheet.column_dimensions[c.column_letter].width >= 8 for c in sheet[1])
    all_sheet = book["All"]
    status_col = list(RESULT_COLUMNS).index("status") + 1
    fills = {all_sheet.cell(r, status_col).value: all_sheet.cell(r, status_col).fill.fgColor.rgb for r in range(2, all_sheet.max_row + 1)}
    assert fills["failed"] != fills["applied"]
    assert fills["failed"].endswith("FFCDD2")


def test_xlsx_summary_sheet_states_counts_and_run(rep, tmp_path):
    """Summary names the run, the input file and the provider x status counts."""
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    rows = sheet_rows(openpyxl.load_workbook(path)["Summary"])
    flat = {r[0]: r[1:] for r in rows if r and r[0]}
    assert flat["run id"][0] == "run-1"
    assert flat["input file"][0] == "cards.csv"
    header = flat["provider"]
    blooio = flat["blooio"]
    assert blooio[header.index("failed")] == "1" and blooio[header.index("total")] == "2"


def test_csv_read_back_equals_the_results(rep, results, tmp_path):
    """The .csv export is the results frame (only formula-looking text gets a leading ')."""
    path = rep.to_file(tmp_path / "out.csv")[0]
    back = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns) == list(RESULT_COLUMNS)
    back["elapsed_ms"] = pd.to_numeric(back["elapsed_ms"])  # 50.0 and 50 are the same latency
    expected = as_text(results)
    message_col = list(RESULT_COLUMNS).index("message")
    expected[1][message_col] = "'" + HOSTILE_MESSAGE
    assert as_text(back) == expected


def test_csv_split_writes_success_and_error_files(rep, tmp_path):
    """--split: <name>-success.csv and <name>-errors.csv with the input columns plus outcome columns."""
    written = rep.to_file(tmp_path / "run.csv", split=True)
    assert [p.name for p in written] == ["run-success.csv", "run-errors.csv"]
    success = pd.read_csv(written[0], dtype=str, keep_default_na=False)
    errors = pd.read_csv(written[1], dtype=str, keep_default_na=False)
    assert list(errors.columns) == ["Phone", "First Name", "Notes", *OUTCOME_COLUMNS, "cardkit_sheet"]
    assert errors["cardkit_row"].tolist() == ["3", "4", "5", "7"]
    assert errors["cardkit_status"].tolist() == ["failed", "invalid", "failed", "skipped"]
    assert success["cardkit_row"].tolist() == ["2", "5", "6"]
    assert not (tmp_path / "run.csv").exists()


def test_json_holds_summary_failures_and_every_record(rep, results, tmp_path):
    """The .json export: summary counts and totals, the failures, and records equal to the results."""
    path = rep.to_file(tmp_path / "r.json")[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["summary"]["counts"]["sendblue"] == {
        "applied": 0, "unchanged": 1, "partial": 0, "planned": 0, "invalid": 0, "skipped": 0, "failed": 1,
        "total": 2,
    }
    assert data["summary"]["totals"]["retries"] == 5
    assert data["summary"]["ok"] is False
    assert [f["row"] for f in data["failures"]] == [3, 4, 5, 7]
    back = pd.DataFrame(data["records"])
    assert list(back.columns) == list(RESULT_COLUMNS)
    assert as_text(back) == as_text(results)


class _References(HTMLParser):
    """Collects every attribute value that could make a browser fetch something."""

    def __init__(self):
        super().__init__()
        self.references: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "action", "data", "poster") and value:
                self.references.append(value)
            if name == "style" and value and "url(" in value:
                self.references.append(value)


def test_html_has_no_external_reference_and_escapes_values(rep, tmp_path):
    """The page fetches nothing (no src/href/url(), no script) and shows hostile text as text."""
    path = rep.to_file(tmp_path / "r.html")[0]
    page = path.read_text(encoding="utf-8")
    parser = _References()
    parser.feed(page)
    assert parser.references == []
    assert parser.scripts == 0
    assert "url(" not in page and "@import" not in page
    assert not re.search(r"https?://(?!evil\.example)", page)  # the only URL is the escaped hostile message
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_shows_summary_chart_failures_and_metadata(rep, tmp_path):
    """The page holds the outcome line, one chart bar per provider, every failure and the run's metadata."""
    page = rep.to_file(tmp_path / "r.html")[0].read_text(encoding="utf-8")
    assert "6 cards → 7 operations: 2 applied, 1 unchanged, 1 invalid, 1 skipped, 2 failed" in page
    assert page.count("<rect") >= 4 and "Outcomes per provider" in page
    for text in ("server error after 4 attempts", "no provider owns +17025550144", "forbidden", "run-1", "ab" * 32):
        assert text in page


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.txt"])
def test_unknown_extension_is_a_clear_input_error(rep, tmp_path, name):
    """An extension cardkit cannot write says which ones it can."""
    with pytest.raises(InputError, match=r"\.xlsx, \.csv, \.html or \.json"):
        rep.to_file(tmp_path / name)


def test_split_only_for_csv_and_missing_folder_are_input_errors(rep, tmp_path):
    """split with .xlsx and a folder that does not exist are refused with the remedy."""
    with pytest.raises(InputError, match="split applies to .csv"):
        rep.to_file(tmp_path / "r.xlsx", split=True)
    with pytest.raises(InputError, match="create it first"):
        rep.to_file(tmp_path / "nowhere" / "r.html")


def test_an_errors_file_fed_back_gets_its_outcome_columns_replaced_not_doubled(results, inputs):
    """Inputs that already carry cardkit_* columns (a second round) get fresh ones, each once."""
    from cardkit.reporting import Report

    second_round = inputs.assign(cardkit_row="9", cardkit_status="failed", cardkit_message="old news")
    rows = Report(results, inputs=second_round).failed_rows()
    assert list(rows.columns) == ["Phone", "First Name", "Notes", *OUTCOME_COLUMNS, "cardkit_sheet"]
    assert "old news" not in rows["cardkit_message"].tolist()
    assert rows["cardkit_row"].tolist() == [3, 4, 5, 7]


def test_xlsx_summary_has_a_stacked_chart_of_the_counts_table(rep, tmp_path):
    """The Summary chart is a stacked bar per provider whose series read the counts table's cells."""
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    sheet = openpyxl.load_workbook(path)["Summary"]
    (chart,) = sheet._charts
    assert (chart.type, chart.grouping) == ("bar", "stacked")
    header = next(r for r in sheet.iter_rows() if r[0].value == "provider")
    titles = [c.value for c in header[1:-1]]                  # every status shown, not the total
    assert len(chart.series) == len(titles)
    first, last = header[0].row + 1, header[0].row + len(rep.counts)
    for series, _title, column in zip(chart.series, titles, "BCDEFG"):
        assert series.val.numRef.f == f"'Summary'!${column}${first}:${column}${last}"
        assert series.tx.strRef.f == f"'Summary'!{column}{header[0].row}"
    assert chart.series[titles.index("failed")].graphicalProperties.solidFill.srgbClr == "C62828"
