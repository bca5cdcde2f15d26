"""Kill `cardkit apply` at random moments and resume it: nothing lost, nothing sent twice.

    python benchmarks/kills.py                                  # 2,000 cards, 10 SIGKILLs + 1 SIGINT
    python benchmarks/kills.py --cards 300 --kills 6 --json

`python -m cardkit apply SHEET --journal J` runs as a subprocess against `cardkit sandbox serve`
(its own process, on loopback), credentials and base URLs in the vendors' environment variables.
A seeded RNG picks the moments: after a random number (5–20) of new journal-confirmed writes, plus
a random 0–0.4 s so the kill never lands on a commit boundary. Each kill is SIGKILL but the last,
which is SIGINT (Ctrl-C); after each, the same command runs again with the same journal, and a
last run goes to the end. `problems(run)` lists every broken promise:

- the last run ends with every row applied/unchanged and the providers' state equal to the sheet;
- after every kill the journal can be read (`Journal.results()` holds every row);
- no operation the journal had recorded as applied was written again (sandbox write counts);
- Blooio and Linq (read back before any re-send) got exactly one write per number; a second
  Sendblue write (its state can't confirm the photo) only for an operation a kill left unfinished;
- Ctrl-C stops the run within seconds and exits 1 (partial results), 130, or 0 if it landed as
  the last rows finished — never with a traceback.

The test `tests/reliability/test_kills.py` runs the CI size of this same code.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
import soak  # noqa: E402  (benchmarks/soak.py: the sheet, the served sandbox, the comparison)

Key = tuple[str, str]     # (provider, number)


def journal_ops(path: Path) -> pd.DataFrame:
    """Every operation the journal holds (all runs); empty while the file or schema isn't there."""
    columns = ["run_id", "number", "provider", "state", "status", "message"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(f"SELECT {', '.join(columns)} FROM ops").fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        db.close()
    return pd.DataFrame(rows, columns=columns)


def applied(ops: pd.DataFrame) -> set[Key]:
    """(provider, number) of every operation recorded done and applied, in any run."""
    done = ops[(ops["state"] == "done") & (ops["status"] == "applied")]
    return set(zip(done["provider"], done["number"]))


def unfinished(ops: pd.DataFrame, state: str | None = None) -> set[Key]:
    """Operations the newest run left without an outcome (only those in `state`, if given).

    The journal batches its marks (a commit per ~50 changes or ~200 ms), so a write can be on the
    wire while its op still reads "pending": both "pending" and "sending" ops are in doubt."""
    if ops.empty:
        return set()
    newest = ops[ops["run_id"] == ops["run_id"].iloc[-1]]
    left = newest[newest["state"] != "done"] if state is None else newest[newest["state"] == state]
    return set(zip(left["provider"], left["number"]))


def wait_for_progress(process: subprocess.Popen, journal: Path, target: int, limit_s: float = 120) -> None:
    """Wait until the journal records `target` distinct applied operations (or the process ends)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and process.poll() is None:
        if len(applied(journal_ops(journal))) >= target:
            return
        time.sleep(0.03)


@dataclass
class KillRun:
    """What one kill-and-resume session saw."""

    cards: int
    expected: pd.DataFrame
    interruptions: list = field(default_factory=list)     # {signal, exit, stderr tail, journal rows}
    confirmed_at: dict = field(default_factory=dict)      # key → sandbox writes when first confirmed
    unfinished: set = field(default_factory=set)
    marked_sending: set = field(default_factory=set)
    final_exit: int = -1
    final_stderr: str = ""
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    state: dict = field(default_factory=dict)
    writes: dict = field(default_factory=dict)
    wall_s: float = 0.0


def _writes(served: soak.ServedSandbox) -> dict[Key, int]:
    state = served.state()
    return {(p, n): c for p in soak.PROVIDERS for n, c in state[p]["writes_by_number"].items()}


def kill_and_resume(folder: Path, *, cards: int = 2000, kills: int = 10, seed: int = 20261124,
                    latency_ms: float = 120, fault_rate: float = 0.0, concurrency: int = 2) -> KillRun:
    """Run the session described in the module docstring; returns what it saw."""
    from cardkit.engine import Journal

    rng = random.Random(seed)
    started = time.monotonic()
    sheet = soak.write_soak_sheet(folder, cards, seed=3)
    journal = folder / "soak.journal.sqlite"
    run = KillRun(cards=cards, expected=sheet.expected)
    with soak.ServedSandbox(seed=sheet.seed_path, latency_ms=latency_ms, fault_rate=fault_rate,
                            fault_seed=seed) as served:
        env = soak.subprocess_env(**served.env())
        command = [sys.executable, "-m", "cardkit", "apply", str(sheet.path), "--journal", str(journal),
                   "--concurrency", str(concurrency), "--quiet"]
        for turn in range(kills + 1):
            target = len(applied(journal_ops(journal))) + rng.randint(5, 20)
            victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            wait_for_progress(victim, journal, target)
            time.sleep(rng.uniform(0.0, 0.4))                   # a random moment, not a commit boundary
            if victim.poll() is not None:
                run.interruptions.append({"signal": None, "exit": victim.returncode, "note": "ended first"})
                continue
            sig = signal.SIGKILL if turn < kills else signal.SIGINT
            signalled = time.monotonic()
            victim.send_signal(sig)
            applied_at_signal = len(applied(journal_ops(journal)))   # read after: no delay before the signal
            _, err = victim.communicate(timeout=900)
            exit_after = round(time.monotonic() - signalled, 2)
            time.sleep(0.5)                                     # let writes already on the wire land
            with Journal(journal) as readable:                  # a report can be made after any kill
                journal_rows = len(readable.results())
            run.interruptions.append({"signal": sig.name, "exit": victim.returncode, "exit_after_s": exit_after,
                                      "applied_at_signal": applied_at_signal,
                                      "stderr": err.decode(errors="replace")[-2000:], "journal_rows": journal_rows})
            ops = journal_ops(journal)
            writes = _writes(served)
            for key in applied(ops) - set(run.confirmed_at):
                run.confirmed_at[key] = writes.get(key, 0)
            run.unfinished |= unfinished(ops)
            run.marked_sending |= unfinished(ops, "sending")
        final = subprocess.run(command[:-1] + ["--json"], env=env, capture_output=True, text=True, timeout=900)
        run.final_exit, run.final_stderr = final.returncode, final.stderr[-3000:]
        if final.returncode in (0, 1) and final.stdout.strip():
            run.results = pd.DataFrame(json.loads(final.stdout)["results"])
        run.state = served.state()
        run.writes = _writes(served)
    run.wall_s = round(time.monotonic() - started, 1)
    return run


def written_again(run: KillRun) -> dict[Key, tuple[int, int]]:
    """Operations written again after the journal had recorded them applied: key → (then, end)."""
    return {k: (n, run.writes.get(k, 0)) for k, n in run.confirmed_at.items() if run.writes.get(k, 0) != n}


def written_twice(run: KillRun) -> set[Key]:
    return {key for key, count in run.writes.items() if count > 1}


def problems(run: KillRun) -> list[str]:
    """Every promise the session broke (see the module docstring); empty when all held."""
    found = []
    if run.final_exit != 0:
        found.append(f"the last run exited {run.final_exit}: {run.final_stderr}")
    if len(run.results) != run.cards:
        found.append(f"the last run returned {len(run.results)} rows for {run.cards} cards")
    elif not set(run.results["status"]) <= {"applied", "unchanged"}:
        found.append(f"the last run ended {run.results['status'].value_counts().to_dict()}")
    else:
        verdict = soak.compare(run.results, run.expected, run.state)
        if verdict.lost or verdict.mismatched:
            found.append(f"state differs from the sheet: lost {verdict.lost[:3]}, mismatched {verdict.mismatched[:3]}")
    for item in run.interruptions:
        if item["signal"] is None:
            found.append("a run ended before it could be interrupted: that kill tested nothing")
        elif item["journal_rows"] != run.cards:
            found.append(f"after {item['signal']} the journal's latest run holds {item['journal_rows']} rows")
        # 1: partial results (rows left "skipped"), 130: interrupted before results; 0 when the
        # signal landed as the last rows finished. Never a traceback.
        if item["signal"] == "SIGINT" and (item["exit"] not in (0, 1, 130) or "Traceback" in item["stderr"]):
            found.append(f"Ctrl-C exited {item['exit']}: {item['stderr']}")
        if item["signal"] == "SIGINT" and item["exit_after_s"] > 15:
            found.append(f"Ctrl-C did not stop the run: it went on for {item['exit_after_s']} s "
                         f"(exit {item['exit']}) from {item['applied_at_signal']} applied")
    again = written_again(run)
    if again:
        found.append(f"written again after the journal recorded them applied: {dict(list(again.items())[:5])}")
    for provider in ("blooio", "linq"):
        numbers = run.expected.loc[run.expected["provider"] == provider, "number"]
        off = {n: run.writes.get((provider, n), 0) for n in numbers if run.writes.get((provider, n), 0) != 1}
        if off:
            found.append(f"{provider} numbers not written exactly once: {dict(list(off.items())[:5])}")
    twice = written_twice(run)
    if {p for p, _ in twice} - {"sendblue"} or not twice <= run.unfinished:
        found.append(f"written twice without a kill leaving it unfinished: {sorted(twice - run.unfinished)[:5]}")
    return found


def figures(run: KillRun) -> dict:
    """The numbers RELIABILITY.md publishes."""
    twice = written_twice(run)
    return {
        "cards": run.cards, "runs": len(run.interruptions) + 1, "wall_s": run.wall_s,
        "interruptions": [{k: v for k, v in i.items() if k != "stderr"} for i in run.interruptions],
        "confirmed_before_last_run": len(run.confirmed_at), "left_unfinished_by_kills": len(run.unfinished),
        "marked_sending_at_kill": len(run.marked_sending), "written_again_after_confirmed": len(written_again(run)),
        "sendblue_resent_after_doubt": len(twice), "sendblue_resent_not_marked_sending": len(twice - run.marked_sending),
        "final_statuses": run.results["status"].value_counts().to_dict() if len(run.results) else {},
        "problems": problems(run),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs before the one SIGINT")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--latency-ms", type=float, default=120)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cardkit-kills-") as folder:
        run = kill_and_resume(Path(folder), cards=args.cards, kills=args.kills, seed=args.seed,
                              latency_ms=args.latency_ms, fault_rate=args.fault_rate, concurrency=args.concurrency)
    out = figures(run)
    if args.json:
        print(json.dumps(out, indent=1, default=str))
    else:
        for key, value in out.items():
            print(f"{key:>34}: {value}")
    return 0 if not out["problems"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
