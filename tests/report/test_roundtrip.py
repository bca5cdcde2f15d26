"""Errors file → fix a cell → apply with the same journal: only the fixed row is written.

Real all the way: a real sheet and photos on disk, read_cards/validate, the engine talking
HTTP to the in-process sandbox, a journal on disk, the report written and edited with openpyxl
(as Excel would) or the csv module, and the sandbox's own write counters as the judge.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import pytest

import cardkit
from cardkit.reporting import OUTCOME_COLUMNS, Report
from cardkit.sandbox import Sandbox

SAMPLE_PHOTOS = Path(__file__).resolve().parents[2] / "cardkit" / "sample" / "photos"

SHEET = """Phone,First Name,Last Name,Photo,Notes
(415) 555-2671,Ana,Ruiz,photos/ana.jpg,blooio
(512) 555-0110,Ivan,Petrov,photos/ivan.jpg,sendblue
(408) 555-0111,Nia,Brown,photos/nia.jpg,linq
(415) 555-267,Ben,Okafor,photos/ben.png,a digit is missing
+1 312 555 0182,,Sato,photos/ana.jpg,first name missing
202 555 0147,Gus,Lee,photos/gus.jpg,standard plan: 403
"""


def writes(box: Sandbox) -> dict[str, int]:
    """Successful writes per number, summed over the three providers."""
    state = box.state()
    counted: dict[str, int] = {}
    for provider in ("blooio", "sendblue", "linq"):
        for number, n in state[provider]["writes_by_number"].items():
            counted[number] = counted.get(number, 0) + n
    return counted


@pytest.fixture
def first_run(tmp_path):
    """The sheet applied once against one sandbox with a journal; returns (sandbox, journal, report)."""
    shutil.copytree(SAMPLE_PHOTOS, tmp_path / "photos")
    (tmp_path / "cards.csv").write_text(SHEET, encoding="utf-8")
    box = Sandbox()
    journal = tmp_path / "cards.journal.sqlite"
    checked = cardkit.validate(cardkit.read_cards(tmp_path / "cards.csv"))
    results = cardkit.apply(checked, sandbox=box, journal=journal, progress=False)
    return box, journal, cardkit.report(results, cards=checked)


def test_first_run_reports_each_row_with_its_verdict(first_run):
    """Three applied, Ben and the nameless row invalid, Gus refused by Blooio (403)."""
    _, _, rep = first_run
    by_row = dict(zip(rep.results["row"], rep.results["status"]))
    assert by_row == {2: "applied", 3: "applied", 4: "applied", 5: "invalid", 6: "invalid", 7: "failed"}


def test_xlsx_errors_sheet_fixed_in_place_and_fed_back_writes_only_the_fixed_row(first_run, tmp_path):
    """Fix Ben's phone on the Failed sheet, apply the workbook with the same journal: one write, Ben's."""
    box, journal, rep = first_run
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    book = openpyxl.load_workbook(path)
    failed = book["Failed"]
    headers = [c.value for c in failed[1]]
    assert sorted(headers) == sorted(["Phone", "First Name", "Last Name", "Photo", "Notes", *OUTCOME_COLUMNS, "cardkit_sheet"])
    ben = next(r for r in failed.iter_rows(min_row=2) if r[headers.index("First Name")].value == "Ben")
    assert ben[headers.index("cardkit_message")].value.startswith("Phone: '(415) 555-267'")
    ben[headers.index("Phone")].value = "(415) 555-2672"   # the user's fix, typed in Excel
    book.save(path)
    before = writes(box)

    again = cardkit.apply(cardkit.validate(cardkit.read_cards(path)), sandbox=box, journal=journal, progress=False)

    after = writes(box)
    assert {n: after[n] - before.get(n, 0) for n in after if after[n] != before.get(n, 0)} == {"+14155552672": 1}
    outcome = dict(zip(again["number"], again["status"]))
    assert outcome["+14155552672"] == "applied"
    # the journal knows Blooio refused its name in the first run: said before sending, not sent again
    assert outcome["+12025550147"] == "invalid"
    gus = again.loc[again["number"] == "+12025550147", "message"].iloc[0]
    assert "Blooio refused name and photo for +12025550147 on" in gus
    assert "invalid" in outcome.values()             # the unfixed row still says what to do
    assert box.state()["blooio"]["cards"]["+14155552672"]["first_name"] == "Ben"


def test_csv_errors_file_fixed_and_fed_back_writes_only_the_fixed_row(first_run, tmp_path):
    """The -errors.csv path: fill the missing first name, apply it with the same journal: one write."""
    box, journal, rep = first_run
    _, errors = rep.to_file(tmp_path / "run.csv", split=True)
    with open(errors, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    nameless = next(r for r in rows[1:] if r[header.index("Last Name")] == "Sato")
    nameless[header.index("First Name")] = "Hana"
    with open(errors, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    before = writes(box)

    again = cardkit.apply(cardkit.validate(cardkit.read_cards(errors)), sandbox=box, journal=journal, progress=False)

    after = writes(box)
    assert {n: after[n] - before.get(n, 0) for n in after if after[n] != before.get(n, 0)} == {"+13125550182": 1}
    assert dict(zip(again["number"], again["status"]))["+13125550182"] == "applied"


def test_feeding_the_whole_report_back_unchanged_writes_nothing(first_run, tmp_path):
    """The Applied rows fed back with the same journal are recognised as done: zero writes."""
    box, journal, rep = first_run
    path = rep.to_file(tmp_path / "report.xlsx")[0]
    before = writes(box)
    again = cardkit.apply(cardkit.read_cards(path, sheet="Applied"), sandbox=box, journal=journal, progress=False)
    assert writes(box) == before
    assert set(again["status"]) == {"unchanged"}


def test_report_from_journal_equals_the_run(first_run):
    """Report.from_journal gives back the run's results and the user's headers on the Failed rows."""
    _, journal, rep = first_run
    again = Report.from_journal(journal)
    assert again.info.run_id == rep.info.run_id and again.info.source == "cards.csv"
    assert again.results[["row", "number", "provider", "status", "message"]].equals(
        rep.results[["row", "number", "provider", "status", "message"]]
    )
    assert again.failed_rows().columns.tolist()[:5] == ["Phone", "First Name", "Last Name", "Photo", "Notes"]
    assert again.failed_rows()["First Name"].tolist() == rep.failed_rows()["First Name"].tolist()


def test_no_secret_and_no_photo_bytes_in_any_report(first_run, tmp_path):
    """Every export of a real run is free of the providers' credentials and of image data."""
    import base64
    import zipfile

    box, _, rep = first_run
    secrets = [v for creds in box.credentials.values() for v in creds.values()]
    photo = (SAMPLE_PHOTOS / "ana.jpg").read_bytes()
    written = [p for ext in ("xlsx", "html", "json", "csv") for p in rep.to_file(tmp_path / f"r.{ext}")]
    written += rep.to_file(tmp_path / "s.csv", split=True)
    for path in written:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                blob = b"".join(archive.read(name) for name in archive.namelist())
        else:
            blob = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in blob, f"{path.name} holds a credential"
        assert b"\xff\xd8\xff" not in blob and b"/9j/" not in blob, f"{path.name} holds JPEG data"
        assert base64.b64encode(photo[:48]) not in blob


