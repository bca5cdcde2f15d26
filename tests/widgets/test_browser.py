"""The forms where users see them: notebooks/03_forms.ipynb served by Voilà, driven in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_card_form_applies_a_card_in_a_real_browser(voila_forms: str, chromium, artifacts: Path):
    """Type a number and names into CardForm in Chromium, click Apply, and see 'applied' in the page."""
    from playwright.sync_api import expect

    left_the_machine: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(voila_forms):
            route.continue_()
        else:  # Voilà asks a CDN for fonts; nothing may leave the machine
            left_the_machine.append(route.request.url)
            route.abort()

    page = chromium.new_page(viewport={"width": 1100, "height": 1400})
    page.route("**/*", only_loopback)
    try:
        page.goto(voila_forms + "/", timeout=90_000)
        form = page.locator(".cardkit-card-form")
        cell_error = page.get_by_text(re.compile(r"Traceback \(most recent call last\)|error when executing cell"))
        expect(form.or_(cell_error).first).to_be_visible(timeout=90_000)
        assert not cell_error.count(), "the notebook failed in Voilà:\n" + page.inner_text("body")[-3000:]

        number = form.get_by_placeholder("+1 415 555 2671")
        number.fill("415 555 2671")
        number.press("Tab")  # leaving the field commits it; the kernel writes back E.164
        expect(number).to_have_value("+14155552671", timeout=30_000)
        expect(form.locator(".cardkit-good")).to_contain_text("+14155552671")

        form.get_by_label("First name").fill("Grace")
        form.get_by_label("Last name").fill("Hopper")
        form.get_by_role("button", name="Apply").click()

        expect(form.locator(".cardkit-status-ok")).to_contain_text("applied", timeout=60_000)
        expect(form.locator("table.cardkit-table")).to_contain_text("+14155552671")
        page.screenshot(path=str(artifacts / "card_form_applied.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(artifacts / "card_form_failure.png"), full_page=True)
        raise
