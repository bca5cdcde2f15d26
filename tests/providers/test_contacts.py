"""The Sendblue contacts batch: a real sheet read and checked, run through the engine on the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cardkit
from cardkit.contacts import parse_tags
from cardkit.engine.retry_policy import testing as retry_waits_off
from cardkit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
SHEET = """Phone,First Name,Company,Tags,Assignee
(312) 555-0182,Ada,Acme,"vip, customer",jane@acme.com
+1 415 555 2674,Grace,Navy,,
555-01,Bob,,,
+13125550182,Dup,,,
+12065550155,,,,not-an-email
+17185550123,,,-,
+15125550110,,,,
"""


@pytest.fixture(autouse=True)
def no_waits():
    with retry_waits_off():
        yield


@pytest.fixture
def sheet(tmp_path) -> Path:
    path = tmp_path / "recipients.csv"
    path.write_text(SHEET, encoding="utf-8")
    return path


def results_by_row(results: pd.DataFrame) -> dict[int, dict]:
    return {int(r["row"]): r for r in results.to_dict("records")}


def test_read_contacts_maps_headers_normalizes_and_gives_every_row_a_verdict(sheet):
    """Messy headers are recognized, numbers become E.164, and every bad cell names row, header, value, fix."""
    contacts = cardkit.read_contacts(sheet)
    rows = {int(r["row"]): r for r in contacts.to_dict("records")}
    assert rows[2]["number"] == "+13125550182" and rows[2]["company_name"] == "Acme"
    assert rows[2]["tags"] == "vip, customer" and rows[2]["valid"]
    assert rows[3]["number"] == "+14155552674" and rows[3]["valid"]
    assert not rows[4]["valid"] and rows[4]["problems"].startswith("row 4, Phone: '555-01'")
    assert "is the same number as row 2" in rows[5]["problems"]  # the cards' duplicate_number check
    assert "row 6, Assignee: 'not-an-email' is not an email address" in rows[6]["problems"]
    assert rows[7]["valid"] and rows[7]["tags"] == "-"
    assert "nothing to update" in rows[8]["problems"]
    assert contacts.attrs["cardkit"]["headers"]["company_name"] == "Company"


def test_contact_problems_share_the_cards_problem_frame_and_check_codes(sheet):
    """Every bad contact cell is a row of find_problems' frame, coded from the cards' one list of checks."""
    from cardkit.contacts import contacts_schema, find_contact_problems
    from cardkit.reading import read_table
    from cardkit.validation import CHECKS

    problems = find_contact_problems(read_table(sheet, schema=contacts_schema()))
    assert tuple(problems.columns) == cardkit.PROBLEM_COLUMNS
    assert set(problems["check"]) <= set(CHECKS)
    found = {(int(p["row"]), p["column"], p["check"]) for p in problems.to_dict("records")}
    assert found == {(4, "Phone", "too_short"), (5, "Phone", "duplicate_number"),
                     (6, "Assignee", "bad_email"), (8, "Phone", "nothing_to_update")}
    assert (problems["severity"] == "error").all()
    bad_email = problems[problems["check"] == "bad_email"].iloc[0]
    assert bad_email["value"] == "not-an-email" and bad_email["message"].startswith("row 6, Assignee: ")


def test_read_contacts_reads_a_real_xlsx_with_numbers_as_text(tmp_path):
    """An .xlsx written by openpyxl, phone typed as a number, still gives the right E.164."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Mobile", "Last Name", "Labels"])
    sheet.append([13125550182, "Lovelace", "a; b; a"])
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    contacts = cardkit.read_contacts(path)
    assert contacts.loc[0, "number"] == "+13125550182" and bool(contacts.loc[0, "valid"])
    assert contacts.loc[0, "tags"] == "a, b"


def test_parse_tags_leave_clear_and_split():
    """Empty leaves tags alone, '-' clears them, commas and semicolons split and dedupe."""
    assert parse_tags("") == (None, "")
    assert parse_tags(" - ") == ((), "")
    assert parse_tags("vip; customer ,vip") == (("vip", "customer"), "")
    assert "longer than 64" in parse_tags("x" * 70)[1]


def test_update_contacts_reports_missing_contacts_then_creates_them_then_is_unchanged(sheet):
    """Without create_missing unknown numbers are reported; with it they are created; a re-run writes nothing."""
    box = Sandbox()
    first = results_by_row(cardkit.update_contacts(sheet, sandbox=box, progress=False))
    assert first[2]["status"] == "invalid" and "no contact +13125550182" in first[2]["message"]
    assert box.state()["sendblue"]["writes"] == 0

    created = results_by_row(cardkit.update_contacts(sheet, sandbox=box, progress=False, create_missing=True))
    assert created[2]["status"] == "applied" and created[2]["action"] == "create"
    assert created[4]["status"] == "invalid" and created[6]["status"] == "invalid"
    stored = box.state()["sendblue"]["contacts"]["+13125550182"]
    assert stored["company_name"] == "Acme" and sorted(stored["tags"]) == ["customer", "vip"]
    assert stored["assigned_to_email"] == "jane@acme.com"

    writes = box.state()["sendblue"]["writes"]
    again = cardkit.update_contacts(sheet, sandbox=box, progress=False, create_missing=True)
    assert box.state()["sendblue"]["writes"] == writes
    assert set(again.loc[again["row"].isin([2, 3, 7]), "status"]) == {"unchanged"}


