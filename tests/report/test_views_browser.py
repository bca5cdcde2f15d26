"""The notebook views, rendered with JupyterLab's own CSS in headless Chromium, read as a person reads them.

The page is what `jupyter nbconvert --to html` (the `lab` template) makes of a notebook whose
outputs are the frames' views: JupyterLab's stylesheet, its `.jp-RenderedHTMLCommon` output
wrappers and their table rules (right-aligned, centred, fixed layout) — the rules the views must
outrank. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from cardkit.engine.results import NOT_STARTED, results_frame
from cardkit.validation import find_problems, validate
from tests.report.conftest import SCREENSHOTS, offline_page

REMEDY = "move the number to a Dedicated plan (its sharing_* columns can be set on any plan)"
LONG_MESSAGE = (
    'Blooio answered 403 (code forbidden): "Setting first_name, last_name or avatar is only available on '
    'Dedicated Commercial and Dedicated Enterprise plans" — +12025550147 belongs to this API key, so its '
    "plan is the cause: only Dedicated plans may set name and photo — " + REMEDY
)


def lab_page(tmp_path, frames: dict[str, object]) -> str:
    """An nbconvert `lab` HTML page with one output cell per frame (its text/html and text/plain)."""
    from nbconvert import HTMLExporter

    notebook = nbformat.v4.new_notebook()
    for name, frame in frames.items():
        cell = nbformat.v4.new_code_cell(name, execution_count=len(notebook.cells) + 1)
        cell.outputs = [nbformat.v4.new_output(
            "execute_result", execution_count=cell.execution_count,
            data={"text/html": frame._repr_html_(), "text/plain": repr(frame)})]
        notebook.cells.append(cell)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    assert "jp-RenderedHTMLCommon" in body     # JupyterLab's stylesheet and wrappers are on the page
    path = tmp_path / "views.html"
    path.write_text(body, encoding="utf-8")
    return path.resolve().as_uri()


def results_with_a_long_failure():
    """A results frame as the engine builds it: applied, a 403 with a long remedy, invalid, not started."""
    base = {"http_status": None, "error_code": "", "attempts": 0, "elapsed_ms": None, "changed": "",
            "started_at": None, "finished_at": None, "run_id": "r1", "action": "none", "message": ""}
    rows = [
        {**base, "row": 2, "number": "+14155552671", "provider": "blooio", "status": "applied", "action": "update",
         "http_status": 200, "attempts": 1, "elapsed_ms": 52.0, "changed": "first_name,photo",
         "started_at": "2026-11-24T06:00:00Z", "finished_at": "2026-11-24T06:00:00.05Z"},
        {**base, "row": 8, "number": "+12025550147", "provider": "blooio", "status": "failed", "action": "update",
         "http_status": 403, "error_code": "forbidden", "attempts": 1, "elapsed_ms": 40.0, "message": LONG_MESSAGE,
         "started_at": "2026-11-24T06:00:01Z", "finished_at": "2026-11-24T06:00:01.04Z"},
        {**base, "row": 22, "number": "555-0100", "provider": "", "status": "invalid",
         "message": "row 22, Phone: '555-0100' is not a complete number for region US — add the area code"},
    ]
    return results_frame(rows)


def cards_with_problems() -> pd.DataFrame:
    from cardkit.reading import read_cards

    return read_cards(pd.DataFrame({
        "Phone": ["+1 415 555 2671", "555-0100", "+1 202 555 0147"],
        "First Name": ["Ann", "Bob", ""],
        "Last Name": ["Lee", "", "Featherstonehaugh-Cholmondeley of the North Riding of Yorkshire and Elsewhere"],
    }))


def cell_facts(page, selector: str) -> list[dict]:
    """What a person sees of each matching cell: its text, alignment, and whether it is cut off."""
    return page.eval_on_selector_all(selector, """cells => cells.map(c => ({
        text: c.innerText, align: getComputedStyle(c).textAlign,
        clipped: c.scrollWidth > c.clientWidth + 1, width: c.getBoundingClientRect().width}))""")


@pytest.mark.browser
def test_results_view_in_jupyterlab_css_shows_the_whole_remedy_left_aligned(chromium, tmp_path):
    """At a laptop's notebook width the 403's remedy is on screen, whole, wrapped and left-aligned; no <NA>/NaT."""
    url = lab_page(tmp_path, {"results": results_with_a_long_failure()})
    page = offline_page(chromium, viewport={"width": 1366, "height": 800})
    page.goto(url)
    page.screenshot(path=str(SCREENSHOTS / "results-view-jupyterlab.png"), full_page=True)
    messages = cell_facts(page, ".jp-RenderedHTMLCommon table.ckv-t td.ckv-m")
    failure = next(m for m in messages if "Dedicated" in m["text"])
    assert REMEDY in failure["text"] and not failure["clipped"]
    assert {m["align"] for m in messages} == {"left"}
    assert "Phone: '555-0100' is not a complete number" in " ".join(m["text"] for m in messages)
    assert "row 22, Phone" not in " ".join(m["text"] for m in messages)     # the row column says it
    remedy_box = page.get_by_text(REMEDY, exact=False).bounding_box()
    assert remedy_box and remedy_box["x"] + remedy_box["width"] <= 1366       # no sideways scrolling to read it
    output = page.inner_text(".jp-OutputArea-output").replace("\u00a0", " ")
    assert "<NA>" not in output and "NaT" not in output and "nan" not in output.split()
    assert "1 attempt" in output and "1 attempts" not in output
    assert page.blocked == [] or all("mathjax" in u.lower() or "require" in u.lower() for u in page.blocked)


@pytest.mark.browser
def test_problems_and_validated_views_in_jupyterlab_css_read_message_first(chromium, tmp_path):
    """find_problems and validate render their messages whole and left-aligned; invalid rows are tinted."""
    cards = cards_with_problems()
    url = lab_page(tmp_path, {"find_problems(cards)": find_problems(cards), "validate(cards)": validate(cards)})
    page = offline_page(chromium, viewport={"width": 1000, "height": 900})
    page.goto(url)
    page.screenshot(path=str(SCREENSHOTS / "problems-and-validated-jupyterlab.png"), full_page=True)
    messages = cell_facts(page, "table.ckv-t td.ckv-m")
    assert messages and {m["align"] for m in messages} == {"left"}
    assert not any(m["clipped"] for m in messages)
    texts = " ".join(m["text"] for m in messages)
    assert "add the area code" in texts and "fill it in" in texts
    assert "row 3, " not in texts                                            # not repeated beside the row badge
    tints = page.eval_on_selector_all(
        "tr.ckv-bad > td", "cells => cells.map(c => getComputedStyle(c).backgroundColor)")
    assert tints and all(t not in ("rgba(0, 0, 0, 0)", "transparent") for t in tints)
    headers = cell_facts(page, "table.ckv-t th")
    assert {h["align"] for h in headers} == {"left"}


@pytest.mark.browser
def test_an_interrupted_run_says_so_first_in_the_notebook(chromium, tmp_path):
    """The view of an interrupted run opens with 'Interrupted', what was applied, what never started, how to go on."""
    frame = results_with_a_long_failure()
    frame.loc[frame["row"] == 22, ["status", "message"]] = ["skipped", NOT_STARTED]
    frame.attrs["cardkit"] = {"journal": "/data/cards.journal.sqlite"}
    url = lab_page(tmp_path, {"results": frame})
    page = offline_page(chromium, viewport={"width": 1366, "height": 700})
    page.goto(url)
    page.screenshot(path=str(SCREENSHOTS / "interrupted-view-jupyterlab.png"), full_page=True)
    heading = page.inner_text("div.ckv p.ckv-h")
    assert heading.startswith("Interrupted")
    assert "1 applied" in heading and "1 not started" in heading
    assert "/data/cards.journal.sqlite" in heading


@pytest.mark.browser
def test_report_notebook_view_in_jupyterlab_css_is_left_aligned_and_whole(chromium, tmp_path, rep):
    """`rep` in a notebook: the failures' messages and remedies left-aligned and not clipped under JupyterLab's CSS."""
    url = lab_page(tmp_path, {"rep": rep})
    page = offline_page(chromium, viewport={"width": 1366, "height": 800})
    page.goto(url)
    page.screenshot(path=str(SCREENSHOTS / "report-view-jupyterlab.png"), full_page=True)
    cells = cell_facts(page, ".jp-RenderedHTMLCommon table.rows td[data-label='what to do']")
    assert any(c["text"] == "add the area code" for c in cells)
    assert {c["align"] for c in cells} == {"left"} and not any(c["clipped"] for c in cells)
