"""kill -9 in the middle of `cardkit apply` against a served sandbox, then resume: nothing lost,
nothing written twice where the provider can be read back."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
from PIL import Image

from .conftest import Served, write_sheet

BLOOIO_NUMBERS = [f"+1415555{5000 + i:04d}" for i in range(30)]
LINQ_NUMBERS = [f"+1408555{5000 + i:04d}" for i in range(15)]
SENDBLUE_NUMBERS = [f"+1312555{5000 + i:04d}" for i in range(10)]


@pytest.fixture
def served_many(tmp_path):
    """A served sandbox (own process, 150 ms latency) owning the numbers of this test."""
    from cardkit.sandbox.seed import default_seed_text

    seed = json.loads(default_seed_text())
    seed["blooio"]["numbers"] += [{"number": n, "plan": "dedicated_commercial"} for n in BLOOIO_NUMBERS]
    seed["linq"]["numbers"] += LINQ_NUMBERS
    seed["sendblue"]["numbers"] += SENDBLUE_NUMBERS
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    server = Served(latency_ms=150, seed=seed_file)
    try:
        yield server
    finally:
        server.stop()


def _journal_counts(path) -> dict[str, int]:
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT state, count(*) FROM ops GROUP BY state").fetchall())
    except sqlite3.Error:
        return {}
    finally:
        db.close()


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_loses_nothing_and_doubles_nothing(served_many, tmp_path):
    """SIGKILL while writes are in flight; the re-run finishes every row and no readable number
    is written twice (Sendblue, which can't be read back, only where the journal had no outcome)."""
    photo = tmp_path / "face.jpg"
    Image.new("RGB", (600, 600), (10, 90, 200)).save(photo, "JPEG")
    rows = ([{"Phone": n, "First Name": f"B{i}", "Last Name": "Kill"} for i, n in enumerate(BLOOIO_NUMBERS)]
            + [{"Phone": n, "First Name": f"L{i}", "Last Name": "Kill"} for i, n in enumerate(LINQ_NUMBERS)]
            + [{"Phone": n, "First Name": f"S{i}", "Last Name": "Kill", "Photo": photo.name}
               for i, n in enumerate(SENDBLUE_NUMBERS)])
    sheet = write_sheet(tmp_path / "cards.csv", rows)
    journal = tmp_path / "cards.journal.sqlite"
    command = [sys.executable, "-m", "cardkit", "apply", str(sheet), "--concurrency", "3", "--quiet"]
    env = served_many.env()

    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _journal_counts(journal).get("done", 0) < 10 and time.monotonic() < deadline:
        assert victim.poll() is None, victim.stderr.read().decode()
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    after_kill = _journal_counts(journal)
    assert after_kill.get("done", 0) >= 10, after_kill
    assert after_kill.get("pending", 0) > 0, "the run finished before the kill: nothing was tested"

    db = sqlite3.connect(journal)
    confirmed = {n for (n,) in db.execute("SELECT number FROM ops WHERE state='done' AND status='applied'")}
    db.close()

    resumed = subprocess.run(command + ["--json"], env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    results = pd.DataFrame(json.loads(resumed.stdout)["results"])
    assert len(results) == len(rows)
    assert set(results["status"]) <= {"applied", "unchanged"}
    skipped_by_journal = results[results["message"].str.startswith("already applied in run")]
    assert set(skipped_by_journal["number"]) == confirmed

    state = served_many.state()
    for provider, numbers in (("blooio", BLOOIO_NUMBERS), ("linq", LINQ_NUMBERS)):
        written = state[provider]["writes_by_number"]
        assert {n: written.get(n, 0) for n in numbers} == {n: 1 for n in numbers}, provider
    sendblue = state["sendblue"]["writes_by_number"]
    assert all(sendblue.get(n, 0) >= 1 for n in SENDBLUE_NUMBERS)
    assert all(sendblue[n] == 1 for n in SENDBLUE_NUMBERS if n in confirmed)
