"""`cardkit apply` killed at random moments (SIGKILL, seeded) and interrupted once (SIGINT), re-run
each time with the same journal, against `cardkit sandbox serve` in its own process.

What must hold at the end: every row applied (or confirmed unchanged), the provider's state equals
the sheet, and no operation the journal had recorded as applied was ever sent again."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time

import pandas as pd
import pytest

from .conftest import cardkit_command, publish, soak, subprocess_env

CARDS = 150
KILLS = 4                  # SIGKILLs, then one SIGINT, then a run to the end
KILL_SEED = 20261124


def _journal_ops(path) -> pd.DataFrame:
    """Every operation the journal holds (all runs); empty when the file isn't there yet."""
    columns = ["run_id", "number", "provider", "state", "status", "message"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(f"SELECT {', '.join(columns)} FROM ops").fetchall()
    except sqlite3.Error:         # the schema isn't committed yet
        rows = []
    finally:
        db.close()
    return pd.DataFrame(rows, columns=columns)


def _applied(ops: pd.DataFrame) -> set[tuple[str, str]]:
    """(provider, number) of every operation recorded done and applied, in any run."""
    done = ops[(ops["state"] == "done") & (ops["status"] == "applied")]
    return set(zip(done["provider"], done["number"]))


def _unfinished(ops: pd.DataFrame, state: str | None = None) -> set[tuple[str, str]]:
    """(provider, number) of the operations the newest run left without an outcome (in `state`).

    The journal batches its marks (a commit per ~50 changes or ~200 ms), so a write can be on
    the wire while its op still reads "pending"; both "pending" and "sending" ops are in doubt."""
    if ops.empty:
        return set()
    newest = ops[ops["run_id"] == ops["run_id"].iloc[-1]]
    left = newest[newest["state"] != "done"] if state is None else newest[newest["state"] == state]
    return set(zip(left["provider"], left["number"]))


def _writes(served) -> dict[tuple[str, str], int]:
    state = served.state()
    return {(p, n): c for p in soak.PROVIDERS for n, c in state[p]["writes_by_number"].items()}


def _wait_for_progress(process: subprocess.Popen, journal, target: int, limit_s: float = 90) -> None:
    """Wait until the journal records `target` distinct applied operations (or the process ends)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and process.poll() is None:
        if len(_applied(_journal_ops(journal))) >= target:
            return
        time.sleep(0.03)


@pytest.mark.slow
@pytest.mark.timeout(280)
def test_sigkill_at_random_moments_and_sigint_then_resume_ends_equal_to_the_sheet_with_no_resend(tmp_path):
    """Four seeded SIGKILLs and one SIGINT mid-run; the runs resumed from the journal end with the
    sheet at the providers and no journal-confirmed operation written again."""
    rng = random.Random(KILL_SEED)
    started = time.monotonic()
    sheet = soak.write_soak_sheet(tmp_path, CARDS, seed=3)
    journal = tmp_path / "soak.journal.sqlite"
    with soak.ServedSandbox(seed=sheet.seed_path, latency_ms=120) as served:
        env = subprocess_env(**served.env())
        command = cardkit_command("apply", str(sheet.path), "--journal", str(journal), "--concurrency", "2",
                                  "--quiet")
        # (provider, number) → writes the sandbox had counted when the journal first said "applied"
        confirmed_at: dict[tuple[str, str], int] = {}
        unfinished: set[tuple[str, str]] = set()
        marked_sending: set[tuple[str, str]] = set()
        interruptions = []
        for turn in range(KILLS + 1):
            target = len(_applied(_journal_ops(journal))) + rng.randint(5, 20)
            victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _wait_for_progress(victim, journal, target)
            time.sleep(rng.uniform(0.0, 0.4))                  # a random moment, not a commit boundary
            assert victim.poll() is None, "the run ended before it could be interrupted: nothing was tested"
            sig = signal.SIGKILL if turn < KILLS else signal.SIGINT
            victim.send_signal(sig)
            out, err = victim.communicate(timeout=60)
            interruptions.append({"signal": sig.name, "exit": victim.returncode})
            if sig is signal.SIGINT:
                assert victim.returncode in (1, 130), err.decode()
                assert b"Traceback" not in err, err.decode()
            time.sleep(0.5)                                    # let writes already on the wire land
            ops = _journal_ops(journal)
            writes = _writes(served)
            for key in _applied(ops) - set(confirmed_at):
                confirmed_at[key] = writes.get(key, 0)
            unfinished |= _unfinished(ops)
            marked_sending |= _unfinished(ops, "sending")

        final = subprocess.run(command[:-1] + ["--json"], env=env, capture_output=True, text=True, timeout=180)
        assert final.returncode == 0, final.stderr
        results = pd.DataFrame(json.loads(final.stdout)["results"])
        state = served.state()
        writes = _writes(served)

    assert len(results) == CARDS
    assert set(results["status"]) <= {"applied", "unchanged"}, results["status"].value_counts()
    verdict = soak.compare(results, sheet.expected, state)
    assert verdict.lost == [] and verdict.mismatched == [], verdict

    resent = {key: (count, writes.get(key, 0)) for key, count in confirmed_at.items() if writes.get(key, 0) != count}
    assert resent == {}, f"written again after the journal recorded them applied: {resent}"
    for provider in ("blooio", "linq"):       # read back before any re-send: exactly one write each
        counts = {n: writes.get((provider, n), 0) for n in sheet.expected.loc[sheet.expected.provider == provider, "number"]}
        assert set(counts.values()) == {1}, {n: c for n, c in counts.items() if c != 1}
    # Sendblue can't be read back (no photo in its state): a write a kill left without an outcome
    # is sent again (a whole-profile replace: same result). Only those may have two writes.
    twice = {key for key, count in writes.items() if count > 1}
    assert {p for p, _ in twice} <= {"sendblue"}, twice
    assert twice <= unfinished, twice - unfinished

    publish("kills", {"cards": CARDS, "runs": len(interruptions) + 1, "wall_s": round(time.monotonic() - started, 1),
                      "interruptions": interruptions, "confirmed_before_last_run": len(confirmed_at),
                      "left_unfinished_by_kills": len(unfinished), "marked_sending_at_kill": len(marked_sending),
                      "sendblue_resent_after_doubt": len(twice),
                      "sendblue_resent_not_marked_sending": len(twice - marked_sending),
                      "written_again_after_confirmed": len(resent), "final_statuses":
                      results["status"].value_counts().to_dict()})
