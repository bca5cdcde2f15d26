"""The HTML report renders in headless Chromium (Debian's), fetching nothing from anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture
def chromium(tmp_path, monkeypatch):
    """A headless Debian Chromium with a throw-away HOME; skipped without it unless CARDKIT_REQUIRE_BROWSER=1."""
    if not CHROMIUM.exists():
        if os.environ.get("CARDKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and CARDKIT_REQUIRE_BROWSER=1: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_html_report_renders_offline_with_counts_chart_and_failures(chromium, rep, tmp_path):
    """Opened from file://, the page asks for nothing else and shows counts, the chart and a failure message."""
    path = rep.to_file(tmp_path / "report.html")[0]
    requested: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith("file://") or url.startswith("http://127.0.0.1"):
            return route.continue_()
        requested.append(url)
        return route.abort()

    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    page.route("**/*", guard)
    page.goto(path.resolve().as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-html.png"), full_page=True)
    text = page.inner_text("body")
    assert requested == []
    assert "6 cards → 7 operations: 2 applied, 1 unchanged, 1 invalid, 1 skipped, 2 failed" in text
    assert "Needs attention (4)" in text
    assert "server error after 4 attempts" in text
    assert "<script>alert(1)</script>" in text   # shown as text, not run
    chart = page.locator("svg[aria-label='Outcomes per provider']")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 80
    assert page.locator("svg rect").count() >= 4