def test_update_contacts_puts_only_the_changed_fields(sheet, tmp_path):
    """A changed company is one PUT with just that field; other fields stay as they were."""
    box = Sandbox()
    cardkit.update_contacts(sheet, sandbox=box, progress=False, create_missing=True)
    edited = tmp_path / "edited.csv"
    edited.write_text(SHEET.replace("Ada,Acme", "Ada,Acme Corp"), encoding="utf-8")
    results = results_by_row(cardkit.update_contacts(edited, sandbox=box, progress=False))
    assert results[2]["action"] == "update" and results[2]["changed"] == "company_name"
    stored = box.state()["sendblue"]["contacts"]["+13125550182"]
    assert stored["company_name"] == "Acme Corp" and stored["first_name"] == "Ada"


def test_dry_run_writes_nothing_and_says_what_it_would_do(sheet):
    """dry_run reads and plans: statuses are planned, the sandbox sees no write."""
    box = Sandbox()
    results = results_by_row(cardkit.update_contacts(sheet, sandbox=box, progress=False, dry_run=True,
                                                     create_missing=True))
    assert results[2]["status"] == "planned" and results[2]["action"] == "create"
    assert box.state()["sendblue"]["writes"] == 0


def test_journal_resume_skips_what_was_applied(sheet, tmp_path):
    """With a journal, a second run skips the rows already applied with the same values."""
    box = Sandbox()
    journal = tmp_path / "contacts.journal.sqlite"
    cardkit.update_contacts(sheet, sandbox=box, progress=False, create_missing=True, journal=journal)
    again = results_by_row(cardkit.update_contacts(sheet, sandbox=box, progress=False, create_missing=True,
                                                   journal=journal))
    assert again[2]["status"] == "unchanged" and "already applied" in again[2]["message"]
    assert cardkit.engine.Journal(journal).runs()["kind"].tolist() == ["contacts", "contacts"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENDBLUE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "cardkit", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_cli_contacts_runs_on_the_sandbox_writes_a_report_and_exits_1_for_bad_rows(sheet, tmp_path):
    """`cardkit contacts FILE --sandbox --create-missing --report` prints counts and exits 1 (invalid rows)."""
    report = tmp_path / "results.csv"
    done = cli("contacts", str(sheet), "--sandbox", "--create-missing", "--report", str(report), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "applied" in done.stdout and "row 4" in done.stdout
    written = pd.read_csv(report)
    assert list(written.columns) == list(cardkit.RESULT_COLUMNS)
    assert (written["status"] == "applied").sum() == 3


def test_cli_contacts_without_credentials_names_the_variable(sheet, tmp_path):
    """No Sendblue credentials and no --sandbox: one line naming SENDBLUE_API_API_KEY, exit 2."""
    done = cli("contacts", str(sheet), cwd=tmp_path)
    assert done.returncode == 2
    assert "SENDBLUE_API_API_KEY" in done.stderr and "Traceback" not in done.stderr


def test_wrong_credentials_fail_every_row_naming_the_variables_not_the_values(sheet):
    """A refused secret: valid rows fail (not retried) with the variables to check, no secret shown."""
    box = Sandbox()
    key_id = box.credentials["sendblue"]["key_id"]
    wrong = cardkit.Sendblue(api_key=key_id, api_secret="wrong_secret_value",
                             base_url=box.base_urls()["sendblue"])
    results = cardkit.update_contacts(sheet, sendblue=wrong, sandbox=box, progress=False)
    failed = results[results["status"] == "failed"]
    assert set(failed["row"]) == {2, 3, 7} and set(failed["http_status"]) == {401}
    assert failed["message"].str.contains("SENDBLUE_API_API_SECRET").all()
    assert (failed["attempts"] == 1).all()
    text = results.to_csv()
    assert key_id not in text and "wrong_secret_value" not in text


def test_update_contacts_works_inside_a_running_event_loop(sheet):
    """The sync face runs inside a running loop (as in a notebook) and returns the results."""
    import asyncio

    async def notebook_cell():
        return cardkit.update_contacts(sheet, sandbox=True, progress=False, create_missing=True)

    results = asyncio.run(notebook_cell())
    assert (results["status"] == "applied").sum() == 3


def test_contacts_run_as_a_plain_engine_run_through_its_public_batch_hook(sheet):
    """update_contacts builds a plain `Run` given a `Batch` (no subclass overriding private steps)."""
    import asyncio

    from cardkit.contacts.batch import ContactsBatch, _contacts_run
    from cardkit.engine.run import Batch, Run

    assert isinstance(ContactsBatch(), Batch)
    run = _contacts_run(sheet, sandbox=Sandbox(), progress=False, create_missing=True)
    assert type(run) is Run and run.kind == "contacts"
    results = asyncio.run(run.execute())
    assert results.attrs["cardkit"]["kind"] == "contacts"
    assert results["row"].tolist() == list(range(2, 9))
    assert set(results["provider"]) == {"sendblue"}
    assert results_by_row(results)[2]["status"] == "applied"
