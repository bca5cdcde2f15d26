"""Run the `cardkit` command as a user would: a subprocess, output through pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def cardkit(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m cardkit ARGS` with the repo on PYTHONPATH (cardkit isn't pip-installed here)."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-m", "cardkit", *args], cwd=cwd or REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """One `cardkit demo` run whose journal and reports the other tests read."""
    folder = tmp_path_factory.mktemp("demo")
    done = cardkit("demo", "--out", str(folder), "--quiet")
    assert done.returncode == 0, done.stderr
    return folder


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def loopback_sandbox():
    """The sandbox served by uvicorn in its own process on 127.0.0.1, as `cardkit sandbox serve` does.

    Yields (origin, environment for cardkit commands: the vendors' credential and base-URL
    variables pointing at it, and its media host as the photo host).
    """
    import time

    import httpx

    port = _free_port()
    code = ("import uvicorn; from cardkit.sandbox import Sandbox; "
            f"uvicorn.run(Sandbox().app, host='127.0.0.1', port={port}, log_level='warning')")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    server = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{origin}/_sandbox/state", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox server did not start: {server.stderr.read().decode()}")
                time.sleep(0.1)
        from cardkit.sandbox import Sandbox

        creds = Sandbox().credentials   # the default seed's credentials, the same in the server
        urls = Sandbox().base_urls(origin)
        yield origin, {
            "BLOOIO_API_KEY": creds["blooio"]["api_key"], "BLOOIO_BASE_URL": urls["blooio"],
            "SENDBLUE_API_API_KEY": creds["sendblue"]["key_id"], "SENDBLUE_API_API_SECRET": creds["sendblue"]["secret"],
            "SENDBLUE_API_BASE_URL": urls["sendblue"],
            "LINQ_API_V3_API_KEY": creds["linq"]["api_key"], "LINQ_API_V3_BASE_URL": urls["linq"],
            "CARDKIT_PHOTO_HOST": urls["media"],
        }
    finally:
        server.terminate()
        server.wait(10)
