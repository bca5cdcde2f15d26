"""kill -9 in the middle of `cardkit share` (500 chats, four accounts, faults) against a served
sandbox, then resume: every chat gets the card exactly once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pandas as pd
import pytest

from .conftest import Served, subprocess_env, write_sheet
from .test_accounts import ACCOUNTS_TOML, EAST, EU, KEYS, US, WEST, accounts_seed

BLOOIO_CHATS = [f"+1646555{1000 + i:04d}" for i in range(400)]
LINQ_CHATS = [str(uuid.UUID(int=0x5EED0000 + i)) for i in range(100)]


def _done(journal) -> int:
    if not journal.exists():
        return 0
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM ops WHERE state='done'").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        db.close()


@pytest.mark.slow
def test_500_chats_killed_mid_run_then_resumed_are_each_shared_exactly_once(tmp_path):
    """SIGKILL of `cardkit share` while shares are in flight (with errors and dropped connections
    from the sandbox); the same command again finishes every chat, and the sandbox counts one
    message (Blooio) or one share (Linq) per chat."""
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(accounts_seed()))
    # 60 ms a request: what 20 ms took while the served sandbox stalled every answer ~40 ms
    # (Nagle), so the kill at 150 shares still lands well before the 500th
    server = Served(latency_ms=60, seed=seed_file, fault_rate=0.05, fault_seed=3,
                    more=("--fault-mix", "error=0.6,drop=0.4"))
    try:
        urls = {"blooio": f"{server.origin}/blooio/v2/api", "linq": f"{server.origin}/linq/api/partner",
                "sendblue": f"{server.origin}/sendblue"}
        accounts = tmp_path / "accounts.toml"
        text = ACCOUNTS_TOML
        for name, provider in (("blooio-east", "blooio"), ("blooio-west", "blooio"), ("linq-us", "linq"),
                               ("linq-eu", "linq"), ("sendblue-main", "sendblue")):
            text = text.replace(f"[accounts.{name}]\n", f"[accounts.{name}]\nbase_url = \"{urls[provider]}\"\n")
        accounts.write_text(text)
        env = subprocess_env(**KEYS)
        # Linq shares only from a line with an active card
        cards = write_sheet(tmp_path / "linq_cards.csv", [{"Phone": US[0], "First Name": "U"},
                                                          {"Phone": EU[0], "First Name": "E"}])
        setup = subprocess.run([sys.executable, "-m", "cardkit", "apply", str(cards), "--accounts", str(accounts),
                                "--quiet"], env=env, capture_output=True, text=True, timeout=300)
        assert setup.returncode == 0, setup.stderr

        senders = EAST + WEST
        rows = ([{"Number": senders[i % 4], "Chat": chat, "Message": f"Hello {i}"}
                 for i, chat in enumerate(BLOOIO_CHATS)]
                + [{"Number": (US + EU)[(i % 2) * 2], "Chat": chat, "Message": ""}
                   for i, chat in enumerate(LINQ_CHATS)])
        sheet = write_sheet(tmp_path / "chats.csv", rows)
        journal = tmp_path / "chats.journal.sqlite"
        command = [sys.executable, "-m", "cardkit", "share", str(sheet), "--accounts", str(accounts),
                   "--concurrency", "4", "--quiet"]

        victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _done(journal) < 150 and time.monotonic() < deadline:
            assert victim.poll() is None, victim.stderr.read().decode()
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = _done(journal)
        assert 150 <= killed_at < len(rows), "the run finished before the kill: nothing was tested"

        resumed = subprocess.run(command[:-1] + ["--json"], env=env, capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        results = pd.DataFrame(json.loads(resumed.stdout)["results"])
        assert len(results) == len(rows)
        assert set(results["status"]) <= {"applied", "unchanged"}
        assert (results["message"].str.startswith("already applied in run")).sum() >= 100

        state = server.state()
        assert any(entry["fault"] in ("error", "drop") for entry in state["faults"])
        with_message = state["blooio"]["shares"]["with_message"]
        assert {c: with_message.get(c, 0) for c in BLOOIO_CHATS} == {c: 1 for c in BLOOIO_CHATS}
        assert state["blooio"]["messages_by_chat"] == {c: 1 for c in BLOOIO_CHATS}
        shares = state["linq"]["shares"]
        assert {c: shares.get(c, 0) for c in LINQ_CHATS} == {c: 1 for c in LINQ_CHATS}
    finally:
        server.stop()
