"""The HTML report renders in headless Chromium (Debian's), fetching nothing from anywhere."""

from __future__ import annotations

import pytest

from tests.report.conftest import SCREENSHOTS, offline_page


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
    page.screenshot(path=str(SCREENSHOTS / "report-html.png"), full_page=True)
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


def opened_report(chromium, rep, tmp_path, *, width: int):
    """The report's page at `width` px, offline, with a full-page screenshot saved."""
    path = rep.to_file(tmp_path / "report.html")[0]
    page = offline_page(chromium, viewport={"width": width, "height": 900})
    page.goto(path.resolve().as_uri())
    page.screenshot(path=str(SCREENSHOTS / f"report-html-{width}px.png"), full_page=True)
    assert page.blocked == []
    return page


@pytest.mark.browser
def test_html_report_reads_on_a_phone_without_sideways_scrolling(chromium, rep, tmp_path):
    """At 420 px the page never scrolls sideways; each failure shows who (with the name), why and what to do."""
    page = opened_report(chromium, rep, tmp_path, width=420)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    remedy = page.locator("td[data-label='what to do']", has_text="add the area code")
    assert remedy.is_visible()
    clipped = page.eval_on_selector_all(
        "main td", "cells => cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)")
    assert clipped == []
    assert page.locator("td[data-label='name']", has_text="@Bob").is_visible()


@pytest.mark.browser
def test_html_report_names_who_lists_what_was_applied_and_aligns_text_left(chromium, rep, tmp_path):
    """On a desktop: a name column in needs-attention, an Applied list with human times, left-aligned text."""
    page = opened_report(chromium, rep, tmp_path, width=1366)
    text = page.inner_text("body")
    assert "Applied (2)" in text and "24 Nov 2026 06:00:00 UTC" in text
    assert "2026-11-24T06" not in text                       # no ISO stamps for people to decode
    headers = page.eval_on_selector_all("table.rows th", "ths => ths.map(t => t.innerText)")
    assert headers[:4] == ["row", "number", "name", "provider"]
    aligns = page.eval_on_selector_all(
        "table.rows td[data-label='what went wrong']", "cells => cells.map(c => getComputedStyle(c).textAlign)")
    assert aligns and set(aligns) == {"left"}
    assert "done" not in [t.strip() for t in page.eval_on_selector_all(".tile span", "s => s.map(x => x.innerText)")]
