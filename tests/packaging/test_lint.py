"""ruff and mypy stay clean, with the settings in pyproject.toml (rules, level and baseline are explained there)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=900)


def test_ruff_finds_nothing():
    """`ruff check .` passes: pyflakes, pycodestyle, isort, bugbear and pyupgrade for Python 3.11."""
    done = _run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy_finds_nothing():
    """`mypy` passes on the package, with the public API (`cardkit`, `cardkit.engine`) checked strictly."""
    done = _run("mypy")
    assert done.returncode == 0, done.stdout + done.stderr
