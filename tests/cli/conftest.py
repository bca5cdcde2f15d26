"""Run the `cardkit` command as a user would: a subprocess, output through pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def cardkit(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m cardkit ARGS` with the repo on PYTHONPATH (cardkit isn't pip-installed here)."""
    env = dict(os.environ)
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