def test_a_control_character_fed_back_unfixed_is_still_invalid(tmp_path):
    """Rosa's name with a bell character, fed back from the Failed sheet unfixed, is refused again."""
    (tmp_path / "cards.csv").write_text("Phone,First Name\n404 555 0166,Rosa\x07\n", encoding="utf-8")
    checked = cardkit.validate(cardkit.read_cards(tmp_path / "cards.csv"))
    results = cardkit.apply(checked, sandbox=True, journal=False, progress=False)
    path = cardkit.report(results, cards=checked).to_file(tmp_path / "report.xlsx")[0]
    again = cardkit.validate(cardkit.read_cards(path))
    assert again["first_name"].tolist() == ["Rosa\x07"]
    assert not again["valid"].any()


def test_json_records_of_a_real_run_read_back_equal(first_run, tmp_path):
    """The engine's typed frame (datetimes, nullable ints) survives the JSON export: same values back."""
    import json

    import pandas as pd

    _, _, rep = first_run
    data = json.loads(rep.to_file(tmp_path / "r.json")[0].read_text(encoding="utf-8"))
    back = pd.DataFrame(data["records"])
    results = rep.results
    for column in ("started_at", "finished_at"):
        assert pd.to_datetime(back[column], utc=True).equals(pd.to_datetime(results[column], utc=True))
    assert back["http_status"].astype("Int64").equals(results["http_status"].astype("Int64"))
    columns = ["row", "number", "provider", "status", "message"]
    assert back[columns].values.tolist() == results[columns].values.tolist()


def test_an_errors_file_saved_in_another_folder_still_finds_its_photos(tmp_path):
    """Report of unvalidated cards (what `cardkit apply --report` has): photo paths stay as written
    and, fed back from another folder, resolve in the original sheet's folder the report records."""
    shutil.copytree(SAMPLE_PHOTOS, tmp_path / "photos")
    (tmp_path / "cards.csv").write_text(
        "Phone,First Name,Photo\n(415) 555-2671,Ana,photos/ana.jpg\n(415) 555-267,Ben,photos/ben.png\n", encoding="utf-8"
    )
    cards = cardkit.read_cards(tmp_path / "cards.csv")
    results = cardkit.apply(cards, sandbox=True, journal=False, progress=False)
    (tmp_path / "out").mkdir()
    path = cardkit.report(results, cards=cards).to_file(tmp_path / "out" / "report.xlsx")[0]
    failed = cardkit.read_cards(path)
    assert failed["photo"].tolist() == ["photos/ben.png"]
    assert failed["row"].tolist() == [3]
    failed.loc[:, "number"] = "(415) 555-2672"
    checked = cardkit.validate(failed)
    assert checked["valid"].all()
    assert checked["photo"].tolist() == [str(tmp_path / "photos" / "ben.png")]
