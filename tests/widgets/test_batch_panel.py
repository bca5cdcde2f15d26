"""BatchPanel without a browser: load the sample sheet, filter problems, plan, apply, cancel, download."""

from __future__ import annotations

import asyncio
import base64
import datetime
import io
import re
from pathlib import Path

import openpyxl
import pytest

from cardkit.engine import Journal
from cardkit.sandbox import Sandbox
from cardkit.widgets import BatchPanel

pytestmark = pytest.mark.timeout(60)

SAMPLE = Path(__file__).resolve().parents[2] / "cardkit" / "sample" / "cards.csv"


def run(coro):
    """Run a test body inside an event loop, as the kernel's loop would host the panel."""
    return asyncio.run(coro)


async def click(panel: BatchPanel, button) -> None:
    button.click()
    await panel.last_task


async def loaded(panel: BatchPanel, path: Path = SAMPLE) -> BatchPanel:
    panel.path.value = str(path)
    await click(panel, panel.load_button)
    return panel


def upload_value(name: str, data: bytes) -> tuple[dict, ...]:
    """What the browser sends when a user picks a file (ipywidgets 8 FileUpload value)."""
    return ({"name": name, "type": "application/octet-stream", "size": len(data), "content": memoryview(data),
             "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},)


def links(html: str) -> dict[str, bytes]:
    """{file name: bytes} of every data: download link in an HTML snippet."""
    found = re.findall(r"download='([^']+)' href='data:[^;]+;base64,([^']+)'", html)
    return {name: base64.b64decode(payload) for name, payload in found}


def test_loading_the_sample_counts_rows_and_lists_every_problem():
    """The sample sheet loads with its ready/invalid counts and a problems table naming row and column."""

    async def body():
        panel = await loaded(BatchPanel(sandbox=True))
        assert panel.status.kind == "ok", panel.status.text
        valid = int(panel.checked["valid"].sum())
        assert f"{valid} of {len(panel.cards)} rows ready" in panel.status.text
        assert len(panel.filtered_problems()) == len(panel.problems) > 0
        assert "&#x27;555-0100&#x27; is not a complete number for region US — add the area code" in panel.problems_table.value

    run(body())


def test_problem_filters_narrow_the_table():
    """Severity, column and text filters each narrow the problems shown, and combine."""

    async def body():
        panel = await loaded(BatchPanel(sandbox=True))
        problems = panel.problems
        panel.severity_filter.value = "error"
        assert set(panel.filtered_problems()["severity"]) == {"error"}
        assert len(panel.filtered_problems()) == (problems["severity"] == "error").sum()
        panel.column_filter.value = "Photo"
        shown = panel.filtered_problems()
        assert set(shown["column"]) == {"Photo"} and set(shown["severity"]) == {"error"}
        panel.text_filter.value = "TRUNCATED"
        assert panel.filtered_problems()["row"].tolist() == [27]
        assert f"1 of {len(problems)} problems" in panel.problems_table.value

    run(body())


def test_a_missing_file_gets_a_clear_message_without_traceback(tmp_path: Path):
    """A path that doesn't exist ends in cardkit's own message (no 'Unexpected', no traceback)."""

    async def body():
        panel = await loaded(BatchPanel(sandbox=True), tmp_path / "nope.xlsx")
        assert panel.status.kind == "error" and "nope.xlsx" in panel.status.text
        assert panel.status.detail == "" and "Unexpected" not in panel.status.text
        await click(panel, panel.plan_button)
        assert panel.status.text == "Load a spreadsheet first."

    run(body())


def test_upload_a_sheet_and_it_loads():
    """A CSV picked in the upload widget is saved and loaded like a path."""
    data = b"Phone,First Name,Last Name\n(408) 555-0111,Nia,Brown\n555-0100,Bad,Number\n"

    async def body():
        panel = BatchPanel(sandbox=True)
        panel.upload.value = upload_value("team.csv", data)
        await panel.last_task
        assert panel.path.value.endswith("team.csv")
        assert panel.status.kind == "ok" and "1 of 2 rows ready" in panel.status.text

    run(body())


def test_plan_then_apply_fills_results_progress_and_report_downloads():
    """Plan writes nothing; Apply writes, fills the bar, shows results and offers XLSX and HTML that open."""

    async def body():
        panel = await loaded(BatchPanel(sandbox=True))
        await click(panel, panel.plan_button)
        assert panel.status.text.startswith("Plan:") and set(panel.last_plan["status"]) <= {"planned", "invalid"}
        assert panel.progress.value == panel.progress.max == len(panel.last_plan)
        assert sum(panel.sandbox.state()[p]["writes"] for p in ("blooio", "sendblue", "linq")) == 0

        await click(panel, panel.apply_button)
        results = panel.last_results
        assert len(results) == len(panel.cards)
        assert (results["status"] == "applied").sum() > 0
        assert panel.progress.value == panel.progress.max == len(results)
        assert panel.status.kind == "warning" and "rows to fix" in panel.status.text  # the sample has bad rows
        panel.status_filter.value = "failed"
        assert "+12025550147" in panel.results_table.value and "+14155552671" not in panel.results_table.value

        files = links(panel.downloads.value)
        assert set(files) == {"cardkit-report.xlsx", "cardkit-report.html"}
        book = openpyxl.load_workbook(io.BytesIO(files["cardkit-report.xlsx"]), read_only=True)
        assert "Failed" in book.sheetnames
        page = files["cardkit-report.html"].decode("utf-8")
        assert "<html" in page.lower() and "+12025550147" in page
        assert panel.report_status.kind == "ok"

    run(body())


def test_cancel_stops_the_run_keeps_partial_results_and_the_journal_agrees(tmp_path: Path):
    """Cancel mid-run: some cards applied, the rest skipped; the journal says the same; Apply again resumes."""
    journal = tmp_path / "run.journal.sqlite"

    async def body():
        box = Sandbox(latency_ms=60)
        panel = await loaded(BatchPanel(sandbox=box, journal=journal, max_at_once=1))
        panel.apply_button.click()
        task = panel.last_task
        while sum(box.state()[p]["writes"] for p in ("blooio", "sendblue", "linq")) < 2:
            assert not task.done(), panel.status.text
            await asyncio.sleep(0.02)
        assert panel.cancel_button.disabled is False
        panel.cancel_button.click()
        await task
        first = panel.last_results
        assert panel.status.kind == "warning" and panel.status.text.startswith("Cancelled")
        assert (first["status"] == "applied").sum() >= 2
        skipped = first[first["status"] == "skipped"]
        assert len(skipped) >= 1 and skipped["message"].str.contains("cancelled").all()
        assert panel.progress.value < panel.progress.max
        assert panel.cancel_button.disabled is True

        kept = Journal(journal).results()
        merged = first.merge(kept, on=["row", "provider"], suffixes=("", "_journal"))
        assert len(merged) == len(first)
        assert (merged["status"] == merged["status_journal"]).all()
        assert links(panel.downloads.value), "a cancelled run still gets its report"

        await click(panel, panel.apply_button)
        second = panel.last_results
        again = second.set_index(["row", "provider"])["status"]
        for row in first[first["status"] == "applied"].itertuples():
            assert again[(row.row, row.provider)] == "unchanged"
        assert not (second["status"] == "skipped").any()

    run(body())


def test_providers_box_limits_the_run_to_the_named_provider():
    """'linq' in the Providers box: only Linq's rows are applied; other numbers get no writes."""

    async def body():
        panel = await loaded(BatchPanel(sandbox=True))
        panel.providers.value = "linq"
        await click(panel, panel.apply_button)
        results = panel.last_results
        assert set(results.loc[results["status"] == "applied", "provider"]) == {"linq"}
        assert panel.sandbox.state()["blooio"]["writes"] == 0

    run(body())


def test_second_cancel_click_stops_at_once_and_still_keeps_partial_results():
    """Cancel then 'Stop now' (a slow provider): the task is cancelled, the finished rows are kept."""

    async def body():
        box = Sandbox(latency_ms=400)
        panel = await loaded(BatchPanel(sandbox=box, max_at_once=1))
        panel.apply_button.click()
        task = panel.last_task
        while sum(box.state()[p]["writes"] for p in ("blooio", "sendblue", "linq")) < 1:
            await asyncio.sleep(0.02)
        panel.cancel_button.click()
        assert panel.cancel_button.description == "Stop now"
        panel.cancel_button.click()
        await task
        results = panel.last_results
        assert len(results) == len(panel.cards)
        assert (results["status"] == "applied").sum() >= 1 and (results["status"] == "skipped").sum() >= 1
        assert panel.status.text.startswith("Cancelled")
        assert panel.cancel_button.description == "Cancel" and panel.cancel_button.disabled

    run(body())


def test_a_zip_of_sheet_and_photos_loads_with_its_photos_resolved():
    """Uploading cards.csv + photos/ as one zip: the photos are found, so only the sheet's own photo errors remain."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(SAMPLE, "team/cards.csv")
        for photo in (SAMPLE.parent / "photos").iterdir():
            archive.write(photo, f"team/photos/{photo.name}")

    async def body():
        panel = BatchPanel(sandbox=True)
        panel.upload.value = upload_value("team.zip", buffer.getvalue())
        await panel.last_task
        assert panel.status.kind == "ok", panel.status.text
        assert Path(panel.path.value).name == "cards.csv"
        photo_errors = panel.problems[(panel.problems["column"] == "Photo") & (panel.problems["severity"] == "error")]
        assert sorted(photo_errors["check"]) == ["photo_corrupt", "photo_missing", "photo_not_image"]
        await click(panel, panel.apply_button)
        linq = panel.last_results[panel.last_results["provider"] == "linq"]
        assert "photo" in linq.loc[linq["row"] == 15, "changed"].iloc[0]

    run(body())


def test_a_zip_without_exactly_one_sheet_is_refused_with_what_to_do():
    """A zip with two sheets, or not a zip at all, gets a message naming the file and the fix."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", "Phone,First Name\n")
        archive.writestr("b.xlsx", b"")

    async def body():
        panel = BatchPanel(sandbox=True)
        panel.upload.value = upload_value("two.zip", buffer.getvalue())
        assert panel.status.kind == "error" and "holds 2 spreadsheets (a.csv, b.xlsx)" in panel.status.text
        panel.upload.value = upload_value("broken.zip", b"PK not really")
        assert panel.status.kind == "error" and "'broken.zip' is not a readable zip file" in panel.status.text
        assert panel.status.detail == ""

    run(body())


def test_unknown_headers_offer_a_column_mapping_that_reads_the_sheet_again(tmp_path: Path):
    """A sheet naming the first name 'Who': a dropdown of its headers appears; choosing re-reads it, no code."""
    sheet = tmp_path / "crm-export.csv"
    sheet.write_text("Line,Who,Family\n(408) 555-0111,Nia,Brown\n", encoding="utf-8")

    async def body():
        panel = await loaded(BatchPanel(sandbox=True), sheet)
        assert panel.status.kind == "warning" and "Choose the column for" in panel.status.text
        assert panel.mapping.layout.display == "" and set(panel.mapping_dropdowns) == {"first_name"}
        assert list(panel.mapping_dropdowns["first_name"].options)[1:] == ["Line", "Who", "Family"]
        assert "columns=" not in panel.status.text and "{" not in panel.status.text  # no Python in a widget
        panel.mapping_button.click()  # nothing chosen yet: says what is missing, reads nothing
        assert panel.status.kind == "error" and "the first name" in panel.status.text
        panel.mapping_dropdowns["first_name"].value = "Who"
        await click(panel, panel.mapping_button)
        assert panel.status.kind == "ok" and "1 of 1 rows ready" in panel.status.text
        assert panel.columns == {"Who": "first_name"}
        assert panel.mapping.layout.display == "none"
        await click(panel, panel.apply_button)
        assert panel.last_results[["provider", "status"]].values.tolist() == [["linq", "applied"]]
        # the same mapping given in code
        mapped = await loaded(BatchPanel(sandbox=True, columns={"Line": "number", "Who": "first_name",
                                                                 "Family": "last_name"}), sheet)
        assert mapped.status.kind == "ok" and "1 of 1 rows ready" in mapped.status.text

    run(body())


def test_share_mode_shares_a_chats_sheet_with_the_message_and_shows_the_chat(tmp_path: Path):
    """The mode switch turns the panel to a chats sheet: Plan shares nothing, Apply shares each
    chat once (with the message box's text) and the results show the chat column."""
    sheet = tmp_path / "chats.csv"
    sheet.write_text("number,chat\n+14155552671,+15551230001\n+14155552672,+15551230002\n"
                     "+17025550144,+15551230003\n+14155552671,\n")

    async def body():
        panel = BatchPanel(sandbox=True)
        panel.mode.value = "share"
        panel.message.value = "Hello from the panel"
        await loaded(panel, sheet)
        assert "<b>3</b> ready, <b>1</b> with errors" in panel.summary.value
        assert "row 5, chat: empty" in panel.problems_table.value
        await click(panel, panel.plan_button)
        assert set(panel.last_plan["status"]) == {"planned", "invalid"}
        await click(panel, panel.apply_button)
        results = panel.last_results
        assert results["status"].tolist() == ["applied", "applied", "invalid", "invalid"]
        assert "no configured provider owns +17025550144" in results.loc[2, "message"]
        assert ">chat<" in panel.results_table.value and "+15551230002" in panel.results_table.value
        shares = panel.sandbox.state()["blooio"]["shares"]["with_message"]
        assert shares == {"+15551230001": 1, "+15551230002": 1}

    run(body())
