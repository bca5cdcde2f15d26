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
#: Debian's Chromium (`apt-get install chromium`); CARDKIT_CHROMIUM points elsewhere.
CHROMIUM = Path(os.environ.get("CARDKIT_CHROMIUM", "/usr/bin/chromium"))
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


def stop(process: subprocess.Popen) -> None:
    """Terminate a server we started (SIGTERM, then SIGKILL after 15 s) and reap it."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def browser_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away HOME for Voilà and Chromium so neither touches the user's profile."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    """Debian's Chromium; skip without it unless CARDKIT_REQUIRE_BROWSER=1 (CI), then fail."""
    if not CHROMIUM.exists():
        if os.environ.get("CARDKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and CARDKIT_REQUIRE_BROWSER=1: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def voila_forms(chromium_path: Path, browser_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """Voilà serving notebooks/03_forms.ipynb on a free loopback port; yields its base URL.

    Each page load starts its own kernel, so tests sharing the server don't share state.
    Asks for `chromium_path` first so a machine without the browser skips before starting Voilà.
    """
    tmp_path = tmp_path_factory.mktemp("voila")
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
        stop(server)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / "voila.log")


@pytest.fixture(scope="module")
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
def notebooks_dir() -> Path:
    """notebooks/ in this repo: the working directory of the kernels the tests start."""
    return NOTEBOOKS


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


@pytest.fixture
def served_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`cardkit sandbox serve` on a loopback port, with the vendors' variables pointing at it.

    Forms built without `sandbox=` then configure themselves exactly as against the real
    providers (credentials and base URLs from the environment) and talk real HTTP.
    Yields the server's origin.
    """
    from cardkit.sandbox import Sandbox

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in kernel_env().items() if not k.startswith(("BLOOIO_", "SENDBLUE_", "LINQ_"))}
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "cardkit", "sandbox", "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server)
        box = Sandbox()  # the default seed: the same keys the served one accepts
        creds, urls = box.credentials, box.base_urls(origin)
        for name, value in {
            "BLOOIO_API_KEY": creds["blooio"]["api_key"], "BLOOIO_BASE_URL": urls["blooio"],
            "SENDBLUE_API_API_KEY": creds["sendblue"]["key_id"],
            "SENDBLUE_API_API_SECRET": creds["sendblue"]["secret"], "SENDBLUE_API_BASE_URL": urls["sendblue"],
            "LINQ_API_V3_API_KEY": creds["linq"]["api_key"], "LINQ_API_V3_BASE_URL": urls["linq"],
            "CARDKIT_PHOTO_HOST": urls["media"],
        }.items():
            monkeypatch.setenv(name, value)
        yield origin
    finally:
        stop(server)
