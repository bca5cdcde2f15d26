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


@pytest.fixture
def loopback_sandbox():
    """`cardkit sandbox serve --port 0` in its own process, as a user starts it.

    Yields (origin, environment for cardkit commands): the variables the command prints
    (the vendors' credential and base-URL names), plus its media host as the photo host.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cardkit", "sandbox", "serve", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        printed: dict[str, str] = {}
        origin = media = ""
        for line in server.stdout:
            if line.startswith("cardkit sandbox on "):
                origin = line.split()[3]
            elif "=" in line and line.split("=", 1)[0].isupper():
                name, value = line.strip().split("=", 1)
                printed[name] = value
            elif line.startswith("media: "):
                media = line.split()[-1]
            elif line.startswith("state: "):
                break
        else:
            raise RuntimeError(f"cardkit sandbox serve ended early (exit {server.wait(10)})")
        yield origin, {**printed, "CARDKIT_PHOTO_HOST": media}
    finally:
        server.terminate()
        server.wait(10)
