"""The issue's "done when": the demo's Failed sheet, two rows fixed in openpyxl as a user would in
Excel, moved to another folder and fed back without --journal: only those two rows are written,
the duplicate stays invalid, messages cite the original rows, photos still resolve."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

import cardkit
from cardkit.sandbox import Sandbox

SAMPLE = Path(__file__).resolve().parents[2] / "cardkit" / "sample"


def _writes(sandbox: Sandbox) -> dict[tuple[str, str], int]:
    state = sandbox.state()
    return {(p, n): count for p in ("blooio", "sendblue", "linq")
            for n, count in state[p]["writes_by_number"].items()}


@pytest.fixture()
def first_run(tmp_path):
    """The demo's run: the sample sheet applied to a sandbox, journaled, its report written."""
    original = tmp_path / "original"
    original.mkdir()
    shutil.copy(SAMPLE / "cards.csv", original / "cards.csv")
    shutil.copytree(SAMPLE / "photos", original / "photos")
    sandbox = Sandbox()
    checked = cardkit.validate(cardkit.read_cards(original / "cards.csv"))
    journal = original / "cards.journal.sqlite"
    results = cardkit.apply(checked, sandbox=sandbox, journal=journal, progress=False)
    report = cardkit.report(results, cards=checked).to_file(original / "report.xlsx")[0]
    return sandbox, report, journal, tmp_path


def _fix_two_rows(path: Path) -> None:
    """Row 20 (first name empty) and row 21 (control character) fixed in the cells, as in Excel."""
    book = openpyxl.load_workbook(path)
    sheet = book["Failed"]
    header = [c.value for c in sheet[1]]
    first, row_column = header.index("First Name"), header.index("cardkit_row")
    for cells in sheet.iter_rows(min_row=2):
        if cells[row_column].value in (20, "20"):
            cells[first].value = "Quinn"
        if cells[row_column].value in (21, "21"):
            cells[first].value = "Rosa"
    book.save(path)


def test_fed_back_failed_sheet_writes_only_the_fixed_rows_from_another_folder(first_run):
    """Moved and fed back without a journal: rows 20 and 21 are written, nothing else; row 23
    stays a duplicate of row 2; messages cite the original rows; photos resolve."""
    sandbox, report, journal, tmp_path = first_run
    _fix_two_rows(report)
    moved = tmp_path / "mailed" / "report.xlsx"
    moved.parent.mkdir()
    shutil.move(report, moved)
    before = _writes(sandbox)

    cards = cardkit.read_cards(moved)
    results = cardkit.apply(cards, sandbox=sandbox, progress=False)

    after = _writes(sandbox)
    new = {key: n - before.get(key, 0) for key, n in after.items() if n != before.get(key, 0)}
    assert new == {("linq", "+13235550177"): 1, ("linq", "+14045550166"): 1}
    assert results.attrs["cardkit"]["journal"] == str(journal)
    by_row = results.set_index("row")
    assert by_row.loc[20, "status"] == "applied" and by_row.loc[21, "status"] == "applied"
    assert by_row.loc[23, "status"] == "invalid"
    assert "row 23" in by_row.loc[23, "message"] and "same number as row 2 " in by_row.loc[23, "message"]
    assert by_row.loc[22, "message"].startswith("row 22, Phone:")
    assert sorted(results["row"]) == [8, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28]
    assert by_row.loc[26, "message"].startswith("row 26, Photo: 'photos/missing.jpg' does not exist")


def test_failed_sheet_keeps_photo_paths_and_the_original_sheet_identity(first_run):
    """The Failed sheet shows photo paths as written and each row's original row and sheet."""
    _, report, journal, _ = first_run
    failed = cardkit.read_cards(report)
    assert failed.loc[failed["row"] == 20, "photo"].tolist() == ["photos/nia.jpg"]
    assert set(failed["cardkit_sheet"].str.split().str[0]) == {"cards.csv"}
    assert failed.attrs["cardkit"]["fed_back"]["journal"] == str(journal)


def test_fed_back_report_finds_photos_beside_itself_when_the_original_folder_is_gone(first_run):
    """Report and photos mailed together, the original folder deleted: photos resolve beside the report."""
    _, report, _, tmp_path = first_run
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(report, elsewhere / "report.xlsx")
    shutil.move(tmp_path / "original" / "photos", elsewhere / "photos")
    shutil.rmtree(tmp_path / "original")
    checked = cardkit.validate(cardkit.read_cards(elsewhere / "report.xlsx"))
    assert checked.set_index("row").loc[27, "problems"].startswith("row 27, Photo: 'photos/truncated.jpg' is damaged")
    assert checked.set_index("row").loc[21, "photo"] == str(elsewhere / "photos" / "lena.jpg")


def test_applied_rows_never_come_back_on_a_second_feed_back(first_run):
    """Feeding the same fixed file twice: the second time the fixed rows are already applied."""
    sandbox, report, _, _ = first_run
    _fix_two_rows(report)
    cardkit.apply(cardkit.read_cards(report), sandbox=sandbox, progress=False)
    before = _writes(sandbox)
    again = cardkit.apply(cardkit.read_cards(report), sandbox=sandbox, progress=False)
    assert _writes(sandbox) == before
    assert set(again.set_index("row").loc[[20, 21], "status"]) == {"unchanged"}
