"""The forms where users see them: notebooks/03_forms.ipynb served by Voilà, driven in headless Chromium."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import openpyxl
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

PHOTOS = Path(__file__).resolve().parents[2] / "cardkit" / "sample" / "photos"


@contextlib.contextmanager
def forms_page(chromium, url: str, artifacts: Path, name: str, shoot: str):
    """A page showing 03_forms.ipynb (its own kernel); nothing but loopback may load.

    Afterwards the `shoot` element is saved as test-artifacts/screenshots/<name>.png (the page, on failure).
    """
    from playwright.sync_api import expect

    left_the_machine: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(url):
            route.continue_()
        else:  # Voilà asks a CDN for fonts; nothing may leave the machine
            left_the_machine.append(route.request.url)
            route.abort()

    shots = artifacts / "screenshots"
    shots.mkdir(exist_ok=True)
    print(f"screenshots: {shots}")
    context = chromium.new_context(viewport={"width": 1100, "height": 2400}, accept_downloads=True)
    page = context.new_page()
    page.route("**/*", only_loopback)
    try:
        page.goto(url + "/", timeout=90_000)
        ready = page.locator(".cardkit-card-form").or_(page.locator(".cardkit-batch-panel"))
        cell_error = page.get_by_text(re.compile(r"Traceback \(most recent call last\)|error when executing cell"))
        expect(ready.or_(cell_error).first).to_be_visible(timeout=90_000)
        assert not cell_error.count(), "the notebook failed in Voilà:\n" + page.inner_text("body")[-3000:]
        yield page
        page.locator(shoot).first.screenshot(path=str(shots / f"{name}.png"))
    except BaseException:
        page.screenshot(path=str(shots / f"{name}_failure.png"), full_page=True)
        raise
    finally:
        context.close()
    assert all(not u.startswith(url) for u in left_the_machine)


def test_card_form_applies_a_card_in_a_real_browser(voila_forms: str, chromium, artifacts: Path):
    """In Chromium: a wrong number shows its reason; then a number, names and a photo, Apply, 'applied'."""
    from playwright.sync_api import expect

    with forms_page(chromium, voila_forms, artifacts, "card_form_applied", ".cardkit-card-form") as page:
        form = page.locator(".cardkit-card-form").first  # the empty form (the page shows a filled one too)
        number = form.get_by_placeholder("+1 415 555 2671")
        number.fill("555-0100")
        number.press("Tab")
        expect(form.locator(".cardkit-bad")).to_contain_text("add the area code", timeout=30_000)
        number.fill("415 555 2671")
        number.press("Tab")  # leaving the field commits it; the kernel writes back E.164
        expect(number).to_have_value("+14155552671", timeout=30_000)
        expect(form.locator(".cardkit-good")).to_contain_text("+14155552671")
        expect(form.get_by_role("combobox", name="Provider")).to_contain_text("owner: blooio", timeout=30_000)

        form.get_by_label("First name").fill("Grace")
        form.get_by_label("Last name").fill("Hopper")
        with page.expect_file_chooser() as chooser:  # ipywidgets' FileUpload opens the browser's picker
            form.get_by_role("button", name=re.compile("Photo")).click()
        chooser.value.set_files(str(PHOTOS / "big_wide.jpg"))
        expect(form.get_by_text("Will send a 1024×1024 JPEG")).to_be_visible(timeout=30_000)
        expect(form.locator("img")).to_be_visible()
        form.get_by_role("button", name="Apply").click()

        expect(form.locator(".cardkit-status-ok")).to_contain_text(
            "blooio: applied (first_name, last_name, photo)", timeout=60_000)
        expect(form.locator("table.cardkit-table")).to_contain_text("+14155552671")


def test_card_form_previews_a_photo_given_as_a_url_in_a_real_browser(voila_forms: str, chromium, artifacts: Path):
    """In Chromium: a photo URL typed into the form is downloaded as apply would and previewed."""
    from playwright.sync_api import expect

    with forms_page(chromium, voila_forms, artifacts, "card_form_url_preview", ".cardkit-card-form") as page:
        form = page.locator(".cardkit-card-form").first
        url = form.get_by_placeholder("https://…")
        url.fill("https://example.com/photos/jade.jpg")
        url.press("Tab")
        expect(form.get_by_text("Will send a 500×500 JPEG")).to_be_visible(timeout=30_000)
        expect(form.locator("img")).to_be_visible()
        expect(form.locator(".cardkit-warn")).to_have_count(0)


#: For every element matching the selector: is its text wider than its box (cut off or scrolled)?
CLIPPED = """els => els.filter(e => e.scrollWidth > e.clientWidth + 1)
                   .map(e => e.textContent.slice(0, 80) + ` (${e.scrollWidth} > ${e.clientWidth})`)"""


def test_voila_page_opens_on_the_card_form(voila_forms: str, chromium, artifacts: Path):
    """The first thing Voilà shows is the card form itself, not markdown about code that is hidden."""
    with forms_page(chromium, voila_forms, artifacts, "voila_first_screen", "body") as page:
        first = page.evaluate("""() => {
            const shown = [...document.querySelectorAll('.jp-OutputArea-output, .jp-RenderedMarkdown, .jp-MarkdownOutput')]
                .filter(e => e.getBoundingClientRect().height > 0 && e.innerText.trim());
            const top = shown[0];
            return {hasForm: !!top.querySelector('.cardkit-card-form'), text: top.innerText.slice(0, 120),
                    formTop: document.querySelector('.cardkit-card-form').getBoundingClientRect().top};
        }""")
        assert first["hasForm"], f"the page opens on: {first['text']!r}"
        assert first["formTop"] < 200
        page.set_viewport_size({"width": 1100, "height": 800})


def test_card_form_speaks_to_a_person_and_offers_a_display_name_for_sendblue(
    voila_forms: str, chromium, artifacts: Path
):
    """In Chromium: 'The first name is empty — fill it in'; the display-name field shows for Sendblue only."""
    from playwright.sync_api import expect

    with forms_page(chromium, voila_forms, artifacts, "card_form_display_name", ".cardkit-card-form") as page:
        form = page.locator(".cardkit-card-form").first
        number = form.get_by_placeholder("+1 415 555 2671")
        number.fill("312 555 0182")  # Sendblue's in the sandbox
        number.press("Tab")
        expect(form.get_by_role("combobox", name="Provider")).to_contain_text("owner: sendblue", timeout=30_000)
        display_name = form.get_by_label("Display name")
        expect(display_name).to_be_visible()
        expect(display_name).to_have_attribute("placeholder", "empty: keep the current one")
        form.get_by_role("combobox", name="Provider").select_option(label="Blooio")
        expect(display_name).to_be_hidden()
        form.get_by_role("combobox", name="Provider").select_option(label="Sendblue")
        expect(display_name).to_be_visible()
        display_name.fill("Hana at Acme")

        form.get_by_role("button", name="Apply").click()
        status = form.locator(".cardkit-status-error")
        expect(status).to_contain_text("The first name is empty — fill it in", timeout=60_000)
        expect(status).not_to_contain_text("row 2")
        expect(status).not_to_contain_text("first_name")
        assert page.eval_on_selector_all(".cardkit-card-form .cardkit-status", CLIPPED) == []


def test_batch_panel_loads_applies_and_downloads_the_report_in_a_real_browser(
    voila_forms: str, chromium, artifacts: Path
):
    """In Chromium: Load the sample sheet, Apply, watch the bar fill, and download an XLSX that opens."""
    from playwright.sync_api import expect

    with forms_page(chromium, voila_forms, artifacts, "batch_panel_applied", ".cardkit-batch-panel") as page:
        panel = page.locator(".cardkit-batch-panel")
        panel.get_by_role("button", name=re.compile(r"^\W*Load$")).click()
        expect(panel.locator(".cardkit-status-ok")).to_contain_text("Loaded cards.csv", timeout=60_000)
        expect(panel.locator("table.ckv-t").first).to_contain_text("add the area code")

        panel.get_by_role("button", name=re.compile(r"^\W*Plan$")).click()
        expect(panel.get_by_text("27 planned — nothing written yet")).to_be_visible(timeout=60_000)
        expect(panel).not_to_contain_text("27 / 27 done")

        panel.get_by_role("button", name=re.compile(r"^\W*Apply$")).click()
        expect(panel.locator(".cardkit-status-warning")).to_contain_text("rows to fix", timeout=60_000)
        expect(panel.get_by_text(re.compile(r"27 of 27 finished — \d+ done, \d+ need attention"))).to_be_visible()
        messages = panel.locator("td.ckv-m")
        expect(messages.first).to_be_visible()
        assert messages.count() > 5
        # every message whole: nothing wider than its cell, no box scrolling sideways
        assert page.eval_on_selector_all(".cardkit-batch-panel td.ckv-m", CLIPPED) == []
        assert page.eval_on_selector_all(".cardkit-batch-panel div.ckv", CLIPPED) == []
        assert page.eval_on_selector_all(".cardkit-batch-panel .cardkit-status", CLIPPED) == []
        align = messages.first.evaluate("e => getComputedStyle(e).textAlign")
        assert align in ("left", "start")
        links = panel.locator("a.cardkit-download")
        expect(links).to_have_count(2, timeout=30_000)

        with page.expect_download() as download:
            links.filter(has_text="XLSX").click()
        saved = download.value.path()
        assert download.value.suggested_filename == "cardkit-report.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(Path(saved).read_bytes()), read_only=True)
        assert "Failed" in book.sheetnames


def test_column_mapping_dropdown_fixes_a_sheet_with_an_unusual_header(
    voila_forms: str, chromium, artifacts: Path, tmp_path: Path
):
    """In Chromium: a sheet calling the first name 'Who' offers its headers in a list; choosing it loads the sheet."""
    from playwright.sync_api import expect

    sheet = tmp_path / "crm-export.csv"
    sheet.write_text("Line,Who,Family\n(408) 555-0111,Nia,Brown\n", encoding="utf-8")
    with forms_page(chromium, voila_forms, artifacts, "batch_panel_mapping", ".cardkit-batch-panel") as page:
        panel = page.locator(".cardkit-batch-panel")
        panel.get_by_label("or path").fill(str(sheet))
        panel.get_by_role("button", name=re.compile(r"^\W*Load$")).click()
        choose = panel.get_by_role("combobox", name="Column for the first name")
        expect(choose).to_be_visible(timeout=60_000)
        expect(panel.locator(".cardkit-column-mapping")).to_contain_text("No column for the first name")
        expect(panel).not_to_contain_text("columns=")
        page.locator(".cardkit-batch-panel").screenshot(
            path=str(artifacts / "screenshots" / "batch_panel_mapping_offered.png"))
        choose.select_option("Who")
        panel.get_by_role("button", name=re.compile("Use these columns")).click()
        expect(panel.locator(".cardkit-status-ok")).to_contain_text("1 of 1 rows ready", timeout=60_000)
        expect(panel.locator(".cardkit-column-mapping")).to_be_hidden()


@pytest.mark.slow
def test_an_executed_notebook_exported_to_html_shows_each_form_offline(chromium, artifacts: Path, tmp_path: Path):
    """03_forms executed (nbclient) and exported (nbconvert): each form shows as a snapshot, offline, no empty box."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    from tests.widgets.conftest import NOTEBOOKS, kernel_env

    notebook = nbformat.read(NOTEBOOKS / "03_forms.ipynb", as_version=4)
    # Without stored widget state nbconvert renders each widget's text/html: no widget manager,
    # no CDN (with the state stored, the page would fetch the manager from a CDN: empty offline).
    NotebookClient(notebook, kernel_name="python3", timeout=240, store_widget_state=False,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(
        env=kernel_env(CARDKIT_NOTEBOOK_OUTPUT=str(tmp_path)))
    page_html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    exported = tmp_path / "03_forms.html"
    exported.write_text(page_html, encoding="utf-8")

    context = chromium.new_context(viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    try:
        page.goto(exported.as_uri())
        snapshots = page.locator(".cardkit-snapshot")
        assert snapshots.count() == 3  # the card form, the batch panel, the form filled from a row
        for index in range(3):
            shown = snapshots.nth(index)
            assert shown.is_visible() and shown.bounding_box()["height"] > 100
            assert "A snapshot of this form when the notebook ran" in shown.inner_text()
        assert "Contact card" in snapshots.nth(0).inner_text() and "1. Spreadsheet" in snapshots.nth(1).inner_text()
        shots = artifacts / "screenshots"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "nbconvert_export.png"), full_page=True)
        print(f"screenshots: {shots}")
    finally:
        context.close()
