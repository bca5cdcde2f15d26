"""Shared fixtures for the report tests: a results frame shaped as the engine's contract says."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from cardkit.columns import RESULT_COLUMNS
from cardkit.reporting import Report
from cardkit.reporting.summary import RunInfo

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Screenshots of what the browser tests saw (gitignored; CI keeps test-artifacts/ as artifacts).
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("CARDKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]

HOSTILE_MESSAGE = '=HYPERLINK("http://evil.example/x","click") <script>alert(1)</script>'


def result(row, number, provider, status, *, action="update", http_status=None, error_code="", message="",
           attempts=1, elapsed_ms=None, start=None, end=None, changed=""):
    """One results row; times are seconds after 06:00:00 UTC."""
    base = pd.Timestamp("2026-11-24T06:00:00Z")
    return {
        "row": row, "number": number, "provider": provider, "account": provider, "chat": "",
        "action": action, "status": status,
        "http_status": http_status, "error_code": error_code, "message": message, "attempts": attempts,
        "elapsed_ms": elapsed_ms, "changed": changed,
        "started_at": None if start is None else (base + pd.Timedelta(seconds=start)).isoformat(),
        "finished_at": None if end is None else (base + pd.Timedelta(seconds=end)).isoformat(),
        "run_id": "run-1",
    }


@pytest.fixture
def results() -> pd.DataFrame:
    """Seven operations over six sheet rows: applied, unchanged, failed (twice, one hostile), invalid, retried."""
    rows = [
        result(2, "+14155552671", "blooio", "applied", http_status=200, elapsed_ms=50, start=0, end=0.05, changed="first_name,photo"),
        result(3, "+12025550147", "blooio", "failed", http_status=403, error_code="forbidden", message=HOSTILE_MESSAGE, elapsed_ms=40, start=0.1, end=0.14),
        result(4, "555", "", "invalid", action="none", message="row 4, Phone: '555' is not a complete number for region US — add the area code", attempts=0),
        result(5, "+14085550111", "linq", "applied", action="create", http_status=201, attempts=3, elapsed_ms=1200, start=0.2, end=1.4, changed="first_name"),
        result(5, "+14085550111", "sendblue", "failed", action="replace", http_status=500, error_code="E500", message="server error after 4 attempts", attempts=4, elapsed_ms=900, start=0.2, end=1.1),
        result(6, "+13125550182", "sendblue", "unchanged", action="unchanged", http_status=200, elapsed_ms=30, start=1.5, end=1.53),
        result(7, "+17025550144", "", "skipped", action="none", message="no provider owns +17025550144 — set the provider column", attempts=0),
    ]
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


@pytest.fixture
def inputs() -> pd.DataFrame:
    """The user's columns as written for rows 2–7, with a formula-looking name and a local header."""
    return pd.DataFrame(
        {
            "Phone": ["(415) 555-2671", "+1 202 555 0147", "555", "+14085550111", "+1 (312) 555-0182", "+17025550144"],
            "First Name": ["Ann", "@Bob", "Cy", "Dana", "Eve", "-Fay"],
            "Notes": ["", "=1+2", "", "", "vip", ""],
        },
        index=pd.Index([2, 3, 4, 5, 6, 7], name="row"),
    )


@pytest.fixture
def rep(results, inputs) -> Report:
    return Report(results, inputs=inputs, info=RunInfo(source="cards.csv", sha256="ab" * 32))


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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {SCREENSHOTS}")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def offline_page(browser, **options):
    """A page that may load file:// and loopback only; `page.blocked` lists what it tried beyond."""
    page = browser.new_page(**options)
    page.blocked = []

    def guard(route):
        url = route.request.url
        if url.startswith(("file://", "http://127.0.0.1", "data:")):
            return route.continue_()
        page.blocked.append(url)
        return route.abort()

    page.route("**/*", guard)
    return page
