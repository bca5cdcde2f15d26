"""Fixtures for the widget tests: kernels that can import cardkit, Voilà on loopback, headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def kernel_env(**extra: str) -> dict[str, str]:
    """This process's environment plus PYTHONPATH reaching the repo (cardkit isn't pip-installed here)."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait until the port accepts connections (a GET would start a kernel in Voilà)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


@pytest.fixture
def browser_home(tmp_path: Path) -> Path:
    """A throw-away HOME for Voilà and Chromium so neither touches the user's profile."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def chromium_path() -> Path:
    """Debian's Chromium; skip without it unless CARDKIT_REQUIRE_BROWSER=1 (CI), then fail."""
    if not CHROMIUM.exists():
        if os.environ.get("CARDKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and CARDKIT_REQUIRE_BROWSER=1: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return CHROMIUM


@pytest.fixture
def voila_forms(browser_home: Path, tmp_path: Path):
    """Voilà serving notebooks/03_forms.ipynb on a free loopback port; yields its base URL."""
    port = free_port()
    log_path = tmp_path / "voila.log"
    env = kernel_env(HOME=str(browser_home), CARDKIT_NOTEBOOK_OUTPUT=str(tmp_path / "output"))
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
                "--Voila.ip=127.0.0.1", "--show_tracebacks=True",
                str(NOTEBOOKS / "03_forms.ipynb"),
            ],
            cwd=NOTEBOOKS, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / "voila.log")


@pytest.fixture
def chromium(chromium_path: Path, browser_home: Path):
    """A headless Debian Chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, env={"HOME": str(browser_home)}
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ at the repo root (gitignored): screenshots and server logs to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def notebook_output(tmp_path: Path) -> Path:
    """Where executed notebooks write their reports and journals (CARDKIT_NOTEBOOK_OUTPUT)."""
    out = tmp_path / "output"
    out.mkdir()
    return out


@pytest.fixture
def kernel_env_for_notebooks(notebook_output: Path) -> dict[str, str]:
    """The environment an nbclient kernel gets: cardkit importable, outputs in a temp folder."""
    return kernel_env(CARDKIT_NOTEBOOK_OUTPUT=str(notebook_output))
