"""cardkit.capabilities() and `cardkit capabilities`: what each provider can do, before a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cardkit

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cardkit", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


def test_capabilities_frame_tells_the_providers_apart():
    """The frame says which provider merges, which needs URLs, and where the photo can't be read."""
    frame = cardkit.capabilities()
    assert list(frame.index) == ["blooio", "sendblue", "linq"]
    assert not frame.loc["sendblue", "partial_update"]
    assert frame.loc["blooio", "partial_update"] and frame.loc["linq", "partial_update"]
    assert "URL" in frame.loc["sendblue", "photo_as"] and "bytes" in frame.loc["blooio", "photo_as"]
    assert not frame.loc["sendblue", "photo_read_back"]
    assert frame.loc["sendblue", "required_fields"] == "first_name, last_name, photo"
    assert "3 writes" in frame.loc["linq", "write_limits"]
    assert "Dedicated" in frame.loc["blooio", "plan_limits"]
    assert frame.loc["linq", "max_at_once"] == cardkit.Linq.limits.max_at_once


def test_cli_prints_the_table_and_json():
    """`cardkit capabilities` prints one column per provider; --format json parses back."""
    shown = cli("capabilities")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].split() == ["blooio", "sendblue", "linq"]
    assert "photo_read_back" in shown.stdout
    as_json = cli("capabilities", "--format", "json", "--provider", "linq")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["linq"]["numbers_from"] == "GET /v3/phone_numbers"


def test_cli_unknown_provider_is_one_line_and_exit_2():
    """A wrong provider name gets one line naming the choices, exit 2, no traceback."""
    wrong = cli("capabilities", "--provider", "bloio")
    assert wrong.returncode == 2
    assert "choose from blooio, sendblue, linq" in wrong.stderr and "Traceback" not in wrong.stderr
