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

    Afterwards the `shoot` element is saved as test-artifacts/<name>.png (the page, on failure).
    """
    from playwright.sync_api import expect

    left_the_machine: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(url):
            route.continue_()
        else:  # Voilà asks a CDN for fonts; nothing may leave the machine
            left_the_machine.append(route.request.url)
            route.abort()

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
        page.locator(shoot).first.screenshot(path=str(artifacts / f"{name}.png"))
    except BaseException:
        page.screenshot(path=str(artifacts / f"{name}_failure.png"), full_page=True)
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


def test_batch_panel_loads_applies_and_downloads_the_report_in_a_real_browser(
    voila_forms: str, chromium, artifacts: Path
):
    """In Chromium: Load the sample sheet, Apply, watch the bar fill, and download an XLSX that opens."""
    from playwright.sync_api import expect

    with forms_page(chromium, voila_forms, artifacts, "batch_panel_applied", ".cardkit-batch-panel") as page:
        panel = page.locator(".cardkit-batch-panel")
        panel.get_by_role("button", name=re.compile(r"^\W*Load$")).click()
        expect(panel.locator(".cardkit-status-ok")).to_contain_text("Loaded cards.csv", timeout=60_000)
        expect(panel.locator("table.cardkit-table").first).to_contain_text("add the area code")

        panel.get_by_role("button", name=re.compile(r"^\W*Apply$")).click()
        expect(panel.locator(".cardkit-status-warning")).to_contain_text("rows to fix", timeout=60_000)
        expect(panel.get_by_text("27 / 27 done")).to_be_visible()
        links = panel.locator("a.cardkit-download")
        expect(links).to_have_count(2, timeout=30_000)

        with page.expect_download() as download:
            links.filter(has_text="XLSX").click()
        saved = download.value.path()
        assert download.value.suggested_filename == "cardkit-report.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(Path(saved).read_bytes()), read_only=True)
        assert "Failed" in book.sheetnames
