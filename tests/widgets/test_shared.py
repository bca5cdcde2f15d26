"""The plumbing every form relies on: status line, background tasks, tables, download links, uploads."""

from __future__ import annotations

import asyncio
import base64
import datetime
import gc
import os
import pathlib
import re
import subprocess
import sys
from html.parser import HTMLParser

import ipywidgets as widgets
import pandas as pd

from cardkit.errors import InputError
from cardkit.widgets._shared import Status, Tasks, download_link, frame_html, guarded
from cardkit.widgets._uploads import ScratchFolder


def test_status_escapes_text_and_tags_its_kind():
    """A message with markup is shown as text, and the kind is both an attribute and a CSS class."""
    status = Status()
    status.ok("<b>applied</b> & done")
    assert status.kind == "ok" and status.text == "<b>applied</b> & done"
    assert "&lt;b&gt;applied&lt;/b&gt; &amp; done" in status.widget.value
    assert "cardkit-status-ok" in status.widget.value


def test_status_shows_cardkit_errors_as_their_message_and_others_with_a_traceback():
    """A CardkitError is shown as its own words; an unexpected error keeps its traceback folded."""
    status = Status()
    status.error(InputError("row 3, number: '555' is too short — add the area code"))
    assert status.text == "row 3, number: '555' is too short — add the area code" and status.detail == ""
    try:
        {}["missing"]
    except KeyError as exc:
        status.error(exc)
    assert status.kind == "error" and status.text.startswith("Unexpected error — KeyError")
    assert "Traceback" in status.detail and "<details>" in status.widget.value


def test_task_error_lands_in_the_status_and_buttons_come_back():
    """An exception inside a background action is shown in the status; busy buttons are re-enabled."""
    button = widgets.Button()
    status = Status()
    tasks = Tasks(status, busy=[button])

    async def failing() -> None:
        assert button.disabled, "the button is disabled while the action runs"
        raise RuntimeError("provider exploded")

    async def main() -> None:
        task = tasks.start(failing, working="Working…")
        assert status.kind == "working"
        await task

    asyncio.run(main())
    assert status.kind == "error" and "provider exploded" in status.text
    assert button.disabled is False


def test_a_second_click_while_busy_does_not_start_a_second_run():
    """Clicking again while an action runs only warns; the first action carries on alone."""
    status = Status()
    tasks = Tasks(status)
    runs = []

    async def slow() -> None:
        runs.append(1)
        await asyncio.sleep(0.05)
        status.ok("finished")

    async def main() -> None:
        first = tasks.start(slow, working="Working…")
        second = tasks.start(slow, working="Working…")
        assert second is None and status.kind == "warning"
        await first

    asyncio.run(main())
    assert runs == [1] and status.text == "finished"


def test_without_a_running_loop_the_action_runs_to_completion_at_once():
    """In a plain script (no loop), clicking runs the action synchronously and the task is done."""
    status = Status()
    tasks = Tasks(status)

    async def quick() -> str:
        await asyncio.sleep(0)
        status.ok("done")
        return "value"

    task = tasks.start(quick, working="Working…")
    assert task.done() and task.result() == "value" and status.text == "done"


def test_cancelling_the_task_says_so_in_the_status():
    """A cancelled action (kernel interrupt, Cancel) ends with a warning, not a lost exception."""
    status = Status()
    tasks = Tasks(status)

    async def forever() -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        task = tasks.start(forever, working="Working…")
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert status.kind == "warning" and "Stopped" in status.text


def test_guarded_callback_shows_its_error_instead_of_raising():
    """A synchronous callback that raises leaves the error in the status (ipywidgets would only log it)."""

    class Form:
        def __init__(self) -> None:
            self.status = Status()

        @guarded(lambda self: self.status)
        def on_change(self, change: dict) -> None:
            raise ValueError(f"bad value {change['new']!r}")

    form = Form()
    assert form.on_change({"new": "x"}) is None
    assert form.status.kind == "error" and "bad value 'x'" in form.status.text


def test_frame_html_caps_long_frames_and_says_how_many_were_left_out():
    """A 120-row frame shows 50 rows and '… and 70 more rows'; cell text is escaped."""
    frame = pd.DataFrame({"row": range(2, 122), "message": ["<script>x</script>"] * 120})
    html = frame_html(frame, max_rows=50, caption="Results")
    assert html.count("<tr") == 51  # header + 50 rows
    assert "and 70 more rows" in html and "<script>" not in html


def test_download_link_carries_the_exact_bytes():
    """The data: URI of the download link decodes back to the very bytes given."""
    data = bytes(range(256)) * 10

    class Links(HTMLParser):
        found: list[dict] = []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.found.append(dict(attrs))

    parser = Links()
    parser.feed(download_link(data, "report's.xlsx", "application/octet-stream", "Report"))
    (link,) = parser.found
    assert link["download"] == "report's.xlsx"
    match = re.fullmatch(r"data:application/octet-stream;base64,(.*)", link["href"])
    assert match and base64.b64decode(match.group(1)) == data


def test_scratch_folder_saves_the_uploaded_bytes_under_the_file_name():
    """An ipywidgets 8 upload value becomes a real file (only its base name is used)."""
    upload = widgets.FileUpload()
    upload.value = ({"name": "../../evil/cards.csv", "type": "text/csv", "size": 5,
                     "content": memoryview(b"a,b\n"),
                     "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},)
    scratch = ScratchFolder("cardkit-test-")
    saved = scratch.save(upload)
    assert saved is not None and saved.name == "cards.csv" and saved.read_bytes() == b"a,b\n"
    assert ScratchFolder("cardkit-test-").save(widgets.FileUpload()) is None
    del scratch
    gc.collect()
    assert not saved.parent.exists()


def test_a_forms_uploads_leave_no_folder_behind_once_the_kernel_exits(tmp_path):
    """Uploaded sheets and photos are people's data: a panel's scratch folder is gone when its
    Python process ends, even though the panel was never closed."""
    script = (
        "import datetime\n"
        "from cardkit.widgets import BatchPanel\n"
        "panel = BatchPanel()\n"
        "panel.upload.value = ({'name': 'cards.csv', 'type': 'text/csv', 'size': 4,\n"
        "                       'content': memoryview(b'a,b\\n'),\n"
        "                       'last_modified': datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},)\n"
        "print(panel._scratch.save(panel.upload).parent)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=120)
    assert done.returncode == 0, done.stderr
    folder = pathlib.Path(done.stdout.strip().splitlines()[-1])
    assert folder.parent == tmp_path and folder.name.startswith("cardkit-batch-")
    assert not folder.exists() and list(tmp_path.iterdir()) == []
