"""The issue's "done when", from the command line against the sandbox served over loopback:
apply → report → fix the Failed sheet as Excel would → apply it with the same journal."""

from __future__ import annotations

import json
import shutil

import httpx
import openpyxl

from .conftest import REPO_ROOT, cardkit

SHEET = """Phone,First Name,Last Name,Photo
(415) 555-2671,Ana,Ruiz,photos/ana.jpg
(512) 555-0110,Ivan,Petrov,photos/ivan.jpg
(408) 555-0111,Nia,Brown,photos/nia.jpg
(415) 555-267,Ben,Okafor,photos/ben.png
"""


def test_failed_run_fixed_in_the_xlsx_and_finished_by_feeding_it_back(loopback_sandbox, tmp_path):
    """Only Ben's fixed row is written on the second apply; the first run's rows are not sent again."""
    origin, env = loopback_sandbox
    shutil.copytree(REPO_ROOT / "cardkit" / "sample" / "photos", tmp_path / "photos")
    (tmp_path / "cards.csv").write_text(SHEET, encoding="utf-8")
    journal = tmp_path / "cards.journal.sqlite"

    first = cardkit("apply", str(tmp_path / "cards.csv"), "--journal", str(journal), "--quiet", env=env)
    assert first.returncode == 1, first.stderr            # Ben's number is incomplete
    made = cardkit("report", str(journal), "--out", str(tmp_path / "report.xlsx"), "--out", str(tmp_path / "report.html"))
    assert made.returncode == 0 and "row 5" in made.stdout

    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    failed = book["Failed"]
    # row, number and names first and frozen, the outcome beside them
    assert [c.value for c in failed[1]][:4] == ["cardkit_row", "Phone", "First Name", "Last Name"]
    assert failed.freeze_panes == "E2"
    assert failed.max_row == 2 and failed["C2"].value == "Ben"
    failed["B2"].value = "(415) 555-2672"
    book.save(tmp_path / "report.xlsx")
    before = httpx.get(f"{origin}/_sandbox/state").json()

    second = cardkit("apply", str(tmp_path / "report.xlsx"), "--journal", str(journal), "--json", env=env)

    assert second.returncode == 0, second.stderr
    after = httpx.get(f"{origin}/_sandbox/state").json()
    new_writes = {
        number: n - before[p]["writes_by_number"].get(number, 0)
        for p in ("blooio", "sendblue", "linq") for number, n in after[p]["writes_by_number"].items()
        if n != before[p]["writes_by_number"].get(number, 0)
    }
    assert new_writes == {"+14155552672": 1}
    assert after["blooio"]["cards"]["+14155552672"]["first_name"] == "Ben"
    final = cardkit("report", str(journal), "--json")
    assert final.returncode == 0 and '"ok": true' in final.stdout
    runs = json.loads(cardkit("report", str(journal), "--list", "--json").stdout)["runs"]
    assert [(r["input"], r["operations"], r["done"], r["needs_attention"]) for r in runs] == [
        ("cards.csv", 4, 3, 1), ("report.xlsx", 1, 1, 0),
    ]
